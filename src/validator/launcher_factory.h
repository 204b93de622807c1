// The server launcher a validator (or a remote worker) runs with, from its configuration:
// [launcher] kind = "local" -> LocalProcessLauncher over [launcher.local.images];
// kind = "container" -> ContainerLauncher (checked against the runtime, leftovers of a crashed
// run swept first), with the local launcher as its fallback for a baseline given as a command.
#pragma once
#include <memory>

#include "core/status.h"
#include "harness/progress.h"
#include "runner/container_launcher.h"
#include "runner/local_launcher.h"
#include "validator/config.h"

namespace cacheon::validator {

class Launchers {
 public:
  runner::ServerLauncher& active() {
    return container_ ? static_cast<runner::ServerLauncher&>(*container_) : *local_;
  }
  runner::ContainerLauncher* container() { return container_.get(); }

 private:
  friend Result<Launchers> make_launchers(const ValidatorConfig&, harness::Progress&);
  std::unique_ptr<runner::LocalProcessLauncher> local_;
  std::unique_ptr<runner::ContainerLauncher> container_;
};

Result<Launchers> make_launchers(const ValidatorConfig& config, harness::Progress& progress);

}  // namespace cacheon::validator

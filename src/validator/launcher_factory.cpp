#include "validator/launcher_factory.h"

#include <fmt/format.h>

namespace cacheon::validator {

Result<Launchers> make_launchers(const ValidatorConfig& config, harness::Progress& progress) {
  Launchers l;
  std::map<std::string, std::vector<std::string>> images;
  for (const auto& [k, v] : config.local_images) images[k] = v.argv;
  l.local_ = std::make_unique<runner::LocalProcessLauncher>(std::move(images), config.stop_grace);
  if (config.launcher_kind != "container") return l;

  runner::ContainerLauncherOptions o = config.container;
  o.stop_grace = config.stop_grace;
  l.container_ = std::make_unique<runner::ContainerLauncher>(std::move(o), l.local_.get());
  if (Status s = l.container_->check(); !s.ok()) return s.error();
  auto swept = l.container_->sweep();
  if (!swept.ok()) return swept.error();
  if (*swept > 0)
    progress.message(fmt::format("container runner: removed {} container(s)/network(s) left "
                                 "by an earlier run (scope {})",
                                 *swept, config.container.scope));
  return l;
}

}  // namespace cacheon::validator

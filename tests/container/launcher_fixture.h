// Shared by the container-launcher tests: one podman service, one registry, and the images
// every test needs, built locally and pushed to the registry so they are pulled by digest
// through the API exactly as a submission is:
//   engine   the reference engine (scripts/build-engine-image.sh), the baseline and the honest
//            submission;
//   relay    the trusted relay (scripts/build-relay-image.sh);
//   hostile  one image per misbehaviour (scripts/build-test-images.sh, tests/container/hostile).
// Plus the tiny synthetic model mounted at /models.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "local_registry.h"
#include "podman_service.h"
#include "runner/container_launcher.h"

namespace cacheon::container_test {

struct PushedImage {
  std::string repo;    // "127.0.0.1:PORT/cacheon/<name>"
  std::string digest;  // "sha256:..."
  std::string pinned() const { return repo + "@" + digest; }
};

class LauncherWorld {
 public:
  // Builds everything once per process; error "fixture_error" with what failed.
  static Result<LauncherWorld*> get();
  static LauncherWorld* get_if_built();
  void shutdown();  // stops the service and the registry, removes built tags

  PodmanService& service() { return *service_; }
  LocalRegistry& registry() { return *registry_; }
  const std::string& models_dir() const { return models_dir_; }
  const std::string& relay_image() const { return relay_image_; }
  const std::string& work_dir() const { return work_->path(); }
  // "engine", "engine-copy" (the same image under another repository), and every hostile mode.
  const PushedImage& image(const std::string& name) const { return images_.at(name); }
  bool has_image(const std::string& name) const { return images_.count(name) > 0; }
  // Builds a local image FROM `base` with another CMD (and `extra` Containerfile lines) and
  // pushes it as `name`.
  Result<PushedImage> derive(const std::string& name, const std::string& base_local,
                             const std::vector<std::string>& cmd, const std::string& extra = "");
  const std::string& local_image(const std::string& name) const { return local_.at(name); }

  // Launcher options for tests: this service, the tiny model, the relay, scope `scope`, and a
  // sandbox sized for the engine (2 GiB, 256 pids) unless the test tightens it.
  runner::ContainerLauncherOptions options(const std::string& scope) const;

 private:
  Status build();
  Result<PushedImage> push(const std::string& name, const std::string& local);

  std::unique_ptr<TempDir> work_;
  std::unique_ptr<LocalRegistry> registry_;
  std::unique_ptr<PodmanService> service_;
  std::string models_dir_, relay_image_;
  std::map<std::string, PushedImage> images_;
  std::map<std::string, std::string> local_;  // name -> local image reference
  std::vector<std::string> built_tags_;
};

// Containers and networks still labelled with `scope` (0 when everything was cleaned up).
int leftovers(runner::ContainerRuntime& rt, const std::string& scope);

}  // namespace cacheon::container_test

// Test fixture: the distribution registry v2 (/usr/bin/docker-registry, Debian's
// docker-registry package) on 127.0.0.1:<free port>, storing blobs in a temp dir; plus pushing a
// local podman image to it and reading back the manifest digest podman pushed.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "podman_service.h"

namespace cacheon::container_test {

class LocalRegistry {
 public:
  // Starts the registry and waits until GET /v2/ answers 200. Error "fixture_error".
  static Result<std::unique_ptr<LocalRegistry>> start(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(20'000));
  ~LocalRegistry();  // stop()
  void stop();

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Tags `local_image` as <address>/<repo>:<tag>, pushes it over plain HTTP
  // (`podman push --tls-verify=false --digestfile`), removes that tag again and returns the
  // pushed manifest digest ("sha256:<hex>"). `env` is added to podman's environment
  // (PodmanService::env(), so the CLI uses the service's configuration).
  Result<std::string> push(const std::string& local_image, const std::string& repo,
                           const std::string& tag = "latest",
                           const std::vector<std::string>& env = {});

 private:
  LocalRegistry() = default;
  std::unique_ptr<TempDir> dir_;
  uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

// A free TCP port on 127.0.0.1 (bound and released: another process could take it, rarely).
Result<uint16_t> free_loopback_port();

}  // namespace cacheon::container_test

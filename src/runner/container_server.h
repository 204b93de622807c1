// The running side of ContainerLauncher (container_launcher.h): the objects one server owns
// (its network, its container, its relay, the log follower) and their teardown, which is the
// same on a failed start and on stop().
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "core/http_client.h"
#include "runner/launcher.h"
#include "runner/runtime.h"

namespace cacheon::runner {

struct ContainerObjects {
  std::string network_id;
  std::string server_id;
  std::string relay_id;
  std::string image_id;  // removed at teardown only when remove_image
  bool remove_image = false;
  std::unique_ptr<LogFollower> logs;
};

// Stops and removes everything in `objects` (each step best effort; later steps run even when
// an earlier one fails), then clears it. Safe to call twice.
void tear_down(ContainerRuntime& runtime, ContainerObjects& objects,
               std::chrono::milliseconds grace);

class ContainerServer final : public ServerHandle {
 public:
  ContainerServer(ContainerRuntime runtime, ContainerObjects objects, Url url,
                  std::string logs_path, std::string fingerprint,
                  std::chrono::milliseconds grace);
  ~ContainerServer() override;
  const Url& url() const override { return url_; }
  const std::string& logs_path() const override { return logs_path_; }
  std::string fingerprint() const override { return fingerprint_; }
  void stop() override;

 private:
  ContainerRuntime runtime_;
  ContainerObjects objects_;
  Url url_;
  std::string logs_path_;
  std::string fingerprint_;
  std::chrono::milliseconds grace_;
};

}  // namespace cacheon::runner

#include "runner/container_server.h"

#include <fmt/format.h>

namespace cacheon::runner {

void tear_down(ContainerRuntime& runtime, ContainerObjects& o, std::chrono::milliseconds grace) {
  const auto grace_s = std::chrono::duration_cast<std::chrono::seconds>(grace);
  // The relay first: no new connection reaches the server while it shuts down. Killed, not
  // stopped: it keeps no state, and a forced remove of a running container waits for its stop
  // timeout.
  if (!o.relay_id.empty()) {
    (void)runtime.kill_container(o.relay_id, "KILL");
    (void)runtime.remove_container(o.relay_id, true);
  }
  if (!o.server_id.empty()) {
    (void)runtime.stop_container(o.server_id, grace_s);
    (void)runtime.kill_container(o.server_id, "KILL");  // an error when it already stopped
    // The follower ends with the container's log stream; stop() joins it either way.
    if (o.logs) o.logs->stop();
    (void)runtime.remove_container(o.server_id, true);
  }
  if (o.logs) o.logs->stop();
  if (!o.network_id.empty()) (void)runtime.remove_network(o.network_id);
  // Not forced: never from under another container (the baseline may run the same image).
  if (o.remove_image && !o.image_id.empty()) (void)runtime.remove_image(o.image_id, false);
  o = ContainerObjects{};
}

ContainerServer::ContainerServer(ContainerRuntime runtime, ContainerObjects objects, Url url,
                                 std::string logs_path, std::string fingerprint,
                                 std::chrono::milliseconds grace)
    : runtime_(std::move(runtime)),
      objects_(std::move(objects)),
      url_(std::move(url)),
      logs_path_(std::move(logs_path)),
      fingerprint_(std::move(fingerprint)),
      grace_(grace) {}

ContainerServer::~ContainerServer() { stop(); }

void ContainerServer::stop() { tear_down(runtime_, objects_, grace_); }

}  // namespace cacheon::runner

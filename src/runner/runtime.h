// ContainerRuntime: a client for the Docker Engine HTTP API over its unix socket. dockerd serves
// it, and so does `podman system service` (the compat API), so one client drives both.
//
// Every call is bounded: a timeout per request (pull and export take their own), a cap on the
// bytes read from any response, and typed errors (runtime_code below) instead of exceptions.
// Calls are blocking and safe to make from several threads at once (one connection per call).
//
// Not in scope: the sandbox settings (sandbox.h builds the create body), policy on images
// (container_launcher.h), Docker contexts, TLS to a remote daemon.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace cacheon::runner {

namespace runtime_code {
// The socket cannot be reached (no daemon, wrong path, permission).
inline constexpr std::string_view kUnreachable = "runtime_unreachable";
// The daemon answered with an error status; the message carries its "message" field.
inline constexpr std::string_view kApiError = "runtime_api_error";
// 404 from the daemon: no such image / container / network.
inline constexpr std::string_view kNotFound = "runtime_not_found";
// 409 from the daemon: name in use, container running, ...
inline constexpr std::string_view kConflict = "runtime_conflict";
// A request ran past its timeout.
inline constexpr std::string_view kTimeout = "runtime_timeout";
// A response broke the HTTP framing, was not the JSON expected, or exceeded its byte cap.
inline constexpr std::string_view kBadResponse = "runtime_bad_response";
// Pull: the registry or daemon reported an error in the progress stream (manifest unknown,
// digest mismatch, unauthorized, ...), or the stream ended without success.
inline constexpr std::string_view kPullFailed = "image_pull_failed";
// Pull: the whole pull ran past its timeout.
inline constexpr std::string_view kPullTimeout = "image_pull_timeout";
}  // namespace runtime_code

struct RuntimeOptions {
  std::string socket_path = "/run/podman/podman.sock";  // "unix://" prefix accepted
  std::string api_version = "v1.41";  // URL prefix ("/v1.41/..."); podman 4 and dockerd 20+ serve it
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{60'000};  // default for every call but pull/export/wait
  size_t max_response_bytes = 16 * 1024 * 1024;       // any single non-streamed response
};

// One message of the pull progress stream.
struct PullProgress {
  std::string status;  // "Pulling fs layer", "Downloading", "Download complete", ...
  std::string id;      // layer id when the message is about a layer
  int64_t current = 0, total = 0;  // bytes, when the daemon says
};

struct ImageInfo {
  std::string id;  // "sha256:<config digest>"
  int64_t size = 0;  // bytes (uncompressed, as the daemon reports)
  std::vector<std::string> repo_digests;  // "repo@sha256:..."
  std::vector<std::string> repo_tags;
  std::string user;  // Config.User ("" = root)
  std::vector<std::string> entrypoint, cmd, env;
  std::vector<std::string> exposed_ports;  // "8000/tcp"
  std::vector<std::string> volumes;        // Config.Volumes paths (the sandbox covers them)
  std::string working_dir;
};

struct ContainerState {
  std::string status;  // created | running | exited | dead | ...
  bool running = false;
  bool oom_killed = false;
  int exit_code = 0;
  int pid = 0;
  std::string error;
};

struct ContainerInfo {
  std::string id, name, image_id;
  ContainerState state;
  std::map<std::string, std::string> ip_by_network;  // network name -> IPv4 address
  std::map<std::string, std::string> labels;
};

struct ContainerSummary {
  std::string id;
  std::vector<std::string> names;
  std::string state;  // running, exited, ...
  std::map<std::string, std::string> labels;
};

struct NetworkSummary {
  std::string id, name;
  bool internal = false;
  std::map<std::string, std::string> labels;
};

class ContainerRuntime {
 public:
  explicit ContainerRuntime(RuntimeOptions options);
  const RuntimeOptions& options() const { return options_; }

  // GET /version: {"Version": ..., "ApiVersion": ..., "Components": ...}.
  Result<nlohmann::json> version();

  // POST /images/create?fromImage=<reference>: `reference` is "repo@sha256:<hex>" (the
  // launcher pulls by digest only). Reads the progress stream to its end; each JSON message goes
  // to `progress`; an "error"/"errorDetail" message or a stream that ends without one of the
  // success statuses is kPullFailed; past `timeout` the request is aborted: kPullTimeout.
  Status pull(std::string_view reference, std::chrono::milliseconds timeout,
              const std::function<void(const PullProgress&)>& progress = {});
  Result<ImageInfo> inspect_image(std::string_view name_or_id);
  Status remove_image(std::string_view name_or_id, bool force);

  // POST /containers/create?name=<name> with `body` (sandbox.h builds it). Returns the id.
  Result<std::string> create_container(std::string_view name, const nlohmann::json& body);
  Status start_container(std::string_view id);
  Result<ContainerInfo> inspect_container(std::string_view id);
  // POST /containers/{id}/stop?t=<grace seconds> (the daemon kills after the grace).
  Status stop_container(std::string_view id, std::chrono::seconds grace);
  Status kill_container(std::string_view id, std::string_view signal = "KILL");
  // DELETE /containers/{id}?force=<force>&v=1. A missing container is not an error.
  Status remove_container(std::string_view id, bool force);
  // POST /containers/{id}/wait: the exit code, or kTimeout after `timeout`.
  Result<int> wait_container(std::string_view id, std::chrono::milliseconds timeout);
  // GET /containers/json?all=1&filters={"label":[...]}: "key=value" or "key" per label.
  Result<std::vector<ContainerSummary>> list_containers(const std::vector<std::string>& labels);
  // The last `lines` lines of stdout+stderr (demultiplexed), at most max_bytes.
  Result<std::string> logs_tail(std::string_view id, int lines, size_t max_bytes = 64 * 1024);

  // POST /networks/create: a bridge network; internal = no route out of it. Returns the id.
  Result<std::string> create_network(std::string_view name, bool internal,
                                     const std::map<std::string, std::string>& labels);
  // POST /networks/{id}/connect (before start: the container joins a second network).
  Status connect_network(std::string_view network, std::string_view container);
  // DELETE /networks/{id}. A missing network is not an error.
  Status remove_network(std::string_view name_or_id);
  Result<std::vector<NetworkSummary>> list_networks(const std::vector<std::string>& labels);

  // GET /containers/{id}/export: the container's filesystem as a tar stream, handed to
  // on_data in pieces as it arrives. on_data returns false to stop early (not an error).
  // Bounded by `timeout` (kTimeout).
  Status export_container(std::string_view id, std::chrono::milliseconds timeout,
                          const std::function<bool(std::string_view)>& on_data);

 private:
  RuntimeOptions options_;
};

// Follows a container's stdout+stderr (GET /containers/{id}/logs?follow=1, demultiplexed when
// the container has no TTY) into a file on a background thread, writing at most max_bytes (a
// final line says the rest was cut). stop() (or the destructor) ends it and joins; it also ends
// by itself when the container stops.
class LogFollower {
 public:
  LogFollower(const RuntimeOptions& options, std::string container_id, std::string path,
              size_t max_bytes = 64 * 1024 * 1024);
  ~LogFollower();
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;
  void stop();
  size_t bytes_written() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace cacheon::runner

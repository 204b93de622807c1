// ContainerLauncher: runs each server as a container through the Docker Engine API
// (runtime.h), under the sandbox profile (sandbox.h), from an image pulled by its digest.
//
// start(spec), in order (every step bounded, every failure a launch_code with a message):
//   1. image    "name@sha256:..." (arena::pinned_reference); used from the local store when an
//               image there carries that digest, else pulled (pull timeout). Inspected: over
//               max_image_bytes -> image_too_large; no RepoDigest with the committed digest ->
//               image_digest_mismatch. The container is created from the image *id*, never a tag.
//   2. network  a fresh internal network (no route out) for this server alone.
//   3. server   created with the sandbox body, labelled, started; its logs followed into the
//               spec's log file.
//   4. reach    "relay" (default): a trusted relay container (scripts/build-relay-image.sh) on
//               `relay_network` (one the host can reach) and on the internal network carries
//               the harness's connections to the server; "direct": the harness connects to the
//               server's address on the internal network (runtimes whose internal bridges the
//               host can reach, e.g. dockerd).
//   5. health   GET /health until 200 within the spec's startup timeout, checking the container
//               at each poll: a container that dies is reported at once with its exit code, the
//               out-of-memory flag and its log tail (server_exited); no 200 in time ->
//               startup_timeout.
//   6. fingerprint  (after /health) the export tar of the running container -> fingerprint.h,
//               bounded in bytes and time; a failure leaves the fingerprint empty and is logged
//               (the copy rule then falls back to digests), it never fails the launch.
// stop() stops and removes the relay, the server, the network (and the image when
// remove_images), always; the destructor does it too. Everything is labelled
// cacheon.managed=1 and cacheon.scope=<scope>, and sweep() removes whatever a crashed validator
// left behind (call it at start).
//
// A spec with an explicit argv (a baseline given as a command) goes to `fallback` when set
// (e.g. a LocalProcessLauncher for a private arena), else it is launch_failed.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "runner/fingerprint.h"
#include "runner/launcher.h"
#include "runner/runtime.h"
#include "runner/sandbox.h"

namespace cacheon::runner {

enum class Reach { relay, direct };

struct ContainerLauncherOptions {
  RuntimeOptions runtime;
  SandboxProfile sandbox;
  std::string models_dir;  // host directory mounted read-only at /models (absolute, must exist)
  int64_t max_image_bytes = 20'000'000'000;  // SPEC: images over 20 GB are rejected
  std::chrono::milliseconds pull_timeout{30 * 60'000};
  std::chrono::milliseconds stop_grace{10'000};
  std::chrono::milliseconds health_poll{250};
  Reach reach = Reach::relay;
  std::string relay_image;    // required for Reach::relay (a local image, by name or id)
  std::string relay_network;  // "" = the default network ("bridge", in dockerd and podman)
  std::string scope = "default";  // label value shared by everything this launcher creates
  bool remove_images = false;     // remove a submission's image after its run
  bool fingerprint = true;
  FingerprintLimits fingerprint_limits;
  std::chrono::milliseconds fingerprint_timeout{10 * 60'000};
  size_t max_log_bytes = 64 * 1024 * 1024;
  int log_tail_lines = 20;  // shown in a server_exited / startup_timeout message
};

class ContainerLauncher final : public ServerLauncher {
 public:
  // `fallback` (borrowed, may be null) runs specs with an explicit argv.
  ContainerLauncher(ContainerLauncherOptions options, ServerLauncher* fallback = nullptr);
  ~ContainerLauncher() override;

  // Checks the options (sandbox_invalid / launch_failed) and that the runtime answers.
  Status check();
  // Removes every container and network labelled with this launcher's scope (a crashed run's
  // leftovers). Returns how many objects were removed.
  Result<int> sweep();

  Result<std::unique_ptr<ServerHandle>> start(const LaunchSpec& spec) override;

  const ContainerLauncherOptions& options() const { return options_; }

 private:
  ContainerLauncherOptions options_;
  ServerLauncher* fallback_;
  ContainerRuntime runtime_;
  bool gpus_present_;
};

// Label keys put on everything the container runner creates.
inline constexpr const char* kLabelManaged = "cacheon.managed";
inline constexpr const char* kLabelScope = "cacheon.scope";
inline constexpr const char* kLabelRole = "cacheon.role";  // server | relay
inline constexpr const char* kLabelName = "cacheon.name";  // the spec's name (truncated)

}  // namespace cacheon::runner

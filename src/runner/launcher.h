// The seam between the worker and whatever runs a server: start(spec) gives a handle with the
// server's base URL and its log file; stop() ends it. The local-process launcher
// (local_launcher.h) is the development/private-arena runner; the container runner (issue 5)
// (container_launcher.h) implements the same interface.
//
// Not in scope: health checks and measuring (the harness waits for /health), image policy.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/http_client.h"
#include "core/status.h"

namespace cacheon::runner {

struct LaunchSpec {
  std::string name;                // for messages: "baseline", "<hotkey>@<block>"
  std::string image;               // submission image name ("" for the baseline)
  std::string digest;              // "sha256:..." ("" for the baseline)
  std::vector<std::string> argv;   // explicit command (the baseline); empty: look up the image
  std::string logs_path;           // where the server's stdout+stderr go
  std::chrono::milliseconds startup_timeout{60'000};  // until the server reports its address
  // Lines for the operator while starting (the container runner's pull progress); may be empty.
  std::function<void(const std::string&)> on_progress;
};

class ServerHandle {
 public:
  virtual ~ServerHandle() = default;  // stops the server if still running
  virtual const Url& url() const = 0;
  virtual const std::string& logs_path() const = 0;
  virtual void stop() = 0;  // idempotent
  // The server's content fingerprint ("sha256:..."), when the launcher can take one (the
  // container runner, runner/fingerprint.h); "" otherwise. Used by the copy rule.
  virtual std::string fingerprint() const { return {}; }
};

namespace launch_code {
// The image is not one this arena can run (the local launcher's table has no entry for it).
inline constexpr std::string_view kImageUnavailable = "image_unavailable";
// The arena could not start the process (fork, log file): not the submission's fault.
inline constexpr std::string_view kLaunchFailed = "launch_failed";
// The server exited before reporting its address (the submission's fault).
inline constexpr std::string_view kServerExited = "server_exited";
// The server never reported its address (or never answered /health) within the startup timeout.
inline constexpr std::string_view kStartupTimeout = "startup_timeout";
// Container runner, the submission's fault: the image could not be pulled by its digest
// (unknown, registry refused, pull timed out), is over the size cap, or what was pulled does
// not carry the committed digest.
inline constexpr std::string_view kImagePullFailed = "image_pull_failed";
inline constexpr std::string_view kImageTooLarge = "image_too_large";
inline constexpr std::string_view kImageDigestMismatch = "image_digest_mismatch";
}  // namespace launch_code

class ServerLauncher {
 public:
  virtual ~ServerLauncher() = default;
  virtual Result<std::unique_ptr<ServerHandle>> start(const LaunchSpec& spec) = 0;
};

}  // namespace cacheon::runner

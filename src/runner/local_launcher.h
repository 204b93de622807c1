// LocalProcessLauncher: runs a server as a child process (no shell), its stdout and stderr
// written to the spec's log file (truncated first), in its own process group. The server must print
// "listening on http://HOST:PORT" on stdout once bound (cacheon-engine and cacheon-testserver
// do, also with --port 0): the launcher reads that line from the log, bounded by the spec's
// startup timeout. stop() sends SIGTERM to the group, waits out the grace, then SIGKILLs it.
// Children get PR_SET_PDEATHSIG=SIGKILL, so a killed validator leaves no server behind (the
// launcher must be used from the thread that lives as long as the servers: the main thread).
//
// Submissions map to commands through a private table "name@sha256:..." -> argv (the config's
// [launcher.local.images]); an image not in it is launch_code::kImageUnavailable.
#pragma once
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "runner/launcher.h"

namespace cacheon::runner {

class LocalProcessLauncher final : public ServerLauncher {
 public:
  // images: keyed by arena::pinned_reference(name, digest).
  LocalProcessLauncher(std::map<std::string, std::vector<std::string>> images,
                       std::chrono::milliseconds stop_grace);
  Result<std::unique_ptr<ServerHandle>> start(const LaunchSpec& spec) override;

 private:
  std::map<std::string, std::vector<std::string>> images_;
  std::chrono::milliseconds stop_grace_;
};

// Exposed for tests: the URL in the first "listening on http://..." line of `log_text`.
std::optional<std::string> find_listening_url(std::string_view log_text);

}  // namespace cacheon::runner

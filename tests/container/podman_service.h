// Test fixture: a private `podman system service` on a unix socket in a temp dir, configured the
// way this sandbox needs (runc, explicit nofile/nproc ulimits: no CAP_SYS_RESOURCE here) and
// with the test registries marked insecure. Plus small process helpers shared by the container
// tests (run a command with a timeout; a temp dir that removes itself).
//
// Every container test starts its own service and stops it after (SIGTERM, then SIGKILL).
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "runner/runtime.h"

namespace cacheon::container_test {

struct CommandResult {
  int exit_code = -1;  // -1: did not exit normally (signal, timeout, spawn failure)
  bool timed_out = false;
  std::string output;  // stdout + stderr, first 1 MiB
};

// Runs argv (PATH lookup) with `env` added to the environment ("KEY=VALUE"); SIGKILL after
// `timeout`.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::seconds timeout = std::chrono::seconds(120),
                          const std::vector<std::string>& env = {});

// A fresh directory under /tmp (short: unix socket paths are limited to 107 bytes), removed
// with its contents by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A background child with stdout+stderr appended to a log file.
class ChildProcess {
 public:
  static Result<std::unique_ptr<ChildProcess>> spawn(const std::vector<std::string>& argv,
                                                     const std::vector<std::string>& env,
                                                     const std::string& log_path);
  ~ChildProcess();  // stop()
  bool running();
  // SIGTERM, up to `grace` for it to exit, then SIGKILL; reaps it. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10'000));
  pid_t pid() const { return pid_; }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
};

// Reads up to `max` bytes of a file ("" if it cannot be read).
std::string read_file_head(const std::string& path, size_t max = 64 * 1024);

// The nofile limit the tests (and the service's defaults) use: min(hard limit, 65536).
int64_t nofile_limit();

class PodmanService {
 public:
  struct Options {
    // "host:port" entries written to registries.conf as insecure (plain HTTP allowed).
    std::vector<std::string> insecure_registries;
    std::chrono::milliseconds start_timeout{30'000};
  };
  // Starts the service and waits until GET /_ping answers. Error code "fixture_error" with the
  // service's log on failure.
  static Result<std::unique_ptr<PodmanService>> start(const Options& options);
  ~PodmanService();  // stop()
  void stop();

  const std::string& socket_path() const { return socket_path_; }
  std::string socket_uri() const { return "unix://" + socket_path_; }
  runner::RuntimeOptions runtime_options() const;
  // The environment that points the podman CLI at the same configuration files.
  std::vector<std::string> env() const { return env_; }
  std::string log() const { return read_file_head(dir_->path() + "/service.log"); }

 private:
  PodmanService() = default;
  std::unique_ptr<TempDir> dir_;
  std::string socket_path_;
  std::vector<std::string> env_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace cacheon::container_test

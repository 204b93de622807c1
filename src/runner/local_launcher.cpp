#include "runner/local_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "arena/image_ref.h"
#include "core/clock.h"

namespace cacheon::runner {
namespace {

constexpr size_t kMaxLogScan = 1 << 20;  // the address line comes first; never read more

std::string read_head(const std::string& path, size_t max) {
  std::ifstream f(path, std::ios::binary);
  std::string s(max, '\0');
  f.read(s.data(), static_cast<std::streamsize>(max));
  s.resize(static_cast<size_t>(f.gcount()));
  return s;
}

std::string tail_of(const std::string& text, size_t n) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

class LocalServer final : public ServerHandle {
 public:
  LocalServer(pid_t pid, Url url, std::string logs, std::chrono::milliseconds grace)
      : pid_(pid), url_(std::move(url)), logs_(std::move(logs)), grace_(grace) {}
  ~LocalServer() override { stop(); }
  const Url& url() const override { return url_; }
  const std::string& logs_path() const override { return logs_; }
  void stop() override {
    if (pid_ <= 0) return;
    terminate_group(pid_, grace_);
    pid_ = -1;
  }

  // SIGTERM to the group, the grace, then SIGKILL; reaps the leader.
  static void terminate_group(pid_t pid, std::chrono::milliseconds grace) {
    ::kill(-pid, SIGTERM);
    const int64_t deadline = mono_ns() + grace.count() * 1'000'000;
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) {
        ::kill(-pid, SIGKILL);  // stragglers of the group
        return;
      }
      if (mono_ns() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }

 private:
  pid_t pid_;
  Url url_;
  std::string logs_;
  std::chrono::milliseconds grace_;
};

// fork + exec with only async-signal-safe calls in the child.
Result<pid_t> spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return Error{std::string(launch_code::kLaunchFailed),
                 fmt::format("cannot open the log file {}: {}", log_path, std::strerror(errno))};
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return Error{std::string(launch_code::kLaunchFailed),
                 fmt::format("fork: {}", std::strerror(errno))};
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the validator died before prctl took effect
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execvp(args[0], args.data());
    const char* msg = "cacheon launcher: exec failed: ";
    (void)!::write(2, msg, std::strlen(msg));
    (void)!::write(2, std::strerror(errno), std::strlen(std::strerror(errno)));
    (void)!::write(2, "\n", 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no window where a stop() misses the group
  ::close(log_fd);
  return pid;
}

}  // namespace

std::optional<std::string> find_listening_url(std::string_view text) {
  constexpr std::string_view kMarker = "listening on http://";
  size_t at = text.find(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  size_t start = at + kMarker.size() - 7;  // keep "http://"
  size_t end = start;
  while (end < text.size() && text[end] != '\n' && text[end] != ' ' && text[end] != '\r') ++end;
  if (end == text.size()) return std::nullopt;  // the line is not complete yet
  return std::string(text.substr(start, end - start));
}

LocalProcessLauncher::LocalProcessLauncher(std::map<std::string, std::vector<std::string>> images,
                                           std::chrono::milliseconds stop_grace)
    : images_(std::move(images)), stop_grace_(stop_grace) {}

Result<std::unique_ptr<ServerHandle>> LocalProcessLauncher::start(const LaunchSpec& spec) {
  std::vector<std::string> argv = spec.argv;
  if (argv.empty()) {
    auto pinned = arena::pinned_reference(spec.image, spec.digest);
    auto it = pinned.ok() ? images_.find(*pinned) : images_.end();
    if (it == images_.end())
      return Error{std::string(launch_code::kImageUnavailable),
                   fmt::format("{}: image {}@{} is not available to this arena (no entry in "
                               "[launcher.local.images])",
                               spec.name, spec.image, spec.digest)};
    argv = it->second;
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(spec.logs_path).parent_path(), ec);
  auto pid = spawn(argv, spec.logs_path);
  if (!pid.ok()) return pid.error();
  const int64_t deadline = mono_ns() + spec.startup_timeout.count() * 1'000'000;
  for (;;) {
    std::string log = read_head(spec.logs_path, kMaxLogScan);
    if (auto url = find_listening_url(log)) {
      auto parsed = Url::parse(*url);
      if (!parsed.ok()) {
        LocalServer::terminate_group(*pid, stop_grace_);
        return Error{std::string(launch_code::kLaunchFailed),
                     fmt::format("{}: bad address '{}': {}", spec.name, *url,
                                 parsed.error().message)};
      }
      return std::unique_ptr<ServerHandle>(
          new LocalServer(*pid, *parsed, spec.logs_path, stop_grace_));
    }
    int status = 0;
    if (::waitpid(*pid, &status, WNOHANG) == *pid) {
      ::kill(-*pid, SIGKILL);
      return Error{std::string(launch_code::kServerExited),
                   fmt::format("{}: the server exited ({}) before listening: {}", spec.name,
                               WIFEXITED(status) ? fmt::format("status {}", WEXITSTATUS(status))
                                                 : fmt::format("signal {}", WTERMSIG(status)),
                               tail_of(log, 400))};
    }
    if (mono_ns() >= deadline) {
      LocalServer::terminate_group(*pid, stop_grace_);
      return Error{std::string(launch_code::kStartupTimeout),
                   fmt::format("{}: no 'listening on' line within {:.1f} s", spec.name,
                               spec.startup_timeout.count() / 1000.0)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace cacheon::runner

#include "podman_service.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "runner/unix_http.h"

extern char** environ;

namespace cacheon::container_test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

Error fixture_error(std::string message) { return Error{"fixture_error", std::move(message)}; }

// environ with `extra` entries added or replacing those of the same key.
std::vector<std::string> merged_env(const std::vector<std::string>& extra) {
  std::map<std::string, std::string> by_key;
  auto key = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  for (char** e = environ; *e; ++e) by_key[key(*e)] = *e;
  for (const auto& kv : extra) by_key[key(kv)] = kv;
  std::vector<std::string> out;
  for (auto& [_, kv] : by_key) out.push_back(kv);
  return out;
}

std::vector<char*> cstrs(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// fork + exec with stdout/stderr appended to `log_path`, stdin from /dev/null. The child dies
// with us (PDEATHSIG) so a crashed test leaves no daemon behind.
Result<pid_t> spawn_child(std::vector<std::string> argv, const std::vector<std::string>& env,
                          const std::string& log_path) {
  if (argv.empty()) return fixture_error("spawn: empty argv");
  std::vector<std::string> envs = merged_env(env);
  auto cargv = cstrs(argv);
  auto cenv = cstrs(envs);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return fixture_error("open " + log_path + ": " + std::strerror(errno));
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execvpe(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) return fixture_error(std::string("fork: ") + std::strerror(errno));
  return pid;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string read_file_head(const std::string& path, size_t max) {
  std::ifstream in(path, std::ios::binary);
  std::string out(max, '\0');
  in.read(out.data(), static_cast<std::streamsize>(max));
  out.resize(static_cast<size_t>(std::max<std::streamsize>(0, in.gcount())));
  return out;
}

int64_t nofile_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max == RLIM_INFINITY) return 65536;
  return std::min<int64_t>(static_cast<int64_t>(rl.rlim_max), 65536);
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                          const std::vector<std::string>& env) {
  CommandResult r;
  TempDir dir("cacheon-cmd");
  std::string log = dir.path() + "/out";
  auto pid = spawn_child(argv, env, log);
  if (!pid.ok()) {
    r.output = pid.error().message;
    return r;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t w = ::waitpid(*pid, &status, WNOHANG);
    if (w == *pid) break;
    if (w < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() > deadline) {
      r.timed_out = true;
      ::kill(*pid, SIGKILL);
      ::waitpid(*pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  if (!r.timed_out && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.output = read_file_head(log, 1 << 20);
  return r;
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data())) path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(const std::vector<std::string>& argv,
                                                          const std::vector<std::string>& env,
                                                          const std::string& log_path) {
  auto pid = spawn_child(argv, env, log_path);
  if (!pid.ok()) return pid.error();
  return std::unique_ptr<ChildProcess>(new ChildProcess(*pid));
}

ChildProcess::~ChildProcess() { stop(); }

bool ChildProcess::running() {
  if (reaped_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return;
    std::this_thread::sleep_for(20ms);
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  reaped_ = true;
}

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<PodmanService>> PodmanService::start(const Options& options) {
  std::unique_ptr<PodmanService> s(new PodmanService());
  s->dir_ = std::make_unique<TempDir>("cacheon-podman");
  const std::string& dir = s->dir_->path();
  if (dir.empty()) return fixture_error("mkdtemp failed");
  int64_t nofile = nofile_limit();
  {
    std::ofstream conf(dir + "/containers.conf");
    conf << "# generated by tests/container/podman_service.cpp\n"
         << "[containers]\n"
         << fmt::format("default_ulimits = [\"nofile={0}:{0}\", \"nproc=4096:4096\"]\n", nofile)
         << "[engine]\nruntime = \"runc\"\n";
    std::ofstream reg(dir + "/registries.conf");
    reg << "# generated by tests/container/podman_service.cpp\n"
        << "unqualified-search-registries = []\n";
    for (const auto& r : options.insecure_registries)
      reg << fmt::format("[[registry]]\nlocation = \"{}\"\ninsecure = true\n", r);
    if (!conf || !reg) return fixture_error("cannot write the podman configuration in " + dir);
  }
  s->socket_path_ = dir + "/podman.sock";
  // Loopback registries must not go through a proxy the environment may name.
  s->env_ = {"CONTAINERS_CONF=" + dir + "/containers.conf",
             "CONTAINERS_REGISTRIES_CONF=" + dir + "/registries.conf",
             "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost"};
  auto child = ChildProcess::spawn(
      {"podman", "system", "service", "--time=0", "unix://" + s->socket_path_}, s->env_,
      dir + "/service.log");
  if (!child.ok()) return child.error();
  s->child_ = std::move(*child);

  runner::UnixHttpOptions ping;
  ping.socket_path = s->socket_path_;
  ping.timeout = 2s;
  auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  while (true) {
    if (!s->child_->running())
      return fixture_error("podman system service exited: " + s->log());
    auto r = runner::unix_http_fetch(ping, {"GET", "/_ping", ""});
    if (r.ok() && r->status == 200) break;
    if (std::chrono::steady_clock::now() > deadline)
      return fixture_error("podman system service did not answer /_ping: " + s->log());
    std::this_thread::sleep_for(50ms);
  }
  return s;
}

PodmanService::~PodmanService() { stop(); }

void PodmanService::stop() {
  if (child_) child_->stop();
  child_.reset();
}

runner::RuntimeOptions PodmanService::runtime_options() const {
  runner::RuntimeOptions o;
  o.socket_path = socket_uri();
  o.request_timeout = 30s;
  return o;
}

}  // namespace cacheon::container_test

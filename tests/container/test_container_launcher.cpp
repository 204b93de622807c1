// The container runner end to end on real podman (runc) and a real registry: images pulled by
// digest through the API, run in the sandbox, evaluated by the worker with the harness, and
// cleaned up — and the hostile images, each ending with its reason code and nothing left behind.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "core/clock.h"
#include "launcher_fixture.h"
#include "runner/container_launcher.h"
#include "validator/config.h"
#include "validator/worker.h"

namespace cacheon::runner {
namespace {

using namespace std::chrono_literals;
using container_test::LauncherWorld;
using container_test::leftovers;
namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class ContainerLauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = LauncherWorld::get();
    ASSERT_TRUE(w.ok()) << w.error().message;
    world_ = *w;
    scope_ = fmt::format("ct{}x{}", ::getpid(), counter_++);
    rt_ = std::make_unique<ContainerRuntime>(world_->service().runtime_options());
    logs_ = world_->work_dir() + "/" + scope_;
    fs::create_directories(logs_);
  }
  void TearDown() override {
    if (!rt_) return;
    EXPECT_EQ(leftovers(*rt_, scope_), 0) << "containers or networks left behind";
    ContainerLauncher(world_->options(scope_)).sweep();  // keep the next test clean anyway
  }

  LaunchSpec spec(const std::string& name, std::chrono::milliseconds startup = 30s) {
    const auto& img = world_->image(name);
    LaunchSpec s;
    s.name = name;
    s.image = img.repo + ":v1";  // the tag is ignored: only the digest is pulled
    s.digest = img.digest;
    s.logs_path = logs_ + "/" + name + ".log";
    s.startup_timeout = startup;
    return s;
  }

  // The worker's settings: the engine image as the baseline, `prompts` short prompts.
  validator::ValidatorConfig worker_config(int prompts) const {
    const auto& base = world_->image("engine");
    validator::ValidatorConfig cfg;
    cfg.model = "Qwen2.5-72B-Instruct";  // what the engine image serves by default
    cfg.logs_dir = logs_;
    cfg.baseline_image = base.repo;
    cfg.baseline_digest = base.digest;
    cfg.prompts.spec.scored = prompts;
    cfg.prompts.spec.warmup = 0;
    cfg.prompts.spec.input_tokens = 200;
    cfg.prompts.spec.output_tokens = 8;
    cfg.startup_timeout = 60s;
    cfg.stop_grace = 3s;
    return cfg;
  }

  LauncherWorld* world_ = nullptr;
  std::string scope_, logs_;
  std::unique_ptr<ContainerRuntime> rt_;
  static inline int counter_ = 0;
};

// The kernel's view of the server process: the sandbox is really applied.
void expect_sandboxed(int pid) {
  const std::string status = read_text(fmt::format("/proc/{}/status", pid));
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << status;
  EXPECT_NE(status.find("CapEff:\t0000000000000000"), std::string::npos) << status;
  EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << "no seccomp filter";
  EXPECT_NE(status.find("Uid:\t65532"), std::string::npos) << status;
  const std::string mounts = read_text(fmt::format("/proc/{}/mountinfo", pid));
  bool root_ro = false, models_ro = false, tmp_rw = false;
  std::istringstream in(mounts);
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, dev, root, mount, opts;
    f >> id >> parent >> dev >> root >> mount >> opts;
    const bool ro = opts.rfind("ro", 0) == 0;
    if (mount == "/") root_ro = ro;
    if (mount == "/models") models_ro = ro;
    if (mount == "/tmp") tmp_rw = !ro;
  }
  EXPECT_TRUE(root_ro) << "root filesystem writable";
  EXPECT_TRUE(models_ro) << "/models writable or missing";
  EXPECT_TRUE(tmp_rw) << "no private /tmp";
}

TEST_F(ContainerLauncherTest, TheEngineImageRunsSandboxedAndPassesAnEvaluation) {
  const auto& cand = world_->image("engine-copy");
  validator::ValidatorConfig cfg = worker_config(2);
  ContainerLauncher launcher(world_->options(scope_));
  ASSERT_TRUE(launcher.check().ok()) << launcher.check().error().message;
  harness::Progress progress(false, true);
  validator::Worker worker(cfg, launcher, progress);

  store::Participant p;
  p.key = {"5Fminer", 3};
  p.image = cand.repo;
  p.digest = cand.digest;
  validator::EvalJob job{1, 3, std::string(64, 'd'), {p}};
  int servers_seen = 0;
  store::EvalResult r = worker.evaluate(job, p, 1, [&] {
    // Both servers (baseline, candidate) and their relays are up now.
    auto cs = rt_->list_containers({std::string(kLabelScope) + "=" + scope_,
                                    std::string(kLabelRole) + "=server"});
    ASSERT_TRUE(cs.ok());
    for (const auto& c : *cs) {
      auto info = rt_->inspect_container(c.id);
      ASSERT_TRUE(info.ok());
      ASSERT_TRUE(info->state.running);
      expect_sandboxed(info->state.pid);
      ++servers_seen;
    }
  });
  EXPECT_EQ(servers_seen, 2);
  EXPECT_TRUE(r.passed) << r.reason_code << ": " << r.message;
  EXPECT_EQ(r.prompts.size(), 2u);
  EXPECT_EQ(r.fingerprint.rfind("sha256:", 0), 0u) << "no fingerprint";
  EXPECT_TRUE(fs::exists(r.report_path));
  EXPECT_NE(read_text(r.logs_path).find("listening on"), std::string::npos)
      << "the server's own log was not captured: " << read_text(r.logs_path);
  worker.finish_job();
}

TEST_F(ContainerLauncherTest, FingerprintsFollowFilesAndHowTheImageRuns) {
  ContainerLauncher launcher(world_->options(scope_));
  auto a = launcher.start(spec("engine"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto b = launcher.start(spec("engine-copy"));
  ASSERT_TRUE(b.ok()) << b.error().message;
  auto c = launcher.start(spec("garbage"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  // The same files started with other arguments are another server.
  auto flags = world_->derive("engine-flags", world_->local_image("engine"),
                              {"--served-model-name", "Qwen2.5-72B-Instruct", "--threads", "1"});
  ASSERT_TRUE(flags.ok()) << flags.error().message;
  auto d = launcher.start(spec("engine-flags"));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_FALSE((*a)->fingerprint().empty());
  EXPECT_EQ((*a)->fingerprint(), (*b)->fingerprint());
  EXPECT_NE((*a)->fingerprint(), (*c)->fingerprint());
  EXPECT_NE((*a)->fingerprint(), (*d)->fingerprint());
  for (auto* h : {&*a, &*b, &*c, &*d}) (*h)->stop();
}

struct HostileCase {
  std::string mode;
  std::string_view code;    // launch_code
  std::string in_message;   // a substring of the error message (exit code, log tail)
  double max_seconds;       // reported at once, not at the startup timeout
};

TEST_F(ContainerLauncherTest, HostileImagesEndWithTheirReasonCodeAndLeaveNothing) {
  ContainerLauncherOptions o = world_->options(scope_);
  o.sandbox.memory_bytes = int64_t{128} << 20;
  o.sandbox.pids_limit = 32;
  o.sandbox.tmpfs_bytes = int64_t{8} << 20;
  o.fingerprint = false;
  ContainerLauncher launcher(o);
  const std::vector<HostileCase> cases = {
      {"die", launch_code::kServerExited, "exit code 42", 10},
      {"write-root", launch_code::kServerExited, "EROFS", 10},
      {"fill-tmp", launch_code::kServerExited, "ENOSPC", 15},
      {"fill-mem", launch_code::kServerExited, "memory limit (128 MiB)", 20},
      {"never-healthy", launch_code::kStartupTimeout, "/health did not answer", 12},
      {"forkbomb", launch_code::kStartupTimeout, "/health did not answer", 12},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.mode);
    const int64_t t0 = mono_ns();
    auto r = launcher.start(spec(c.mode, 6s));
    const double s = (mono_ns() - t0) / 1e9;
    ASSERT_FALSE(r.ok()) << c.mode << " started";
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
    EXPECT_NE(r.error().message.find(c.in_message), std::string::npos) << r.error().message;
    EXPECT_LT(s, c.max_seconds);
    EXPECT_EQ(leftovers(*rt_, scope_), 0) << c.mode << " left something behind";
  }
}

// A declared VOLUME would be a writable, unbounded anonymous volume on the host's disk: the
// sandbox covers it with a capped tmpfs instead, so no volume appears on the host.
TEST_F(ContainerLauncherTest, DeclaredVolumesDoNotReachTheHostDisk) {
  auto derived = world_->derive("volume", world_->local_image("never-healthy"), {},
                                "VOLUME /data\n");
  ASSERT_TRUE(derived.ok()) << derived.error().message;
  const auto volumes = [&] {
    return container_test::run_command({"podman", "volume", "ls", "-q"}, 30s,
                                       world_->service().env())
        .output;
  };
  const std::string before = volumes();
  ContainerLauncherOptions o = world_->options(scope_);
  o.fingerprint = false;
  ContainerLauncher launcher(o);
  // Volumes are looked at while the server runs (a forced remove would take them along).
  LaunchSpec s = spec("volume", 4s);
  std::optional<Result<std::unique_ptr<ServerHandle>>> r;
  std::thread starter([&] { r.emplace(launcher.start(s)); });
  std::this_thread::sleep_for(2500ms);
  const std::string during = volumes();
  starter.join();
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->error().code, launch_code::kStartupTimeout) << r->error().message;
  EXPECT_EQ(during, before) << "an anonymous volume was created for VOLUME /data";
}

// A listener on every host address: the egress image must not reach it (nor anything else).
TEST_F(ContainerLauncherTest, AnImageThatReachesOutGetsNowhere) {
  int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(ls, 16), 0);
  socklen_t len = sizeof a;
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string port = std::to_string(ntohs(a.sin_port));
  std::atomic<int> accepted{0};
  std::atomic<bool> done{false};
  std::thread acceptor([&] {
    while (!done) {
      pollfd p{ls, POLLIN, 0};
      if (::poll(&p, 1, 100) == 1) {
        int c = ::accept(ls, nullptr, nullptr);
        if (c >= 0) ++accepted, ::close(c);
      }
    }
  });
  // The host as seen from the default bridge, the relay network, and loopback.
  auto derived = world_->derive(
      "egress-here", world_->local_image("egress"),
      {"10.88.0.1:" + port, "127.0.0.1:" + port, "192.0.2.2:" + port, "10.89.0.1:" + port});
  ASSERT_TRUE(derived.ok()) << derived.error().message;

  ContainerLauncher launcher(world_->options(scope_));
  auto h = launcher.start(spec("egress-here"));
  ASSERT_TRUE(h.ok()) << h.error().message;
  std::this_thread::sleep_for(1s);
  (*h)->stop();
  done = true;
  acceptor.join();
  ::close(ls);
  const std::string log = read_text((*h)->logs_path());
  EXPECT_EQ(accepted.load(), 0) << "a container reached the host: " << log;
  EXPECT_EQ(log.find("CONNECTED"), std::string::npos) << log;
  EXPECT_NE(log.find("blocked"), std::string::npos) << "the image did not try: " << log;
}

TEST_F(ContainerLauncherTest, ImagesAreTakenByDigestOnly) {
  ContainerLauncherOptions o = world_->options(scope_);
  o.fingerprint = false;
  ContainerLauncher launcher(o);
  // An unknown digest.
  LaunchSpec unknown = spec("die");
  unknown.digest = "sha256:" + std::string(64, 'e');
  std::vector<std::string> progress;
  unknown.on_progress = [&](const std::string& line) { progress.push_back(line); };
  auto r1 = launcher.start(unknown);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, launch_code::kImagePullFailed) << r1.error().message;
  ASSERT_FALSE(progress.empty());
  EXPECT_NE(progress[0].find("pulling " + world_->image("die").repo + "@sha256:eeee"),
            std::string::npos)
      << progress[0];
  // Another repository's name with the die image's digest: the digest names the content, so
  // what runs is the die image (exit code 42), whatever the name says. Taking someone else's
  // digest is the copy rule's business (arena/copies.h), not a way to run other content.
  LaunchSpec elsewhere = spec("garbage");
  elsewhere.digest = world_->image("die").digest;
  auto r2 = launcher.start(elsewhere);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, launch_code::kServerExited) << r2.error().message;
  EXPECT_NE(r2.error().message.find("exit code 42"), std::string::npos) << r2.error().message;
  // A tag that claims one thing and a digest of another: what runs is the digest's image (the
  // die image: exit code 42), never the tag's.
  LaunchSpec lying = spec("die");
  lying.image = world_->image("die").repo + ":engine-v1";
  auto r3 = launcher.start(lying);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error().code, launch_code::kServerExited);
  EXPECT_NE(r3.error().message.find("exit code 42"), std::string::npos) << r3.error().message;
  // Over the size cap: rejected before anything runs.
  o.max_image_bytes = 1'000'000;
  ContainerLauncher small(o);
  auto r4 = small.start(spec("engine"));
  ASSERT_FALSE(r4.ok());
  EXPECT_EQ(r4.error().code, launch_code::kImageTooLarge) << r4.error().message;
}

TEST_F(ContainerLauncherTest, GarbageAfterHealthFailsTheEvaluationNotTheArena) {
  const auto& cand = world_->image("garbage");
  validator::ValidatorConfig cfg = worker_config(1);
  ContainerLauncher launcher(world_->options(scope_));
  harness::Progress progress(false, true);
  validator::Worker worker(cfg, launcher, progress);
  store::Participant p;
  p.key = {"5Fgarbage", 4};
  p.image = cand.repo;
  p.digest = cand.digest;
  validator::EvalJob job{1, 4, std::string(64, 'e'), {p}};
  store::EvalResult r = worker.evaluate(job, p, 1);
  worker.finish_job();
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(r.decided) << r.reason_code << ": " << r.message;
  EXPECT_EQ(r.blame, "candidate") << r.reason_code << ": " << r.message;
}

// A validator killed mid-run leaves containers behind; the next start's sweep removes them.
TEST_F(ContainerLauncherTest, TheSweepRemovesWhatAKilledRunLeft) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ContainerLauncherOptions o = world_->options(scope_);
    o.fingerprint = false;
    ContainerLauncher launcher(o);
    (void)launcher.start(spec("never-healthy", 120s));  // killed while waiting for /health
    ::_exit(0);
  }
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    std::this_thread::sleep_for(100ms);
    auto cs = rt_->list_containers({std::string(kLabelScope) + "=" + scope_});
    up = cs.ok() && cs->size() == 2;  // the server and its relay
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(up) << "the child never got its containers up";
  EXPECT_GE(leftovers(*rt_, scope_), 3);  // two containers and the network
  ContainerLauncher next(world_->options(scope_));
  auto swept = next.sweep();
  ASSERT_TRUE(swept.ok()) << swept.error().message;
  EXPECT_EQ(*swept, 3);
}

}  // namespace
}  // namespace cacheon::runner

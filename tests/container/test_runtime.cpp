// ContainerRuntime and LogFollower (runner/runtime.h) against a real `podman system service`
// (runc) and a real registry on loopback: pull by digest with progress, pull failures and a
// deterministic pull timeout, networks, the container lifecycle with logs (multiplexed and TTY),
// wait/stop/exit codes, export as a tar stream, labels, and the error codes.
// Everything is labelled cacheon.test=<pid> and removed in TearDown, also after a failure.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "local_registry.h"
#include "podman_service.h"
#include "runner/runtime.h"

namespace cacheon::runner {
namespace {
using namespace std::chrono_literals;
using container_test::LocalRegistry;
using container_test::PodmanService;
using container_test::run_command;
using container_test::TempDir;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kPid = std::to_string(::getpid());
const std::string kLabel = "cacheon.test=" + kPid;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Polls `pred` every 50 ms for up to `limit`.
template <class F>
bool eventually(F pred, std::chrono::milliseconds limit = 10s) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

class RuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto reg = LocalRegistry::start();
    if (!reg.ok()) return void(setup_error_ = reg.error().message);
    registry_ = std::move(*reg);
    auto svc = PodmanService::start({{registry_->address()}});
    if (!svc.ok()) return void(setup_error_ = svc.error().message);
    service_ = std::move(*svc);
    auto img = build_image("run");
    if (!img.ok()) return void(setup_error_ = img.error().message);
    image_id_ = *img;
  }

  static void TearDownTestSuite() {
    for (const auto& tag : built_tags_)
      run_command({"podman", "rmi", "-f", tag}, 60s,
                  service_ ? service_->env() : std::vector<std::string>{});
    service_.reset();
    registry_.reset();
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    rt_ = std::make_unique<ContainerRuntime>(service_->runtime_options());
  }

  // Kill first: a forced remove would give the container its stop timeout.
  void TearDown() override {
    if (!rt_) return;
    if (auto cs = rt_->list_containers({kLabel}); cs.ok()) {
      for (const auto& c : *cs) {
        (void)rt_->kill_container(c.id);
        EXPECT_TRUE(rt_->remove_container(c.id, true).ok()) << c.id;
      }
    }
    if (auto ns = rt_->list_networks({kLabel}); ns.ok()) {
      for (const auto& n : *ns) EXPECT_TRUE(rt_->remove_network(n.id).ok()) << n.name;
    }
    auto left = rt_->list_containers({kLabel});
    ASSERT_TRUE(left.ok());
    EXPECT_TRUE(left->empty()) << "containers left behind";
  }

  // FROM scratch + busybox-static; `variant` makes the image id unique. Returns the image id.
  static Result<std::string> build_image(const std::string& variant) {
    TempDir ctx("cacheon-rt-ctx");
    std::error_code ec;
    std::filesystem::copy_file("/usr/bin/busybox", ctx.path() + "/busybox", ec);
    if (ec) return Error{"fixture_error", "copy /usr/bin/busybox: " + ec.message()};
    std::ofstream(ctx.path() + "/Containerfile")
        << "FROM scratch\nCOPY busybox /bin/busybox\nENV PATH=/bin\n"
        << "ENTRYPOINT [\"/bin/busybox\"]\nCMD [\"sh\", \"-c\", \"echo default\"]\n";
    std::string tag = fmt::format("localhost/cacheon-rt-{}:{}", kPid, variant);
    auto r = run_command({"podman", "build", "-q", "--label", kLabel, "--label",
                          "cacheon.test.variant=" + variant + "-" + kPid, "-t", tag, ctx.path()},
                         120s, service_->env());
    if (r.exit_code != 0) return Error{"fixture_error", "podman build: " + r.output};
    built_tags_.push_back(tag);
    std::string out = r.output;  // -q: the id is the last line
    while (!out.empty() && out.back() == '\n') out.pop_back();
    std::string id = out.substr(out.rfind('\n') + 1);
    return id.rfind("sha256:", 0) == 0 ? id : "sha256:" + id;
  }

  json body(const std::vector<std::string>& cmd, const std::string& network = "",
            const std::string& case_label = "") const {
    int64_t n = container_test::nofile_limit();
    json labels = {{"cacheon.test", kPid}};
    if (!case_label.empty()) labels["cacheon.test.case"] = case_label;
    json b = {{"Image", image_id_},
              {"Cmd", cmd},
              {"Labels", labels},
              {"StopTimeout", 2},
              {"HostConfig",
               {{"Ulimits",
                 {{{"Name", "nofile"}, {"Soft", n}, {"Hard", n}},
                  {{"Name", "nproc"}, {"Soft", 4096}, {"Hard", 4096}}}}}}};
    if (!network.empty()) b["HostConfig"]["NetworkMode"] = network;
    return b;
  }

  std::string name(const std::string& what) const { return "cacheon-rt-" + kPid + "-" + what; }

  // Creates and starts; fails the test on error.
  std::string run(const std::string& what, const json& b) {
    auto id = rt_->create_container(name(what), b);
    EXPECT_TRUE(id.ok()) << id.error().message;
    if (!id.ok()) return "";
    Status st = rt_->start_container(*id);
    EXPECT_TRUE(st.ok()) << st.error().message;
    return *id;
  }

  static inline std::unique_ptr<LocalRegistry> registry_;
  static inline std::unique_ptr<PodmanService> service_;
  static inline std::string image_id_, setup_error_;
  static inline std::vector<std::string> built_tags_;
  std::unique_ptr<ContainerRuntime> rt_;
};

TEST_F(RuntimeTest, Version) {
  auto v = rt_->version();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->value("ApiVersion", ""), "1.41");
  EXPECT_TRUE((*v)["Components"].is_array());
}

TEST_F(RuntimeTest, PullByDigestWithProgressThenInspect) {
  auto built = build_image("pull");
  ASSERT_TRUE(built.ok()) << built.error().message;
  std::string local = fmt::format("localhost/cacheon-rt-{}:pull", kPid);
  std::string repo = "cacheon-rt-" + kPid;
  auto digest = registry_->push(local, repo, "v1", service_->env());
  ASSERT_TRUE(digest.ok()) << digest.error().message;
  ASSERT_EQ(run_command({"podman", "rmi", "-f", local}, 60s, service_->env()).exit_code, 0);
  auto gone = rt_->inspect_image(*built);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, runtime_code::kNotFound);

  std::string ref = fmt::format("{}/{}@{}", registry_->address(), repo, *digest);
  std::vector<PullProgress> seen;
  auto t0 = Clock::now();
  Status st = rt_->pull(ref, 60s, [&](const PullProgress& p) { seen.push_back(p); });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_LT(seconds_since(t0), 30);
  ASSERT_FALSE(seen.empty());
  EXPECT_FALSE(seen.back().status.empty());

  auto info = rt_->inspect_image(ref);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->id, *built);  // the config digest survives the round trip
  EXPECT_GT(info->size, 0);
  EXPECT_NE(std::find(info->repo_digests.begin(), info->repo_digests.end(), ref),
            info->repo_digests.end())
      << ref;
  EXPECT_EQ(info->entrypoint, std::vector<std::string>{"/bin/busybox"});
  EXPECT_TRUE(rt_->remove_image(info->id, true).ok());
  auto removed = rt_->remove_image(info->id, true);
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code, runtime_code::kNotFound);
}

TEST_F(RuntimeTest, PullOfUnknownDigestFailsQuickly) {
  std::string ref = fmt::format("{}/cacheon-rt-missing-{}@sha256:{}", registry_->address(), kPid,
                                std::string(64, '0'));
  auto t0 = Clock::now();
  Status st = rt_->pull(ref, 60s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, runtime_code::kPullFailed) << st.error().message;
  EXPECT_NE(st.error().message.find("pull "), std::string::npos);
  EXPECT_LT(seconds_since(t0), 10);
  Status bad = rt_->pull("no spaces allowed@sha256:1", 60s);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, runtime_code::kPullFailed);
}

// A "registry" that accepts TCP connections (the kernel's backlog) and never says a word.
TEST_F(RuntimeTest, PullTimesOutOnASilentRegistry) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 64), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string ref = fmt::format("127.0.0.1:{}/silent@sha256:{}", ntohs(addr.sin_port),
                                std::string(64, 'a'));
  auto t0 = Clock::now();
  Status st = rt_->pull(ref, 2s);
  double took = seconds_since(t0);
  ::close(fd);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, runtime_code::kPullTimeout) << st.error().message;
  EXPECT_GE(took, 1.9);
  EXPECT_LT(took, 6);
}

TEST_F(RuntimeTest, ContainerLifecycleOnAnInternalNetwork) {
  std::string net = name("net");
  auto net_id = rt_->create_network(net, true, {{"cacheon.test", kPid}});
  ASSERT_TRUE(net_id.ok()) << net_id.error().message;
  auto nets = rt_->list_networks({kLabel});
  ASSERT_TRUE(nets.ok()) << nets.error().message;
  auto it = std::find_if(nets->begin(), nets->end(), [&](auto& n) { return n.name == net; });
  ASSERT_NE(it, nets->end());
  EXPECT_TRUE(it->internal);
  EXPECT_EQ(it->labels.at("cacheon.test"), kPid);

  // sh as PID 1 ignores SIGTERM unless trapped; `sleep & wait` lets the trap run at once.
  json b = body({"sh", "-c", "trap 'echo bye; exit 3' TERM; echo hello; echo oops >&2; "
                             "sleep 30 & wait"},
                net);
  std::string id = run("life", b);
  ASSERT_FALSE(id.empty());
  auto dup = rt_->create_container(name("life"), b);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, runtime_code::kConflict) << dup.error().message;

  TempDir dir("cacheon-rt-logs");
  std::string log_path = dir.path() + "/follow.log";
  LogFollower follower(rt_->options(), id, log_path);
  auto info = rt_->inspect_container(id);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_TRUE(info->state.running);
  EXPECT_EQ(info->state.status, "running");
  EXPECT_GT(info->state.pid, 0);
  EXPECT_EQ(info->name, name("life"));
  EXPECT_EQ(info->labels.at("cacheon.test"), kPid);
  ASSERT_EQ(info->ip_by_network.count(net), 1u);
  EXPECT_EQ(info->ip_by_network.at(net).rfind("10.", 0), 0u) << info->ip_by_network.at(net);

  std::string tail;
  EXPECT_TRUE(eventually([&] {
    auto t = rt_->logs_tail(id, 10);
    if (t.ok()) tail = *t;
    return tail.find("hello\n") != std::string::npos && tail.find("oops\n") != std::string::npos;
  })) << tail;
  EXPECT_EQ(tail.find('\x01'), std::string::npos) << "frame headers leaked into the output";
  EXPECT_TRUE(eventually([&] {
    return container_test::read_file_head(log_path).find("hello\n") != std::string::npos;
  }));

  auto t0 = Clock::now();
  Status stopped = rt_->stop_container(id, 10s);
  ASSERT_TRUE(stopped.ok()) << stopped.error().message;
  EXPECT_LT(seconds_since(t0), 8);  // the trap ran; no kill after the grace
  auto code = rt_->wait_container(id, 10s);
  ASSERT_TRUE(code.ok()) << code.error().message;
  EXPECT_EQ(*code, 3);
  // The follower ends by itself with the container; "bye" came before the end.
  EXPECT_TRUE(eventually([&] {
    return container_test::read_file_head(log_path).find("bye\n") != std::string::npos;
  }));
  follower.stop();
  EXPECT_EQ(container_test::read_file_head(log_path).find("[cacheon:"), std::string::npos);
  EXPECT_GE(follower.bytes_written(), std::string("hello\noops\nbye\n").size());

  info = rt_->inspect_container(id);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->state.running);
  EXPECT_EQ(info->state.exit_code, 3);

  ASSERT_TRUE(rt_->remove_container(id, false).ok());
  EXPECT_TRUE(rt_->remove_container(id, false).ok());  // missing: not an error
  auto gone = rt_->inspect_container(id);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, runtime_code::kNotFound);
  ASSERT_TRUE(rt_->remove_network(net).ok());
  EXPECT_TRUE(rt_->remove_network(net).ok());
}

TEST_F(RuntimeTest, ExitCodeAndWaitTimeout) {
  std::string id = run("exit7", body({"sh", "-c", "exit 7"}));
  ASSERT_FALSE(id.empty());
  auto code = rt_->wait_container(id, 10s);
  ASSERT_TRUE(code.ok()) << code.error().message;
  EXPECT_EQ(*code, 7);
  auto info = rt_->inspect_container(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state.exit_code, 7);
  EXPECT_EQ(info->state.status, "exited");

  std::string sleeper = run("sleeper", body({"sleep", "30"}));
  auto t0 = Clock::now();
  auto waited = rt_->wait_container(sleeper, 500ms);
  ASSERT_FALSE(waited.ok());
  EXPECT_EQ(waited.error().code, runtime_code::kTimeout) << waited.error().message;
  EXPECT_LT(seconds_since(t0), 3);
}

TEST_F(RuntimeTest, LogFollowerStopsPromptlyAndCutsAtItsCap) {
  std::string silent = run("silent", body({"sleep", "30"}));
  TempDir dir("cacheon-rt-logs");
  {
    LogFollower f(rt_->options(), silent, dir.path() + "/silent.log");
    std::this_thread::sleep_for(300ms);  // the follow request is in flight and idle
    auto t0 = Clock::now();
    f.stop();
    EXPECT_LT(seconds_since(t0), 1.0);
    EXPECT_EQ(f.bytes_written(), 0u);
  }
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/silent.log"));

  std::string noisy = run("noisy", body({"sh", "-c", "yes 0123456789 | head -c 200000; sleep 30"}));
  std::string path = dir.path() + "/noisy.log";
  LogFollower f(rt_->options(), noisy, path, 1000);
  const std::string marker = "\n[cacheon: log cut at 1000 bytes]\n";
  EXPECT_TRUE(eventually([&] { return container_test::read_file_head(path).size() >= 1000; }));
  f.stop();
  std::string text = container_test::read_file_head(path);
  EXPECT_EQ(f.bytes_written(), 1000u);
  ASSERT_EQ(text.size(), 1000 + marker.size());
  EXPECT_EQ(text.substr(0, 11), "0123456789\n");
  EXPECT_EQ(text.substr(1000), marker);
}

TEST_F(RuntimeTest, TtyLogsAreRawNotFramed) {
  json b = body({"sh", "-c", "echo hello-tty"});
  b["Tty"] = true;
  std::string id = run("tty", b);
  ASSERT_TRUE(rt_->wait_container(id, 10s).ok());
  auto tail = rt_->logs_tail(id, 5);
  ASSERT_TRUE(tail.ok()) << tail.error().message;
  EXPECT_NE(tail->find("hello-tty"), std::string::npos) << *tail;
  auto few = rt_->logs_tail(id, 5, 4);
  ASSERT_TRUE(few.ok());
  EXPECT_LE(few->size(), 4u);
}

TEST_F(RuntimeTest, ExportIsATarStream) {
  auto id = rt_->create_container(name("export"), body({"true"}));
  ASSERT_TRUE(id.ok()) << id.error().message;
  std::string head;
  size_t total = 0;
  Status st = rt_->export_container(*id, 30s, [&](std::string_view d) {
    if (head.size() < 512) head.append(d.substr(0, 512 - head.size()));
    total += d.size();
    return true;
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_GT(total, std::filesystem::file_size("/usr/bin/busybox"));
  ASSERT_EQ(head.size(), 512u);
  EXPECT_EQ(head.substr(257, 5), "ustar");
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(head[i]);
  EXPECT_EQ(std::stoul(head.substr(148, 7), nullptr, 8), sum);

  size_t pieces = 0;
  st = rt_->export_container(*id, 30s, [&](std::string_view) { return ++pieces < 2; });
  EXPECT_TRUE(st.ok());  // stopping early is not an error
  EXPECT_EQ(pieces, 2u);
  auto missing = rt_->export_container("cacheon-rt-no-such", 5s, [](std::string_view) {
    return true;
  });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, runtime_code::kNotFound);
}

TEST_F(RuntimeTest, ListByLabelAndSecondNetwork) {
  std::vector<std::string> ids;
  for (const char* c : {"a", "b"}) {
    auto id = rt_->create_container(name(std::string("list-") + c), body({"true"}, "", "list"));
    ASSERT_TRUE(id.ok()) << id.error().message;
    ids.push_back(*id);
  }
  auto other = rt_->create_container(name("list-other"), body({"true"}, "", "other"));
  ASSERT_TRUE(other.ok());
  auto listed = rt_->list_containers({kLabel, "cacheon.test.case=list"});
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  std::vector<std::string> got;
  for (const auto& c : *listed) got.push_back(c.id);
  std::sort(got.begin(), got.end());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(got, ids);
  auto keyed = rt_->list_containers({kLabel, "cacheon.test.case"});
  ASSERT_TRUE(keyed.ok());
  EXPECT_EQ(keyed->size(), 3u);

  std::string n1 = name("n1"), n2 = name("n2");
  ASSERT_TRUE(rt_->create_network(n1, true, {{"cacheon.test", kPid}}).ok());
  ASSERT_TRUE(rt_->create_network(n2, false, {{"cacheon.test", kPid}}).ok());
  auto id = rt_->create_container(name("two-nets"), body({"sleep", "30"}, n1));
  ASSERT_TRUE(id.ok()) << id.error().message;
  Status connected = rt_->connect_network(n2, *id);
  ASSERT_TRUE(connected.ok()) << connected.error().message;
  ASSERT_TRUE(rt_->start_container(*id).ok());
  auto info = rt_->inspect_container(*id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->ip_by_network.size(), 2u);
  EXPECT_EQ(info->ip_by_network.count(n1) + info->ip_by_network.count(n2), 2u);
}

TEST_F(RuntimeTest, ErrorCodes) {
  auto missing = rt_->inspect_image("localhost/cacheon-rt-no-such-image:1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, runtime_code::kNotFound);
  EXPECT_NE(missing.error().message.find("inspect image localhost/cacheon-rt-no-such-image:1"),
            std::string::npos)
      << missing.error().message;
  auto no_container = rt_->inspect_container("cacheon-rt-no-such-container");
  ASSERT_FALSE(no_container.ok());
  EXPECT_EQ(no_container.error().code, runtime_code::kNotFound);
  auto bad_body = rt_->create_container(name("bad"), json{{"Image", 5}});
  ASSERT_FALSE(bad_body.ok());
  EXPECT_NE(bad_body.error().code, runtime_code::kBadResponse);

  TempDir dir("cacheon-rt-sock");
  for (std::string sock : {dir.path() + "/none.sock", "unix://" + dir.path() + "/none.sock",
                           std::string("tcp://127.0.0.1:2375"), std::string("relative.sock")}) {
    RuntimeOptions o;
    o.socket_path = sock;
    ContainerRuntime off(o);
    auto t0 = Clock::now();
    auto v = off.version();
    ASSERT_FALSE(v.ok()) << sock;
    EXPECT_EQ(v.error().code, runtime_code::kUnreachable) << sock << ": " << v.error().message;
    EXPECT_LT(seconds_since(t0), 1.0);
    Status pulled = off.pull("x@sha256:" + std::string(64, 'a'), 1s);
    ASSERT_FALSE(pulled.ok());
    EXPECT_EQ(pulled.error().code, runtime_code::kUnreachable);
  }
}

}  // namespace
}  // namespace cacheon::runner

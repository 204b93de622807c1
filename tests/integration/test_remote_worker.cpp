// Remote workers over real TLS on loopback: a worker (in-process, or the real `cacheon worker`
// binary) running real cacheon-engine servers on the tiny model, and the validator's
// RemoteExecutor. A passed result with its report and log written locally; a busy worker; a wrong
// token, a wrong certificate pin and a wrong host name refused before anything runs; replays
// refused; a worker killed mid-evaluation is an arena-side failure and leaves no server behind.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "engine/model/synthetic.h"
#include "harness/progress.h"
#include "remote/auth.h"
#include "remote/https.h"
#include "remote/protocol.h"
#include "remote/remote_executor.h"
#include "remote/tls.h"
#include "remote/worker_server.h"
#include "runner/local_launcher.h"
#include "validator/worker.h"
#include "validator_fixture.h"

namespace cacheon::remote {
namespace {

using namespace validator::fixture;
using Clock = std::chrono::steady_clock;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

class RemoteWorker : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("cacheon_remote_" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    engine::MakeModelOptions mk;
    mk.seed = 0;
    mk.out_dir = (*dir_ / "m0").string();
    mk.tokenizer_json_path = CACHEON_ENGINE_QWEN_TOKENIZER;
    Status st = engine::make_model(mk);
    ASSERT_TRUE(st.ok()) << st.error().message;
    ASSERT_TRUE(generate_self_signed((*dir_ / "tls").string(), "127.0.0.1", 2).ok());
    ASSERT_TRUE(generate_self_signed((*dir_ / "other").string(), "127.0.0.1", 2).ok());
    ASSERT_TRUE(write_new_token_file((*dir_ / "token").string()).ok());
    ASSERT_TRUE(write_new_token_file((*dir_ / "wrong-token").string()).ok());
  }
  static void TearDownTestSuite() {
    if (dir_ && !std::getenv("KEEP_WORK")) fs::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override {
    work_ = *dir_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(work_);
    fs::create_directories(work_ / "worker");
    fs::create_directories(work_ / "validator");
    RoundConfig c;
    c.payment_account = "0x" + std::string(64, 'a');
    c.m0 = c.m1 = *dir_ / "m0";
    c.baseline_chunk = 4;  // slow baseline prefill: the default engine clearly wins
    c.workload = "prompts = 3\nwarmup = 1\ninput_tokens = 300\noutput_tokens = 16\n";
    c.stop_grace_s = 5;
    const std::string text = round_config_text(c);
    std::ofstream(work_ / "worker" / "validator.toml") << text;
    auto w = validator::parse_config(text, "worker.toml", (work_ / "worker").string());
    auto v = validator::parse_config(text, "validator.toml", (work_ / "validator").string());
    ASSERT_TRUE(w.ok() && v.ok());
    worker_cfg_ = *w;
    validator_cfg_ = *v;
  }
  void TearDown() override {
    server_.reset();
    worker_.reset();
    launcher_.reset();
    // Every engine this test started is gone (the baseline after finish_job or the worker's end).
    const auto until = Clock::now() + std::chrono::seconds(10);
    while (live_engines(work_) > 0 && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(live_engines(work_), 0);
  }

  // The worker in this process.
  void start_worker() {
    std::map<std::string, std::vector<std::string>> images;
    for (const auto& [k, v] : worker_cfg_.local_images) images[k] = v.argv;
    launcher_ = std::make_unique<runner::LocalProcessLauncher>(images, worker_cfg_.stop_grace);
    worker_ = std::make_unique<validator::Worker>(worker_cfg_, *launcher_, worker_progress_);
    WorkerServerOptions o;
    o.cert_file = (*dir_ / "tls" / "worker.crt").string();
    o.key_file = (*dir_ / "tls" / "worker.key").string();
    auto token = Token::load((*dir_ / "token").string());
    ASSERT_TRUE(token.ok());
    server_ = std::make_unique<WorkerServer>(o, std::move(*token), *worker_);
    worker_progress_.set_sink([this](const std::string& l) { server_->progress_line(l); });
    Status st = server_->start();
    ASSERT_TRUE(st.ok()) << st.error().message;
    url_ = fmt::format("https://127.0.0.1:{}", server_->port());
  }

  RemoteWorkerOptions options(const std::string& token = "token",
                              const std::string& ca = "tls") const {
    RemoteWorkerOptions o;
    o.urls = {url_};
    o.token_file = (*dir_ / token).string();
    o.ca_file = (*dir_ / ca / "worker.crt").string();
    o.read_idle_timeout = std::chrono::seconds(30);
    return o;
  }
  std::unique_ptr<RemoteExecutor> executor(const RemoteWorkerOptions& o) {
    auto ex = RemoteExecutor::create(validator_cfg_, o, validator_progress_);
    EXPECT_TRUE(ex.ok()) << ex.error().message;
    return ex.ok() ? std::move(*ex) : nullptr;
  }

  static store::Participant fast() {
    store::Participant p;
    p.position = 0;
    p.key = {"5FastMinerHotkey", 42};
    p.role = store::Role::challenger;
    p.image = "ghcr.io/miner/fast";
    p.digest = digest('1');
    return p;
  }
  static validator::EvalJob job() {
    return {7, 100, "0x" + std::string(64, 'b'), {fast()}};
  }

  static fs::path* dir_;
  fs::path work_;
  validator::ValidatorConfig worker_cfg_, validator_cfg_;
  harness::Progress worker_progress_{false, true}, validator_progress_{false, true};
  std::unique_ptr<runner::LocalProcessLauncher> launcher_;
  std::unique_ptr<validator::Worker> worker_;
  std::unique_ptr<WorkerServer> server_;
  std::string url_;
};
fs::path* RemoteWorker::dir_ = nullptr;

void expect_arena(const store::EvalResult& r, std::string_view code) {
  EXPECT_EQ(r.reason_code, code) << r.message;
  EXPECT_EQ(r.blame, "arena");
  EXPECT_FALSE(r.decided);
  EXPECT_FALSE(r.passed);
}

TEST_F(RemoteWorker, EvaluatesOverTlsAndABusyWorkerIsWaitedForOrRefused) {
  start_worker();
  auto ex = executor(options());
  auto impatient = options();
  impatient.eval_timeout = std::chrono::milliseconds(1);  // no time to wait for a free worker
  auto other = executor(impatient);
  auto waiter = executor(options());  // waits for the worker, then runs its evaluation
  ASSERT_TRUE(ex && other && waiter);
  std::optional<store::EvalResult> waited;
  std::thread waiting;
  std::vector<std::string> progress;
  validator_progress_.set_sink([&](const std::string& l) { progress.push_back(l); });
  store::EvalResult busy;
  int launched = 0;
  store::EvalResult r = ex->evaluate(job(), fast(), 1, [&] {
    ++launched;
    EXPECT_TRUE(server_->stats().busy);
    busy = other->evaluate(job(), fast(), 2);  // mid-evaluation: /v1/health says busy
    waiting = std::thread([&] { waited = waiter->evaluate(job(), fast(), 4); });
    // A request that gets past the health check is answered 409.
    auto tls = make_client_tls((*dir_ / "tls" / "worker.crt").string());
    auto token = Token::load((*dir_ / "token").string());
    const std::string body = evaluate_body({job(), fast(), 3});
    const RequestAuth a = sign_request(*token, "POST", kEvaluatePath, body, unix_now());
    auto res = https_fetch(**tls, *WorkerUrl::parse(url_),
                           {"POST", std::string(kEvaluatePath),
                            {{std::string(kNonceHeader), a.nonce},
                             {std::string(kTimeHeader), std::to_string(a.time)},
                             {std::string(kAuthHeader), a.hmac}},
                            body},
                           {});
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->first, 409);
  });
  EXPECT_EQ(launched, 1);
  expect_arena(busy, reason::kWorkerBusy);
  waiting.join();
  ASSERT_TRUE(waited.has_value());
  EXPECT_TRUE(waited->passed) << "the waiting executor: " << waited->reason_code << ": "
                              << waited->message;

  EXPECT_TRUE(r.decided) << r.reason_code << ": " << r.message;
  EXPECT_TRUE(r.passed) << r.reason_code << ": " << r.message;
  EXPECT_EQ(r.blame, "none");
  EXPECT_EQ(r.prompts.size(), 3u);
  // The files are the validator's own, named like the in-process worker names them.
  const std::string stem =
      validator::eval_files_stem(validator_cfg_, 7, fast(), 1);
  EXPECT_EQ(r.report_path, stem + ".json");
  EXPECT_EQ(r.logs_path, stem + ".log");
  EXPECT_EQ(r.report_path.rfind((work_ / "validator").string(), 0), 0u) << r.report_path;
  auto report = nlohmann::json::parse(slurp(r.report_path), nullptr, false);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["arena"]["worker"], url_);
  EXPECT_EQ(report["arena"]["logs"], r.logs_path);
  EXPECT_EQ(report["arena"]["hotkey"], "5FastMinerHotkey");
  EXPECT_NE(slurp(r.logs_path).find("listening on"), std::string::npos);
  // The worker's own copies exist too, under its logs_dir.
  EXPECT_TRUE(fs::exists(validator::eval_files_stem(worker_cfg_, 7, fast(), 1) + ".json"));
  // The worker's harness progress reached the validator.
  bool saw_worker_line = false;
  for (const auto& l : progress) saw_worker_line |= l.find("[" + url_ + "]") != std::string::npos;
  EXPECT_TRUE(saw_worker_line);

  WorkerStats s = server_->stats();
  EXPECT_EQ(s.evaluations_started, 2);  // the first, then the waiter's once the worker was free
  EXPECT_EQ(s.evaluations_finished, 2);
  EXPECT_EQ(s.busy_refusals, 1);
  EXPECT_FALSE(s.busy);
  ex->finish_job();  // stops the worker's baseline (checked in TearDown)
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (live_engines(work_) > 0 && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(live_engines(work_), 0) << "finish-job left the baseline running";
}

TEST_F(RemoteWorker, AWrongTokenIsRefusedAndNothingRuns) {
  start_worker();
  auto ex = executor(options("wrong-token"));
  ASSERT_TRUE(ex);
  store::EvalResult r = ex->evaluate(job(), fast(), 1, [] { ADD_FAILURE() << "launched"; });
  expect_arena(r, reason::kWorkerAuthFailed);
  EXPECT_TRUE(r.report_path.empty() && r.logs_path.empty());
  WorkerStats s = server_->stats();
  EXPECT_EQ(s.auth_failures, 1);
  EXPECT_EQ(s.evaluations_started, 0);
}

TEST_F(RemoteWorker, AWrongPinOrHostNameFailsTlsBeforeAnyRequest) {
  start_worker();
  auto pinned_other = executor(options("token", "other"));
  ASSERT_TRUE(pinned_other);
  expect_arena(pinned_other->evaluate(job(), fast(), 1), reason::kWorkerTlsFailed);
  // The right certificate, but the worker reached by a name its certificate does not carry.
  RemoteWorkerOptions by_name = options();
  by_name.urls = {fmt::format("https://localhost:{}", server_->port())};
  auto ex = executor(by_name);
  ASSERT_TRUE(ex);
  store::EvalResult r = ex->evaluate(job(), fast(), 1);
  expect_arena(r, reason::kWorkerTlsFailed);
  EXPECT_NE(r.message.find("localhost"), std::string::npos) << r.message;
  WorkerStats s = server_->stats();
  EXPECT_EQ(s.requests, 0);  // not even /v1/health was read
  EXPECT_GE(s.tls_failures, 2);
  EXPECT_EQ(s.evaluations_started, 0);
}

TEST_F(RemoteWorker, ReplaysForgeriesAndOversizedBodiesAreRefused) {
  start_worker();
  auto tls = make_client_tls((*dir_ / "tls" / "worker.crt").string());
  ASSERT_TRUE(tls.ok());
  auto url = WorkerUrl::parse(url_);
  ASSERT_TRUE(url.ok());
  auto token = Token::load((*dir_ / "token").string());
  ASSERT_TRUE(token.ok());
  auto signed_req = [&](std::string target, std::string body, const RequestAuth& a) {
    return HttpsRequest{"POST", std::move(target),
                        {{std::string(kNonceHeader), a.nonce},
                         {std::string(kTimeHeader), std::to_string(a.time)},
                         {std::string(kAuthHeader), a.hmac}},
                        std::move(body)};
  };
  auto status_of = [&](const HttpsRequest& req, bool may_drop = false) {
    auto r = https_fetch(**tls, *url, req, {});
    EXPECT_TRUE(r.ok() || may_drop) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->first : -1;
  };
  auto health = https_fetch(**tls, *url, {"GET", "/v1/health", {}, {}}, {});
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->first, 200);
  EXPECT_NE(health->second.find("\"ok\":true"), std::string::npos);

  const RequestAuth a = sign_request(*token, "POST", kFinishJobPath, "", unix_now());
  EXPECT_EQ(status_of(signed_req(std::string(kFinishJobPath), "", a)), 200);
  EXPECT_EQ(status_of(signed_req(std::string(kFinishJobPath), "", a)), 401);  // replayed

  const std::string body = evaluate_body({job(), fast(), 1});
  // Unsigned; signed for another body; signed for another path; an old signature.
  EXPECT_EQ(status_of({"POST", std::string(kEvaluatePath), {}, body}), 401);
  const RequestAuth other_body = sign_request(*token, "POST", kEvaluatePath, body + " ", unix_now());
  EXPECT_EQ(status_of(signed_req(std::string(kEvaluatePath), body, other_body)), 401);
  const RequestAuth other_path = sign_request(*token, "POST", kFinishJobPath, body, unix_now());
  EXPECT_EQ(status_of(signed_req(std::string(kEvaluatePath), body, other_path)), 401);
  const RequestAuth old = sign_request(*token, "POST", kEvaluatePath, body, unix_now() - 3600);
  EXPECT_EQ(status_of(signed_req(std::string(kEvaluatePath), body, old)), 401);
  // Bounded before any check: a 2 MiB body is answered 413 and the connection closed (the client
  // may still be sending and see a reset instead).
  const std::string big(2 << 20, 'x');
  const RequestAuth b = sign_request(*token, "POST", kEvaluatePath, big, unix_now());
  const int big_status = status_of(signed_req(std::string(kEvaluatePath), big, b), true);
  EXPECT_TRUE(big_status == 413 || big_status == -1) << big_status;
  EXPECT_EQ(status_of({"GET", "/v1/nothing", {}, {}}), 404);
  // Signed, but not a valid evaluation request.
  const RequestAuth junk = sign_request(*token, "POST", kEvaluatePath, "{\"job\":1}", unix_now());
  EXPECT_EQ(status_of(signed_req(std::string(kEvaluatePath), "{\"job\":1}", junk)), 400);
  EXPECT_EQ(server_->stats().evaluations_started, 0);
}

// The real `cacheon worker` binary, killed with SIGKILL once the candidate's server is up.
TEST_F(RemoteWorker, AWorkerKilledMidEvaluationIsAnArenaFailureAndLeavesNothing) {
  const fs::path log = work_ / "worker.out";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2);
    const std::string cfg = (work_ / "worker" / "validator.toml").string();
    const std::string tok = (*dir_ / "token").string();
    const std::string crt = (*dir_ / "tls" / "worker.crt").string();
    const std::string key = (*dir_ / "tls" / "worker.key").string();
    ::execl(kCacheon.c_str(), kCacheon.c_str(), "worker", "--listen", "127.0.0.1:0",
            "--token-file", tok.c_str(), "--cert", crt.c_str(), "--key", key.c_str(), "--config",
            cfg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  const auto until = Clock::now() + std::chrono::seconds(20);
  std::string out;
  while (Clock::now() < until) {
    out = slurp(log);
    if (out.find("listening on https://") != std::string::npos &&
        out.find('\n', out.find("listening on https://")) != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const size_t at = out.find("listening on ");
  if (at == std::string::npos) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    FAIL() << "the worker did not start:\n" << out;
  }
  url_ = out.substr(at + 13, out.find(' ', at + 13) - (at + 13));
  auto ex = executor(options());
  ASSERT_TRUE(ex);
  store::EvalResult r = ex->evaluate(job(), fast(), 1, [&] { ::kill(pid, SIGKILL); });
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  expect_arena(r, reason::kWorkerLost);
  EXPECT_TRUE(r.report_path.empty());
  EXPECT_NE(slurp(log).find("worker: evaluating 5FastMinerHotkey@42 for round 7"),
            std::string::npos);
  // TearDown: the engines it started died with it.
}

// An executor that holds the evaluation until released (the worker's deadline and heartbeats
// without waiting minutes for a real one).
class HeldExecutor final : public validator::EvalExecutor {
 public:
  store::EvalResult evaluate(const validator::EvalJob&, const store::Participant&, int,
                             const std::function<void()>& on_launched) override {
    if (on_launched) on_launched();
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return released_; });
    store::EvalResult r;
    r.decided = true;
    r.reason_code = "ok";
    r.blame = "none";
    return r;
  }
  void finish_job() override {}
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

TEST_F(RemoteWorker, HeartbeatsKeepASilentEvaluationAliveUntilTheWorkersDeadline) {
  HeldExecutor held;
  WorkerServerOptions o;
  o.cert_file = (*dir_ / "tls" / "worker.crt").string();
  o.key_file = (*dir_ / "tls" / "worker.key").string();
  o.eval_deadline = std::chrono::milliseconds(1500);
  o.heartbeat = std::chrono::milliseconds(100);
  std::atomic<int> deadlines{0};
  o.on_deadline = [&] { ++deadlines; };
  auto token = Token::load((*dir_ / "token").string());
  ASSERT_TRUE(token.ok());
  server_ = std::make_unique<WorkerServer>(o, std::move(*token), held);
  ASSERT_TRUE(server_->start().ok());
  url_ = fmt::format("https://127.0.0.1:{}", server_->port());
  RemoteWorkerOptions opts = options();
  opts.read_idle_timeout = std::chrono::milliseconds(500);  // < the deadline: heartbeats matter
  auto ex = executor(opts);
  ASSERT_TRUE(ex);
  const auto t0 = Clock::now();
  store::EvalResult r = ex->evaluate(job(), fast(), 1);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(1400));
  expect_arena(r, reason::kWorkerDeadline);  // proven by the worker: not worker_lost
  EXPECT_EQ(deadlines.load(), 1);
  EXPECT_TRUE(server_->stats().busy);  // the evaluation itself cannot be interrupted
  held.release();
  const auto until = Clock::now() + std::chrono::seconds(5);
  while (server_->stats().busy && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(server_->stats().busy);
  server_.reset();
}

}  // namespace
}  // namespace cacheon::remote

namespace cacheon::remote {
namespace {

// A TCP connection to 127.0.0.1:port from `source` (another loopback address is another peer).
int connect_from(const char* source, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &src.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True when the server closed the connection within `ms` (EOF), false if it is still open.
bool closed_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return false;
  char c;
  return ::recv(fd, &c, 1, 0) == 0;
}

TEST_F(RemoteWorker, OnePeerCannotTakeEverySlot) {
  start_worker();
  const uint16_t port = server_->port();
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(connect_from("127.0.0.1", port));  // the limit
  for (int fd : idle) ASSERT_GE(fd, 0);
  int fifth = connect_from("127.0.0.1", port);
  ASSERT_GE(fifth, 0);
  EXPECT_TRUE(closed_within(fifth, 2000)) << "a fifth idle connection from one peer was kept";
  int other = connect_from("127.0.0.2", port);
  ASSERT_GE(other, 0);
  EXPECT_FALSE(closed_within(other, 300)) << "another peer was refused";
  for (int fd : idle) ::close(fd);
  ::close(fifth);
  ::close(other);
}

}  // namespace
}  // namespace cacheon::remote

// kill -9 anywhere in a round, then restart: the same final state as a run that was never killed.
//
// One initial state (an embedded ledger in instant mode with six commitments: "fast" = the
// default engine, "medium" = a small prefill chunk, "wrong" = another weight seed, a copy of
// "fast" by another hotkey, a fee paid with the wrong remark, a commitment that is not JSON; the
// validator's wallet; the config) is run once by the real `cacheon validator --once` binary with
// real cacheon-engine servers: the reference. Then each trial copies the initial state, kills the
// binary with SIGKILL one to three times (at a named crash point, CACHEON_CRASH_AT, cycling
// through every point of crash_points.h at seeded pass counts, or at a seeded random time by
// kill -9 of its process group), restarts it until a pass completes, runs one more pass, and
// compares with the reference everything that does not depend on measured timings.
//
// CACHEON_CRASH_SEED (default 20250604) and CACHEON_CRASH_TRIALS (default 50) change the plan;
// the seed is printed. Timing noise: scores are measured, so only identities and reason codes
// are compared. With 128 prompt tokens and 4 output tokens, "fast" (one prefill step) takes ~5
// engine steps, "medium" (prefill chunk 12) ~15 and the baseline (chunk 4) ~36: scores ~0.85 and
// ~0.55, so neither the leader/runner-up order nor the runner-up's positive score (its place and
// the 80/20 split) hinges on timing noise. The summary line prints the smallest margins seen.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/model/synthetic.h"
#include "ledger/wallet.h"
#include "validator/crash_points.h"
#include "validator_fixture.h"

namespace cacheon::validator {
namespace {

using namespace fixture;
using Clock = std::chrono::steady_clock;

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

// How often the first pass from the initial state passes each point: one scan step, five
// payment verdicts (the JSON-less commitment is rejected by the scan), one duplicate and three
// queued, three evaluations, one weights call. A named first kill at n <= these must fire.
const std::map<std::string, int, std::less<>> kHits = {
    {"scan.recorded", 1},    {"payment.decided", 5},   {"intake.marked", 4},
    {"round.planned", 1},    {"round.running", 1},     {"eval.claimed", 3},
    {"eval.launched", 3},    {"eval.finished", 3},     {"eval.recorded", 3},
    {"round.scored", 1},     {"weights.intent", 1},    {"weights.submitted", 1},
    {"weights.recorded", 1}, {"round.weights_set", 1}, {"status.published", 1},
    {"round.done", 1}};

// The Qwen tokenizer cut to its first 8000 merges (ids < 8256 plus the special tokens). The
// engine masks the ids its tokenizer cannot decode, so generation stays well defined, and a
// server loads in ~0.15 s instead of 1-2 s: what makes 50+ rounds affordable. Every prompt
// template then takes at most 112 tokens with an empty passage, under input_tokens = 128.
void write_small_tokenizer(const fs::path& out) {
  constexpr int kMerges = 8000;
  std::ifstream in(CACHEON_ENGINE_QWEN_TOKENIZER);
  nlohmann::json t = nlohmann::json::parse(in);
  nlohmann::json& model = t["model"];
  nlohmann::json vocab = nlohmann::json::object();
  for (const auto& [text, id] : model["vocab"].items())
    if (id.get<int64_t>() < 256 + kMerges) vocab[text] = id;
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& m : model["merges"]) {
    if (merges.size() == kMerges) break;
    std::string a, b;
    if (m.is_array()) {
      a = m[0].get<std::string>(), b = m[1].get<std::string>();
    } else {
      std::string s = m.get<std::string>();
      a = s.substr(0, s.find(' ')), b = s.substr(s.find(' ') + 1);
    }
    if (vocab.contains(a) && vocab.contains(b) && vocab.contains(a + b)) merges.push_back(m);
  }
  model["vocab"] = std::move(vocab);
  model["merges"] = std::move(merges);
  std::ofstream(out) << t.dump();
}

// A kill: at a named crash point ("point:n"), or after `after_ms` of the process's life.
struct Kill {
  std::string crash_at;
  int64_t after_ms = -1;
  std::string text() const {
    return crash_at.empty() ? fmt::format("kill -9 after {} ms", after_ms) : "at " + crash_at;
  }
};

struct CliRun {
  bool killed = false;
  int exit_code = 0;
  int64_t ms = 0;
};

// `cacheon validator --once` in its own process group (its servers make their own groups and die
// through PR_SET_PDEATHSIG, which is what is being tested).
CliRun run_validator(const fs::path& work, const Kill& kill) {
  const auto t0 = Clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    if (kill.crash_at.empty())
      ::unsetenv("CACHEON_CRASH_AT");
    else
      ::setenv("CACHEON_CRASH_AT", kill.crash_at.c_str(), 1);
    int fd = ::open((work / "cli.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2);
    const std::string cfg = (work / "validator.toml").string();
    ::execl(kCacheon.c_str(), kCacheon.c_str(), "validator", "--config", cfg.c_str(), "--once",
            "--quiet", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // races the child's own call; either way the group exists before exec
  int status = 0;
  bool reaped = false;
  if (kill.after_ms >= 0) {
    const auto deadline = t0 + std::chrono::milliseconds(kill.after_ms);
    while (!reaped) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        reaped = true;
      } else if (Clock::now() >= deadline) {
        ::kill(-pid, SIGKILL);  // not reaped yet: the pid is still ours
        break;
      } else {
        ::usleep(1000);
      }
    }
  }
  while (!reaped && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  CliRun r;
  r.ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  r.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// Waits up to 5 s for the servers to die with their validator. If some do not, they are killed
// here (they are this test's own grandchildren) so that a failure leaves nothing running.
bool engines_gone(const fs::path& work) {
  for (int i = 0; i < 100; ++i) {
    if (live_engines(work) == 0) return true;
    ::usleep(50'000);
  }
  const std::string models = work.parent_path().string();
  for (const auto& p : fs::directory_iterator("/proc")) {
    std::ifstream f(p.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const pid_t pid = static_cast<pid_t>(std::atoi(p.path().filename().c_str()));
    if (pid > 0 && cmd.find(kEngine) == 0 && cmd.find(models) != std::string::npos)
      ::kill(pid, SIGKILL);
  }
  return false;
}

std::string log_tail(const fs::path& work) {
  std::ifstream f(work / "cli.log");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return s.size() > 2000 ? "..." + s.substr(s.size() - 2000) : s;
}

class ValidatorCrash : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("cacheon_validator_crash_" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    write_small_tokenizer(*dir_ / "tokenizer.json");
    for (uint64_t seed : {0, 1}) {
      engine::MakeModelOptions mk;
      mk.seed = seed;
      mk.out_dir = (*dir_ / fmt::format("m{}", seed)).string();
      mk.tokenizer_json_path = (*dir_ / "tokenizer.json").string();
      Status st = engine::make_model(mk);
      ASSERT_TRUE(st.ok()) << st.error().message;
    }
    prepare_initial_state(*dir_ / "initial");
  }
  static void TearDownTestSuite() {
    if (dir_ && !std::getenv("KEEP_WORK") && !::testing::UnitTest::GetInstance()->Failed())
      fs::remove_all(*dir_);
    delete dir_;
  }

  static std::string config_text() {
    RoundConfig c;
    c.payment_account = key(3).address();
    c.m0 = *dir_ / "m0";
    c.m1 = *dir_ / "m1";
    c.baseline_chunk = 4;
    c.medium_chunk = 12;
    c.workload = "prompts = 2\nwarmup = 0\ninput_tokens = 128\noutput_tokens = 4\n"
                 "ignore_eos = true\nsequence = \"B,C\"\n";
    c.stop_grace_s = 2;
    return round_config_text(c);
  }

  static void prepare_initial_state(const fs::path& at) {
    fs::create_directories(at);
    ledger::ChainConfig chain;
    chain.mode = ledger::BlockMode::kInstant;
    chain.subnets = {ledger::SubnetConfig{kNetuid, 64, 4096, 1, 0}};
    auto l = ledger::LocalLedger::create((at / "ledger.db").string(), chain);
    ASSERT_TRUE(l.ok()) << l.error().message;
    ASSERT_TRUE((*l)->fund(key(1).address(), 10 * ledger::kRaoPerTao).ok());
    ASSERT_TRUE((*l)->register_hotkey(key(1), key(2), kNetuid).ok());  // the validator: UID 0
    const Keypair arena = key(3);
    submit_miner(**l, arena, 10, "ghcr.io/miner/fast", digest('1'));
    submit_miner(**l, arena, 11, "ghcr.io/miner/medium", digest('2'));
    submit_miner(**l, arena, 12, "ghcr.io/miner/wrong", digest('3'));
    submit_miner(**l, arena, 13, "ghcr.io/copycat/fast", digest('1'));
    submit_miner(**l, arena, 14, "ghcr.io/miner/fast", digest('4'), std::string("cacheon:x"));
    submit_miner(**l, arena, 15, "", "", std::nullopt, "not json");
    l->reset();  // closed: the file is complete on its own before it is copied
    std::array<uint8_t, 32> seed{};
    seed.fill(2);
    ASSERT_TRUE(ledger::create_hotkey((at / "wallets").string(), "validator", "default",
                                      {false, seed})
                    .ok());
    std::ofstream(at / "validator.toml") << config_text();
  }

  static fs::path fresh_copy(const std::string& name) {
    const fs::path work = *dir_ / name;  // directly under dir_: live_engines() looks there
    fs::remove_all(work);
    fs::copy(*dir_ / "initial", work, fs::copy_options::recursive);
    return work;
  }

  static fs::path* dir_;
};
fs::path* ValidatorCrash::dir_ = nullptr;

std::string miner(uint8_t seed) { return key(static_cast<uint8_t>(seed + 100)).address(); }

TEST_F(ValidatorCrash, FiftySeededKillsReachTheReferenceStandings) {
  // Every named point has a pass count, so a new point cannot be left out of the rotation.
  std::vector<std::string> points;
  for (std::string_view p : CrashPoints::names()) {
    ASSERT_TRUE(kHits.count(p)) << "no pass count for crash point " << p;
    points.emplace_back(p);
  }
  const uint64_t seed = env_u64("CACHEON_CRASH_SEED", 20250604);
  const int trials = static_cast<int>(env_u64("CACHEON_CRASH_TRIALS", 50));
  std::printf("[ crash    ] seed %llu, %d trials (CACHEON_CRASH_SEED, CACHEON_CRASH_TRIALS)\n",
              static_cast<unsigned long long>(seed), trials);
  const auto t_start = Clock::now();

  // The reference: a round never interrupted, then one more pass that must change nothing.
  const fs::path ref_dir = fresh_copy("reference");
  CliRun first = run_validator(ref_dir, {});
  ASSERT_EQ(first.exit_code, 0) << log_tail(ref_dir);
  ASSERT_EQ(run_validator(ref_dir, {}).exit_code, 0) << log_tail(ref_dir);
  const int64_t round_ms = first.ms;
  Outcome ref = read_outcome(ref_dir, key(2).address());
  ASSERT_FALSE(::testing::Test::HasFailure()) << log_tail(ref_dir);
  // The story the trials must reproduce.
  const std::string fast = miner(10), medium = miner(11), wrong = miner(12);
  EXPECT_EQ(ref.leader.substr(0, fast.size()), fast) << "leader: " << ref.leader;
  EXPECT_EQ(ref.runner_up.substr(0, medium.size()), medium) << "runner-up: " << ref.runner_up;
  ASSERT_EQ(ref.evaluations.size(), 3u);
  EXPECT_NE(ref.evaluations[2].find(wrong), std::string::npos);
  EXPECT_NE(ref.evaluations[2].find("correctness_first_mismatch"), std::string::npos);
  auto state_of = [&](uint8_t who) {
    for (const auto& [k, v] : ref.submissions)
      if (k.rfind(miner(who) + "@", 0) == 0) return v;
    return std::string("missing");
  };
  for (uint8_t s : {10, 11, 12}) EXPECT_EQ(state_of(s), "evaluated ");
  EXPECT_EQ(state_of(13), "duplicate duplicate");
  EXPECT_EQ(state_of(14), "rejected payment_wrong_remark");
  EXPECT_EQ(state_of(15), "rejected commitment_bad_json");
  ASSERT_EQ(ref.ledger_weights.size(), 1u);
  std::printf("[ crash    ] reference round: %lld ms; scores %.3f / %.3f; weights %s\n",
              static_cast<long long>(round_ms), ref.leader_score, ref.runner_up_score,
              ref.ledger_weights[0].c_str());
  ASSERT_FALSE(HasFailure()) << "the reference run itself is off; see " << ref_dir;

  // mt19937_64's output is fixed by the standard (distributions are not: plain modulo here).
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return static_cast<int64_t>(rng() % n); };
  auto named = [&](const std::string& p) {
    return Kill{fmt::format("{}:{}", p, 1 + pick(kHits.find(p)->second)), -1};
  };
  auto timed = [&] { return Kill{"", pick(static_cast<uint64_t>(round_ms))}; };
  int landed = 0, timed_landed = 0, attempts = 0;
  double min_gap = ref.leader_score - ref.runner_up_score, min_runner_up = ref.runner_up_score;
  std::map<std::string, int> by_point;
  for (int i = 0; i < trials && !HasFailure(); ++i) {
    // Twice through every named point first, then random times; a quarter get more kills.
    std::vector<Kill> plan = {i < 2 * static_cast<int>(points.size())
                                  ? named(points[static_cast<size_t>(i) % points.size()])
                                  : timed()};
    for (int extra = pick(8) < 2 ? 1 + pick(2) : 0; extra > 0; --extra)
      plan.push_back(pick(2) ? named(points[static_cast<size_t>(pick(points.size()))])
                             : timed());
    std::string story;
    for (const auto& k : plan) story += (story.empty() ? "" : ", ") + k.text();
    SCOPED_TRACE(fmt::format("trial {} (seed {}): {}", i, seed, story));
    const fs::path work = fresh_copy(fmt::format("trial-{:02d}", i));
    const auto t_trial = Clock::now();
    int kills = 0;
    for (size_t k = 0; k < plan.size(); ++k) {
      CliRun r = run_validator(work, plan[k]);
      if (k == 0 && !plan[k].crash_at.empty()) {
        ASSERT_TRUE(r.killed) << "the crash point did not fire (exit " << r.exit_code << ")\n"
                              << log_tail(work);
      }
      if (!r.killed) {
        ASSERT_EQ(r.exit_code, 0) << log_tail(work);
        break;  // the pass completed: later kills are moot
      }
      ++landed, ++kills;
      if (plan[k].crash_at.empty())
        ++timed_landed;
      else
        ++by_point[plan[k].crash_at.substr(0, plan[k].crash_at.find(':'))];
      ASSERT_TRUE(engines_gone(work)) << "a server outlived the killed validator";
    }
    // Restart until a pass completes (the first clean one must), then a pass that changes nothing.
    for (int pass = 0; pass < 2; ++pass) {
      CliRun r = run_validator(work, {});
      ASSERT_EQ(r.exit_code, 0) << "clean pass " << pass << "\n" << log_tail(work);
    }
    ASSERT_TRUE(engines_gone(work));
    std::printf("[ crash    ] trial %02d: %s: %d kill(s) landed, %.1f s\n", i, story.c_str(), kills,
                std::chrono::duration<double>(Clock::now() - t_trial).count());
    Outcome got = read_outcome(work, key(2).address());
    expect_same(ref, got);
    attempts += got.attempts;
    min_gap = std::min(min_gap, got.leader_score - got.runner_up_score);
    min_runner_up = std::min(min_runner_up, got.runner_up_score);
    if (!HasFailure()) fs::remove_all(work);
  }
  const double total_s =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_start).count() / 1e3;
  std::string points_hit;
  for (const auto& [p, n] : by_point) points_hit += fmt::format(" {}x{}", p, n);
  std::printf("[ crash    ] %d kills landed (%d at random times; named:%s); %d evaluation "
              "attempts for %d trials x 3 evaluations; smallest leader - runner-up score gap "
              "%.3f, smallest runner-up score %.3f; %.1f s in all\n",
              landed, timed_landed, points_hit.c_str(), attempts, trials, min_gap, min_runner_up,
              total_s);
  if (HasFailure()) return;  // the failing trial said it all
  EXPECT_GE(landed, trials) << "fewer kills than trials landed";
  if (trials >= static_cast<int>(points.size())) {
    EXPECT_EQ(by_point.size(), points.size()) << "some named points never fired";
  }
}

}  // namespace
}  // namespace cacheon::validator

// Crash safety of the store on real files: a child process drives a whole round through the
// store (intake, round, evaluations, standings, weights) and is SIGKILLed at a random moment
// (seeded); the parent reopens the file (recovery), checks the invariants, resumes with the same
// idempotent driver and must reach exactly the state of an uninterrupted run: nothing lost,
// nothing recorded twice.
#include <algorithm>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>

#include "core/clock.h"
#include "store/arena_store.h"

namespace cacheon::store {
namespace {

namespace fs = std::filesystem;
constexpr int kMiners = 4;
constexpr int kPrompts = 4;

#define OK_OR_DIE(expr)                       \
  do {                                        \
    if (!(expr).ok()) {                       \
      std::fprintf(stderr, "%s failed\n", #expr); \
      std::abort();                           \
    }                                         \
  } while (0)

// By value: a range-for over `*result_temporary` would dangle.
template <class T>
T val(Result<T> r) {
  return std::move(r.value());
}

std::string hotkey(int i) { return "0xminer" + std::to_string(i); }

// Advances the store from any state to the end of one round, as the validator would: every
// step is conditional on the state it finds.
void drive(ArenaStore& s) {
  if (*s.scan_cursor() < 10) {
    std::vector<SubmissionRow> rows;
    for (int i = 0; i < kMiners; ++i) {
      SubmissionRow r;
      r.sub = {hotkey(i), i + 1, "img" + std::to_string(i), "sha256:d" + std::to_string(i),
               "0xproof" + std::to_string(i)};
      r.seen_block = 10;
      rows.push_back(r);
    }
    OK_OR_DIE(s.record_scan(rows, 10));
  }
  for (const auto& r : val(s.all_submissions())) {
    if (r.state == SubmissionState::seen) OK_OR_DIE(s.accept_payment(r.key()));
  }
  for (const auto& r : val(s.submissions({SubmissionState::payment_ok})))
    OK_OR_DIE(s.transition(r.key(), {SubmissionState::payment_ok}, SubmissionState::queued));
  if (s.rounds()->empty()) {
    std::vector<Participant> parts;
    for (const auto& r : val(s.submissions({SubmissionState::queued})))
      parts.push_back({static_cast<int>(parts.size()), r.key(), Role::challenger, r.sub.image,
                       r.sub.digest});
    OK_OR_DIE(s.plan_round(11, "0xhash", parts));
  }
  auto round = *s.open_round();
  if (!round) return;
  const int64_t id = round->id;
  if (round->state == RoundState::planned)
    OK_OR_DIE(s.set_round_state(id, RoundState::planned, RoundState::running));
  if ((*s.round(id))->state == RoundState::running) {
    for (const auto& e : val(s.evaluations(id))) {
      if (e.state != EvalState::pending) continue;
      ASSERT_TRUE(*s.claim_evaluation(id, e.participant.key));
      EvalResult r;
      r.decided = r.passed = true;
      r.score = 0.1 * (e.participant.position + 1);
      r.reason_code = "ok";
      r.blame = "none";
      for (int p = 0; p < kPrompts; ++p)
        r.prompts.push_back({p, 16, 16, 100.0, 90.0, 5.0, 0.1, true, ""});
      OK_OR_DIE(s.record_evaluation(id, e.participant.key, r));
    }
    StandingsRow st;
    st.block = 11;
    st.leader = StandingEntry{{hotkey(kMiners - 1), kMiners}, 3, 0.4, 11};
    st.runner_up = StandingEntry{{hotkey(kMiners - 2), kMiners - 1}, 2, 0.3, 11};
    OK_OR_DIE(s.record_standings(id, st));
  }
  if ((*s.round(id))->state == RoundState::scored) {
    if (auto p = *s.pending_weights()) OK_OR_DIE(s.finish_weights(p->id, WeightsState::failed, {}));
    auto w = s.begin_weights(id, 12, {{2, 13107}, {3, 52428}}, "first");
    OK_OR_DIE(w);
    OK_OR_DIE(s.finish_weights(*w, WeightsState::set, 13));
    OK_OR_DIE(s.set_round_state(id, RoundState::scored, RoundState::weights_set));
  }
  if ((*s.round(id))->state == RoundState::weights_set)
    OK_OR_DIE(s.set_round_state(id, RoundState::weights_set, RoundState::done));
}

// Everything that must not depend on where the crash happened.
std::string snapshot(ArenaStore& s) {
  std::string out;
  for (const auto& r : val(s.all_submissions()))
    out += r.sub.hotkey + ":" + std::string(to_string(r.state)) + ";";
  for (const auto& r : val(s.rounds())) {
    out += "round" + std::to_string(r.id) + ":" + std::string(to_string(r.state)) + ";";
    for (const auto& e : val(s.evaluations(r.id))) {
      out += e.participant.key.hotkey + "=" + std::string(to_string(e.state));
      if (e.result)
        out += "/" + std::to_string(e.result->score) + "/" +
               std::to_string(e.result->prompts.size());
      out += ";";
    }
  }
  out += "standings:" + std::to_string(s.standings_history(100)->size()) + ";";
  out += "proofs:" + std::to_string(s.used_proofs()->size()) + ";";
  auto set = *s.last_weights_set();
  out += "weights:" + (set ? std::to_string(*set->set_block) : std::string("none"));
  return out;
}

// Invariants right after recovery, before resuming.
void check_invariants(ArenaStore& s) {
  for (const auto& r : val(s.rounds())) {
    for (const auto& e : val(s.evaluations(r.id))) {
      EXPECT_NE(e.state, EvalState::running) << "recovery leaves nothing running";
      EXPECT_LE(e.attempts, 1);
      if (e.state == EvalState::done) {
        ASSERT_TRUE(e.result.has_value());
        EXPECT_EQ(e.result->prompts.size(), size_t(kPrompts)) << "a result is all or nothing";
      }
    }
    const bool scored = r.state != RoundState::planned && r.state != RoundState::running;
    EXPECT_EQ(s.standings_history(100)->size(), scored ? 1u : 0u);
  }
  EXPECT_LE(s.standings_history(100)->size(), 1u);
}

TEST(StoreCrash, RandomKillsThenResumeReachTheSameState) {
  const fs::path dir = fs::temp_directory_path() / ("cacheon_store_crash_" +
                                                    std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string reference;
  int64_t full_us = 0;
  {
    auto s = ArenaStore::open((dir / "ref.db").string());
    ASSERT_TRUE(s.ok());
    const int64_t t0 = mono_ns();
    drive(*s);
    full_us = (mono_ns() - t0) / 1000;
    reference = snapshot(*s);
  }
  ASSERT_NE(reference.find("round1:done"), std::string::npos) << reference;
  std::mt19937_64 rng(20240601);
  int interrupted = 0;
  // Kill times are drawn over a window that starts at the reference run's length and halves
  // after every child that finished first: the reference can run much slower than the children
  // (a loaded machine, cold file system), and a test that never interrupts proves nothing.
  int64_t window_us = static_cast<int64_t>(full_us * 1.5) + 1;
  int trials = 0;
  for (int i = 0; i < 40 && (i < 10 || interrupted < 3); ++i, ++trials) {
    const std::string path = (dir / ("run" + std::to_string(i) + ".db")).string();
    { ASSERT_TRUE(ArenaStore::open(path).ok()); }  // the schema exists before the race starts
    const int64_t kill_after_us = static_cast<int64_t>(rng() % uint64_t(window_us));
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto s = ArenaStore::open(path);
      if (!s.ok()) ::_exit(2);
      drive(*s);
      ::_exit(0);
    }
    ::usleep(static_cast<useconds_t>(kill_after_us));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
      ++interrupted;
    else
      window_us = std::max<int64_t>(window_us / 2, 200);
    auto s = ArenaStore::open(path);  // recovers
    ASSERT_TRUE(s.ok()) << s.error().message;
    check_invariants(*s);
    drive(*s);
    EXPECT_EQ(snapshot(*s), reference) << "run " << i << " killed after " << kill_after_us
                                       << " us";
  }
  EXPECT_GE(interrupted, 3) << "only " << interrupted << " of " << trials
                            << " runs were actually interrupted";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cacheon::store

// ArenaStore on real SQLite files: migrations, intake transitions, rounds and evaluations
// recorded exactly once, recovery of a crashed evaluation, standings and weights intents.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "store/arena_store.h"

namespace cacheon::store {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cacheon_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path() const { return (dir_ / "arena.db").string(); }
  ArenaStore open() {
    auto s = ArenaStore::open(path());
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return std::move(s.value());
  }
  fs::path dir_;
};

SubmissionRow seen(std::string hotkey, BlockNumber block, std::string proof = "") {
  SubmissionRow r;
  r.sub.hotkey = std::move(hotkey);
  r.sub.commit_block = block;
  r.sub.image = "ghcr.io/m/" + r.sub.hotkey;
  r.sub.digest = "sha256:" + std::string(64, 'a');
  r.sub.payment_proof = proof.empty() ? "0xproof-" + r.sub.hotkey + std::to_string(block) : proof;
  r.state = SubmissionState::seen;
  r.seen_block = block;
  return r;
}

Participant part(int pos, std::string hotkey, BlockNumber block, Role role) {
  return Participant{pos, {std::move(hotkey), block}, role, "img", "sha256:x"};
}

EvalResult result(double score, int prompts) {
  EvalResult r;
  r.decided = true;
  r.passed = true;
  r.score = score;
  r.reason_code = "ok";
  r.blame = "none";
  for (int i = 0; i < prompts; ++i)
    r.prompts.push_back(PromptRow{i, 16, 16, 10.0 + i, 9.0, std::nullopt, 0.1, true, ""});
  return r;
}

TEST_F(StoreTest, MigratesOnceAndReopens) {
  {
    ArenaStore s = open();
    EXPECT_EQ(s.schema_version(), kSchemaVersion);
    ASSERT_TRUE(s.set_meta("k", "v"));
  }
  ArenaStore s = open();  // second open: no migration re-run, data kept
  EXPECT_EQ(s.schema_version(), kSchemaVersion);
  auto v = s.meta("k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value_or(""), "v");
  auto q = s.db().prepare("SELECT count(*) FROM schema_version");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->column_int(0), kSchemaVersion);
}

TEST_F(StoreTest, RefusesAFileFromANewerBuild) {
  { open(); }
  {
    auto db = SqliteDb::open(path());
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("INSERT INTO schema_version (version) VALUES (99);"));
  }
  auto s = ArenaStore::open(path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "store_too_new");
}

TEST_F(StoreTest, ScanIsIdempotentAndMovesTheCursorAtomically) {
  ArenaStore s = open();
  EXPECT_EQ(*s.scan_cursor(), -1);
  ASSERT_TRUE(s.record_scan({seen("a", 3), seen("b", 5)}, 10));
  EXPECT_EQ(*s.scan_cursor(), 10);
  // Re-recording the same rows (a crash before the caller noticed) changes nothing.
  ASSERT_TRUE(s.transition({"a", 3}, {SubmissionState::seen}, SubmissionState::payment_ok));
  ASSERT_TRUE(s.record_scan({seen("a", 3)}, 10));
  EXPECT_EQ((*s.submission({"a", 3}))->state, SubmissionState::payment_ok);
  EXPECT_EQ(s.all_submissions()->size(), 2u);
  // The cursor never goes back.
  Status back = s.record_scan({seen("c", 4)}, 9);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code, "stale_transition");
  EXPECT_FALSE(s.submission({"c", 4})->has_value());
}

TEST_F(StoreTest, TransitionsAreConditional) {
  ArenaStore s = open();
  ASSERT_TRUE(s.record_scan({seen("a", 1)}, 1));
  ASSERT_TRUE(s.transition({"a", 1}, {SubmissionState::seen}, SubmissionState::deferred,
                           "ledger_unreachable", "later"));
  Status again = s.transition({"a", 1}, {SubmissionState::seen}, SubmissionState::rejected);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "stale_transition");
  auto row = *s.submission({"a", 1});
  EXPECT_EQ(row->state, SubmissionState::deferred);
  EXPECT_EQ(row->reason, "ledger_unreachable");
  EXPECT_FALSE(s.transition({"zz", 1}, {SubmissionState::seen}, SubmissionState::queued).ok());
}

TEST_F(StoreTest, AProofPaysForOneSubmissionOnly) {
  ArenaStore s = open();
  ASSERT_TRUE(s.record_scan({seen("a", 1, "0xp"), seen("b", 2, "0xp")}, 2));
  ASSERT_TRUE(s.accept_payment({"a", 1}));
  ASSERT_TRUE(s.accept_payment({"b", 2}));  // the transition happens: to rejected
  EXPECT_EQ((*s.submission({"a", 1}))->state, SubmissionState::payment_ok);
  auto b = *s.submission({"b", 2});
  EXPECT_EQ(b->state, SubmissionState::rejected);
  EXPECT_EQ(b->reason, "proof_reused");
  EXPECT_TRUE(*s.proof_used("0xp"));
  // Accepting twice is stale, not a second use.
  EXPECT_EQ(s.accept_payment({"a", 1}).error().code, "stale_transition");
}

TEST_F(StoreTest, AnEvaluationIsRecordedExactlyOnce) {
  ArenaStore s = open();
  auto id = s.plan_round(7, "0xhash", {part(0, "lead", 1, Role::leader),
                                       part(1, "ch", 5, Role::challenger)});
  ASSERT_TRUE(id.ok());
  auto open_r = s.open_round();
  ASSERT_TRUE(open_r.ok() && open_r->has_value());
  EXPECT_EQ((*open_r)->block_hash, "0xhash");
  EXPECT_EQ((*open_r)->state, RoundState::planned);
  // Recording before claiming is refused.
  EXPECT_EQ(s.record_evaluation(*id, {"ch", 5}, result(0.1, 2)).error().code, "stale_transition");
  EXPECT_TRUE(*s.claim_evaluation(*id, {"ch", 5}));
  EXPECT_FALSE(*s.claim_evaluation(*id, {"ch", 5}));  // already running
  ASSERT_TRUE(s.record_evaluation(*id, {"ch", 5}, result(0.1, 2)));
  EXPECT_EQ(s.record_evaluation(*id, {"ch", 5}, result(0.9, 2)).error().code, "stale_transition");
  EXPECT_FALSE(*s.claim_evaluation(*id, {"ch", 5}));  // done stays done
  auto evals = *s.evaluations(*id);
  ASSERT_EQ(evals.size(), 2u);
  EXPECT_EQ(evals[0].participant.role, Role::leader);
  EXPECT_EQ(evals[0].state, EvalState::pending);
  EXPECT_EQ(evals[1].state, EvalState::done);
  ASSERT_TRUE(evals[1].result.has_value());
  EXPECT_DOUBLE_EQ(evals[1].result->score, 0.1);
  EXPECT_EQ(evals[1].result->prompts, result(0.1, 2).prompts);
  // The same participant twice in one round is refused, and nothing of that round is written.
  auto dup = s.plan_round(8, "0xh2", {part(0, "x", 1, Role::challenger),
                                      part(1, "x", 1, Role::challenger)});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(s.rounds()->size(), 1u);
}

TEST_F(StoreTest, RecoverRerunsACrashedEvaluationFromScratch) {
  int64_t id = 0;
  {
    ArenaStore s = open();
    id = *s.plan_round(7, "0xh", {part(0, "a", 1, Role::challenger),
                                  part(1, "b", 2, Role::challenger)});
    ASSERT_TRUE(*s.claim_evaluation(id, {"a", 1}));
    ASSERT_TRUE(s.record_evaluation(id, {"a", 1}, result(0.2, 3)));
    ASSERT_TRUE(*s.claim_evaluation(id, {"b", 2}));
    // Simulate a partial write of b's prompts by a crashed process.
    ASSERT_TRUE(s.db().exec(
        "INSERT INTO prompt_results SELECT id, 99, 0, 0, NULL, NULL, NULL, 0, 1, 'partial' "
        "FROM evaluations WHERE hotkey = 'b';"));
  }
  ArenaStore s = open();  // open() runs recover()
  auto evals = *s.evaluations(id);
  EXPECT_EQ(evals[0].state, EvalState::done);
  EXPECT_EQ(evals[0].result->prompts.size(), 3u);
  EXPECT_EQ(evals[1].state, EvalState::pending);
  EXPECT_EQ(evals[1].attempts, 1);
  auto q = s.db().prepare("SELECT count(*) FROM prompt_results WHERE note = 'partial'");
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->column_int(0), 0);
  EXPECT_TRUE(*s.claim_evaluation(id, {"b", 2}));
  EXPECT_EQ((*s.evaluations(id))[1].attempts, 2);
  EXPECT_EQ(*s.recover(), 1);
}

TEST_F(StoreTest, StandingsScoreTheRoundAndRequeueArenaFailures) {
  ArenaStore s = open();
  ASSERT_TRUE(s.record_scan({seen("a", 1), seen("b", 2)}, 2));
  for (const char* h : {"a", "b"}) {
    SubmissionKey k{h, h[0] == 'a' ? 1 : 2};
    ASSERT_TRUE(s.accept_payment(k));
    ASSERT_TRUE(s.transition(k, {SubmissionState::payment_ok}, SubmissionState::queued));
  }
  auto id = *s.plan_round(3, "0xh", {part(0, "a", 1, Role::challenger),
                                     part(1, "b", 2, Role::challenger)});
  StandingsRow row;
  row.block = 3;
  row.leader = StandingEntry{{"a", 1}, 4, 0.2, 3};
  row.detail_json = R"({"events":[]})";
  // Not running yet: scoring is refused and nothing changes.
  EXPECT_FALSE(s.record_standings(id, row).ok());
  EXPECT_FALSE(s.latest_standings()->has_value());
  ASSERT_TRUE(s.set_round_state(id, RoundState::planned, RoundState::running));
  ASSERT_TRUE(s.record_standings(id, row, {{"b", 2}}).ok());
  EXPECT_EQ((*s.submission({"a", 1}))->state, SubmissionState::evaluated);
  EXPECT_EQ((*s.submission({"b", 2}))->state, SubmissionState::queued);
  EXPECT_EQ((*s.round(id))->state, RoundState::scored);
  auto latest = *s.latest_standings();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->leader->key.hotkey, "a");
  EXPECT_EQ(latest->leader->uid, 4);
  EXPECT_FALSE(latest->runner_up.has_value());
  EXPECT_EQ(latest->round_id, id);
  // One standings row per round.
  ASSERT_TRUE(s.set_round_state(id, RoundState::scored, RoundState::running));
  EXPECT_FALSE(s.record_standings(id, row).ok());
  EXPECT_EQ(s.standings_history(10)->size(), 1u);
}

TEST_F(StoreTest, OneWeightsIntentAtATime) {
  ArenaStore s = open();
  auto w = s.begin_weights(std::nullopt, 10, {{0, 13107}, {5, 52428}}, "first");
  ASSERT_TRUE(w.ok());
  auto second = s.begin_weights(std::nullopt, 11, {{0, 1}}, "changed");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "stale_transition");
  auto pending = *s.pending_weights();
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->weights, (std::vector<UidWeightRow>{{0, 13107}, {5, 52428}}));
  ASSERT_TRUE(s.finish_weights(*w, WeightsState::set, 12));
  EXPECT_FALSE(s.finish_weights(*w, WeightsState::failed, std::nullopt).ok());
  auto last = *s.last_weights_set();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->set_block, 12);
  EXPECT_EQ(last->reason, "first");
  EXPECT_FALSE(s.pending_weights()->has_value());
  EXPECT_TRUE(s.begin_weights(std::nullopt, 13, {{0, 65535}}, "tempo").ok());
}

}  // namespace
}  // namespace cacheon::store

// Standings (arena/standings.h): margin decay at block boundaries, crowning, defending, UID
// recycling, disqualification, arena blame, ties, NaN/negative scores, the runner-up.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "arena/standings.h"

namespace cacheon::arena {
namespace {

namespace code = standings_code;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ArenaMargin, DecayingAtBlockBoundaries) {
  const MarginPolicy p;  // decaying, 1%, 50,400 blocks
  const BlockNumber c = 1'000'000;
  struct Case {
    BlockNumber block;
    double margin;
  };
  const Case cases[] = {
      {c - 5, 0.01},  // before the crowning (clock skew): full margin
      {c, 0.01},
      {c + 1, 0.01 * 50'399.0 / 50'400.0},
      {c + 25'200, 0.005},
      {c + 50'399, 0.01 / 50'400.0},
      {c + 50'400, 0.0},
      {c + 50'401, 0.0},
      {c + 10'000'000, 0.0},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.block - c);
    EXPECT_DOUBLE_EQ(margin_at(p, c, k.block), k.margin);
  }
  EXPECT_EQ(margin_at(p, c, c), 0.01);          // exact at the crowning
  EXPECT_EQ(margin_at(p, c, c + 50'400), 0.0);  // exactly zero at the end
  EXPECT_GT(margin_at(p, c, c + 50'399), 0.0);
  // Hostile block numbers do not overflow.
  EXPECT_EQ(margin_at(p, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()),
            0.0);
  EXPECT_EQ(margin_at(p, std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()),
            0.01);
}

TEST(ArenaMargin, FixedAndConfigurable) {
  MarginPolicy fixed;
  fixed.kind = MarginPolicy::Kind::fixed;
  EXPECT_EQ(margin_at(fixed, 0, 0), 0.01);
  EXPECT_EQ(margin_at(fixed, 0, 1'000'000), 0.01);
  fixed.fixed = 0.02;
  EXPECT_EQ(margin_at(fixed, 0, 1'000'000), 0.02);
  MarginPolicy d;
  d.initial = 0.04;
  d.decay_blocks = 100;
  EXPECT_DOUBLE_EQ(margin_at(d, 0, 25), 0.03);
  EXPECT_EQ(margin_at(d, 0, 100), 0.0);

  EXPECT_TRUE(validate_margin_policy(MarginPolicy{}).ok());
  for (MarginPolicy bad : {MarginPolicy{MarginPolicy::Kind::decaying, kNaN, 10, 0.01},
                           MarginPolicy{MarginPolicy::Kind::decaying, -0.01, 10, 0.01},
                           MarginPolicy{MarginPolicy::Kind::decaying, 0.01, 0, 0.01},
                           MarginPolicy{MarginPolicy::Kind::fixed, 0.01, 10, kInf},
                           MarginPolicy{MarginPolicy::Kind::fixed, 0.01, 10, 1.0}}) {
    Status s = validate_margin_policy(bad);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "margin_policy_invalid");
    Result<RoundOutcome> r = update_standings({{}, {}, {}, bad, 0});
    ASSERT_FALSE(r.ok());
  }
  EXPECT_EQ(*parse_margin_kind("fixed"), MarginPolicy::Kind::fixed);
  EXPECT_EQ(*parse_margin_kind("decaying"), MarginPolicy::Kind::decaying);
  EXPECT_FALSE(parse_margin_kind("Fixed").ok());
}

// ---- round table -------------------------------------------------------------------------

RoundResult pass(std::string hk, BlockNumber cb, double score) {
  return {std::move(hk), cb, -1, true, score, "ok", false};
}
RoundResult fail(std::string hk, BlockNumber cb,
                 std::string reason = "correctness_first_mismatch") {
  return {std::move(hk), cb, -1, false, 0, std::move(reason), false};
}
RoundResult blame(std::string hk, BlockNumber cb) {
  return {std::move(hk), cb, -1, false, 0, "baseline_failed", true};
}
Holder holder(std::string hk, BlockNumber cb, int uid, BlockNumber crowned, double score) {
  return {std::move(hk), cb, uid, crowned, score};
}

// UIDs: A=1, B=2, C=3, D=4, E=5.
std::vector<MetagraphEntry> metagraph() {
  return {{1, "A"}, {2, "B"}, {3, "C"}, {4, "D"}, {5, "E"}};
}

struct Who {
  std::string hotkey;
  BlockNumber commit_block;
  int uid;
  BlockNumber crowned;
  double score;
};

struct RoundCase {
  std::string name;
  Standings prev;
  std::vector<RoundResult> results;
  std::optional<Who> leader;
  std::optional<Who> runner_up;
  std::vector<std::string> codes;  // events expected as "code:hotkey", in order
  std::vector<MetagraphEntry> graph = metagraph();
  MarginPolicy margin = {};
  BlockNumber block = 1000;
};

void expect_holder(const std::optional<Holder>& got, const std::optional<Who>& want,
                   const char* what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(got.has_value(), want.has_value());
  if (!want) return;
  EXPECT_EQ(got->hotkey, want->hotkey);
  EXPECT_EQ(got->commit_block, want->commit_block);
  EXPECT_EQ(got->uid, want->uid);
  EXPECT_EQ(got->crowned_block, want->crowned);
  EXPECT_DOUBLE_EQ(got->score, want->score);
}

void run_table(const std::vector<RoundCase>& cases) {
  for (const RoundCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<RoundOutcome> r = update_standings({c.prev, c.results, c.graph, c.margin, c.block});
    ASSERT_TRUE(r.ok()) << r.error().message;
    expect_holder(r->standings.leader, c.leader, "leader");
    expect_holder(r->standings.runner_up, c.runner_up, "runner-up");
    std::vector<std::string> codes;
    for (const StandingsEvent& e : r->events) {
      codes.push_back(e.code + ":" + e.hotkey);
      EXPECT_FALSE(e.message.empty());
      EXPECT_FALSE(e.role.empty());
    }
    EXPECT_EQ(codes, c.codes);
  }
}

TEST(ArenaStandings, CrowningAndDefending) {
  // Leader A crowned at 1000 with the decaying margin: margin 1% at block 1000.
  const Standings led{holder("A", 10, 1, 1000, 0.05), std::nullopt};
  run_table({
      {"empty arena, nobody", {}, {}, std::nullopt, std::nullopt, {}},
      {"first crowning needs no margin",
       {},
       {pass("B", 20, 0.001)},
       Who{"B", 20, 2, 1000, 0.001},
       std::nullopt,
       {"eligible:B", "crowned:B"}},
      {"best of several is crowned, next is runner-up",
       {},
       {pass("B", 20, 0.03), pass("C", 21, 0.08), pass("D", 22, 0.05)},
       Who{"C", 21, 3, 1000, 0.08},
       Who{"D", 22, 4, 1000, 0.05},
       {"eligible:B", "eligible:C", "eligible:D", "crowned:C", "runner_up_set:D"}},
      {"challenger above leader + margin takes the lead",
       led,
       {pass("A", 10, 0.05), pass("B", 20, 0.0601)},
       Who{"B", 20, 2, 1000, 0.0601},
       Who{"A", 10, 1, 1000, 0.05},
       {"eligible:A", "eligible:B", "dethroned:A", "crowned:B", "runner_up_set:A"}},
      {"challenger exactly at leader + margin does not",
       led,
       {pass("A", 10, 0.05), pass("B", 20, 0.06)},
       Who{"A", 10, 1, 1000, 0.05},
       Who{"B", 20, 2, 1000, 0.06},
       {"eligible:A", "eligible:B", "defended:A", "runner_up_set:B"}},
      {"challenger above leader but within margin",
       led,
       {pass("A", 10, 0.05), pass("B", 20, 0.055)},
       Who{"A", 10, 1, 1000, 0.05},
       Who{"B", 20, 2, 1000, 0.055},
       {"eligible:A", "eligible:B", "defended:A", "runner_up_set:B"}},
      {"fresh scores count: leader's new score is the bar",
       led,
       {pass("A", 10, 0.02), pass("B", 20, 0.04)},
       Who{"B", 20, 2, 1000, 0.04},
       Who{"A", 10, 1, 1000, 0.02},
       {"eligible:A", "eligible:B", "dethroned:A", "crowned:B", "runner_up_set:A"}},
      {"margin decayed to zero: any strictly better challenger wins",
       Standings{holder("A", 10, 1, 1000, 0.05), std::nullopt},
       {pass("A", 10, 0.05), pass("B", 20, 0.0500001)},
       Who{"B", 20, 2, 51'400, 0.0500001},
       Who{"A", 10, 1, 51'400, 0.05},
       {"eligible:A", "eligible:B", "dethroned:A", "crowned:B", "runner_up_set:A"},
       metagraph(),
       {},
       51'400},
      {"margin decayed to zero: a tie still defends",
       Standings{holder("A", 10, 1, 1000, 0.05), std::nullopt},
       {pass("A", 10, 0.05), pass("B", 20, 0.05)},
       Who{"A", 10, 1, 1000, 0.05},
       Who{"B", 20, 2, 51'400, 0.05},
       {"eligible:A", "eligible:B", "defended:A", "runner_up_set:B"},
       metagraph(),
       {},
       51'400},
      {"half-decayed margin at +25200",
       Standings{holder("A", 10, 1, 1000, 0.05), std::nullopt},
       {pass("A", 10, 0.05), pass("B", 20, 0.0549), pass("C", 21, 0.0551)},
       Who{"C", 21, 3, 26'200, 0.0551},
       Who{"B", 20, 2, 26'200, 0.0549},
       {"eligible:A", "eligible:B", "eligible:C", "dethroned:A", "crowned:C", "runner_up_set:B"},
       metagraph(),
       {},
       26'200},
      {"defended leader keeps its crowning block; score refreshed",
       Standings{holder("A", 10, 1, 500, 0.05), std::nullopt},
       {pass("A", 10, 0.07)},
       Who{"A", 10, 1, 500, 0.07},
       std::nullopt,
       {"eligible:A", "defended:A"}},
      {"fixed margin ignores age",
       Standings{holder("A", 10, 1, 0, 0.05), std::nullopt},
       {pass("A", 10, 0.05), pass("B", 20, 0.059)},
       Who{"A", 10, 1, 0, 0.05},
       Who{"B", 20, 2, 1'000'000, 0.059},
       {"eligible:A", "eligible:B", "defended:A", "runner_up_set:B"},
       metagraph(),
       MarginPolicy{MarginPolicy::Kind::fixed, 0.01, 50'400, 0.01},
       1'000'000},
  });
}

TEST(ArenaStandings, DeregistrationAndUidRecycling) {
  const Standings both{holder("A", 10, 1, 900, 0.05), holder("B", 20, 2, 900, 0.03)};
  std::vector<MetagraphEntry> recycled = {{1, "Z"}, {2, "B"}, {3, "C"}};  // A's UID 1 -> Z
  std::vector<MetagraphEntry> moved = {{7, "A"}, {2, "B"}, {3, "C"}};     // A re-registered at 7
  std::vector<MetagraphEntry> gone = {{2, "B"}, {3, "C"}};                // UID 1 empty
  run_table({
      {"leader's UID now holds another hotkey: runner-up promoted",
       both,
       {pass("A", 10, 0.09), pass("B", 20, 0.03)},
       Who{"B", 20, 2, 1000, 0.03},
       std::nullopt,
       {"deregistered:A", "eligible:B", "crowned:B"},
       recycled},
      {"leader re-registered under another UID still lost its place",
       both,
       {pass("A", 10, 0.09), pass("B", 20, 0.03), pass("C", 30, 0.01)},
       Who{"B", 20, 2, 1000, 0.03},
       Who{"C", 30, 3, 1000, 0.01},
       {"deregistered:A", "eligible:B", "eligible:C", "crowned:B", "runner_up_set:C"},
       moved},
      {"leader's UID empty",
       both,
       {pass("B", 20, 0.03)},
       Who{"B", 20, 2, 1000, 0.03},
       std::nullopt,
       {"deregistered:A", "eligible:B", "crowned:B"},
       gone},
      {"runner-up deregistered; nobody else: runner-up cleared",
       both,
       {pass("A", 10, 0.05), pass("B", 20, 0.03)},
       Who{"A", 10, 1, 900, 0.05},
       std::nullopt,
       {"eligible:A", "deregistered:B", "defended:A", "runner_up_cleared:B"},
       {{1, "A"}, {2, "Y"}}},
      {"unregistered challenger cannot hold a place",
       Standings{holder("A", 10, 1, 900, 0.05), std::nullopt},
       {pass("A", 10, 0.05), pass("Q", 40, 0.5)},
       Who{"A", 10, 1, 900, 0.05},
       std::nullopt,
       {"eligible:A", "not_registered:Q", "defended:A"}},
      {"leader's new registration can compete as a challenger",
       both,
       {pass("B", 20, 0.03), pass("A", 50, 0.02)},
       Who{"B", 20, 2, 1000, 0.03},
       Who{"A", 50, 7, 1000, 0.02},
       {"deregistered:A", "eligible:B", "eligible:A", "crowned:B", "runner_up_set:A"},
       moved},
      {"everyone gone: leader vacant",
       both,
       {},
       std::nullopt,
       std::nullopt,
       {"deregistered:A", "deregistered:B", "leader_vacant:A", "runner_up_cleared:B"},
       {{9, "Z"}}},
  });
}

TEST(ArenaStandings, FailuresBlameAndInvalidScores) {
  const Standings both{holder("A", 10, 1, 900, 0.05), holder("B", 20, 2, 900, 0.03)};
  run_table({
      {"leader fails: disqualified, best remaining crowned",
       both,
       {fail("A", 10), pass("B", 20, 0.03), pass("C", 30, 0.02)},
       Who{"B", 20, 2, 1000, 0.03},
       Who{"C", 30, 3, 1000, 0.02},
       {"disqualified:A", "eligible:B", "eligible:C", "crowned:B", "runner_up_set:C"}},
      {"leader arena-blamed: keeps its place with its last score",
       both,
       {blame("A", 10), pass("B", 20, 0.03), pass("C", 30, 0.055)},
       Who{"A", 10, 1, 900, 0.05},
       Who{"C", 30, 3, 1000, 0.055},
       {"no_judgement:A", "eligible:B", "eligible:C", "defended:A", "runner_up_set:C"}},
      {"arena-blamed leader can still be beaten on its last score",
       both,
       {blame("A", 10), pass("B", 20, 0.03), pass("C", 30, 0.07)},
       Who{"C", 30, 3, 1000, 0.07},
       Who{"A", 10, 1, 1000, 0.05},
       {"no_judgement:A", "eligible:B", "eligible:C", "dethroned:A", "crowned:C",
        "runner_up_set:A"}},
      {"leader not evaluated: kept with its last score",
       both,
       {pass("B", 20, 0.03)},
       Who{"A", 10, 1, 900, 0.05},
       Who{"B", 20, 2, 900, 0.03},
       {"not_evaluated:A", "eligible:B", "defended:A", "runner_up_kept:B"}},
      {"leader NaN score: arena fault, kept",
       both,
       {pass("A", 10, kNaN), pass("B", 20, 0.03)},
       Who{"A", 10, 1, 900, 0.05},
       Who{"B", 20, 2, 900, 0.03},
       {"invalid_score:A", "eligible:B", "defended:A", "runner_up_kept:B"}},
      {"challenger infinite score never crowns",
       both,
       {pass("A", 10, 0.05), pass("B", 20, 0.03), pass("C", 30, kInf)},
       Who{"A", 10, 1, 900, 0.05},
       Who{"B", 20, 2, 900, 0.03},
       {"eligible:A", "eligible:B", "invalid_score:C", "defended:A", "runner_up_kept:B"}},
      {"challenger NaN and -inf scores never crown",
       {},
       {pass("C", 30, kNaN), pass("D", 31, -kInf)},
       std::nullopt,
       std::nullopt,
       {"invalid_score:C", "invalid_score:D"}},
      {"leader not faster than baseline any more loses its place",
       both,
       {pass("A", 10, 0.0), pass("B", 20, 0.03)},
       Who{"B", 20, 2, 1000, 0.03},
       std::nullopt,
       {"no_speedup:A", "eligible:B", "crowned:B"}},
      {"negative scores are valid but never crown",
       {},
       {pass("C", 30, -0.2), pass("D", 31, -0.01)},
       std::nullopt,
       std::nullopt,
       {"no_speedup:C", "no_speedup:D"}},
      {"a score of exactly 0 does not earn the runner-up place",
       Standings{holder("A", 10, 1, 900, 0.05), std::nullopt},
       {pass("A", 10, 0.05), pass("C", 30, 0.0)},
       Who{"A", 10, 1, 900, 0.05},
       std::nullopt,
       {"eligible:A", "no_speedup:C", "defended:A"}},
      {"runner-up fails: replaced by the next best",
       both,
       {pass("A", 10, 0.05), fail("B", 20, "prompt_error"), pass("C", 30, 0.01)},
       Who{"A", 10, 1, 900, 0.05},
       Who{"C", 30, 3, 1000, 0.01},
       {"eligible:A", "disqualified:B", "eligible:C", "defended:A", "runner_up_set:C"}},
      {"runner-up arena-blamed: keeps its place",
       both,
       {pass("A", 10, 0.05), blame("B", 20), pass("C", 30, 0.01)},
       Who{"A", 10, 1, 900, 0.05},
       Who{"B", 20, 2, 900, 0.03},
       {"eligible:A", "no_judgement:B", "eligible:C", "defended:A", "runner_up_kept:B"}},
      {"arena-blamed challenger: nothing changes for it",
       both,
       {pass("A", 10, 0.05), pass("B", 20, 0.03), blame("C", 30)},
       Who{"A", 10, 1, 900, 0.05},
       Who{"B", 20, 2, 900, 0.03},
       {"eligible:A", "eligible:B", "no_judgement:C", "defended:A", "runner_up_kept:B"}},
      {"everyone fails: no leader, no runner-up",
       both,
       {fail("A", 10), fail("B", 20)},
       std::nullopt,
       std::nullopt,
       {"disqualified:A", "disqualified:B", "leader_vacant:A", "runner_up_cleared:B"}},
  });
}

TEST(ArenaStandings, TiesRunnerUpAndOwnRecommit) {
  const Standings led{holder("A", 10, 1, 900, 0.05), std::nullopt};
  const Standings both{holder("A", 10, 1, 900, 0.05), holder("B", 20, 2, 900, 0.03)};
  run_table({
      {"tie for the crown: earlier commit wins",
       {},
       {pass("D", 40, 0.05), pass("C", 30, 0.05)},
       Who{"C", 30, 3, 1000, 0.05},
       Who{"D", 40, 4, 1000, 0.05},
       {"eligible:C", "eligible:D", "crowned:C", "runner_up_set:D"}},
      {"tie on score and block: smaller hotkey wins",
       {},
       {pass("D", 30, 0.05), pass("C", 30, 0.05)},
       Who{"C", 30, 3, 1000, 0.05},
       Who{"D", 30, 4, 1000, 0.05},
       {"eligible:C", "eligible:D", "crowned:C", "runner_up_set:D"}},
      {"tie for runner-up: earlier commit wins",
       led,
       {pass("A", 10, 0.05), pass("E", 50, 0.02), pass("D", 40, 0.02)},
       Who{"A", 10, 1, 900, 0.05},
       Who{"D", 40, 4, 1000, 0.02},
       {"eligible:A", "eligible:D", "eligible:E", "defended:A", "runner_up_set:D"}},
      {"challenger overtakes the runner-up without a margin",
       both,
       {pass("A", 10, 0.05), pass("B", 20, 0.03), pass("C", 30, 0.0301)},
       Who{"A", 10, 1, 900, 0.05},
       Who{"C", 30, 3, 1000, 0.0301},
       {"eligible:A", "eligible:B", "eligible:C", "defended:A", "runner_up_set:C"}},
      {"runner-up beating the leader by the margin is crowned",
       both,
       {pass("A", 10, 0.05), pass("B", 20, 0.07)},
       Who{"B", 20, 2, 1000, 0.07},
       Who{"A", 10, 1, 1000, 0.05},
       {"eligible:A", "eligible:B", "dethroned:A", "crowned:B", "runner_up_set:A"}},
      {"leader's own newer commit beats it: replaced, not runner-up of itself",
       both,
       {pass("A", 10, 0.05), pass("B", 20, 0.03), pass("A", 60, 0.08)},
       Who{"A", 60, 1, 1000, 0.08},
       Who{"B", 20, 2, 900, 0.03},
       {"eligible:A", "eligible:B", "eligible:A", "replaced:A", "crowned:A", "runner_up_kept:B"}},
      {"leader's own newer commit not better: old one defends, the new is not runner-up",
       led,
       {pass("A", 10, 0.05), pass("A", 60, 0.055)},
       Who{"A", 10, 1, 900, 0.05},
       std::nullopt,
       {"eligible:A", "eligible:A", "defended:A"}},
      {"duplicate results for one key: the first counts",
       led,
       {pass("A", 10, 0.05), pass("B", 20, 0.09), pass("B", 20, 0.01)},
       Who{"B", 20, 2, 1000, 0.09},
       Who{"A", 10, 1, 1000, 0.05},
       {"eligible:A", "eligible:B", "dethroned:A", "crowned:B", "runner_up_set:A"}},
  });
}

TEST(ArenaStandings, EventsCarryRolesAndScores) {
  const Standings led{holder("A", 10, 1, 1000, 0.05), std::nullopt};
  Result<RoundOutcome> r =
      update_standings({led, {pass("A", 10, 0.05), pass("B", 20, 0.08)}, metagraph(), {}, 1000});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->events.size(), 5u);
  EXPECT_EQ(r->events[2].code, code::kDethroned);
  EXPECT_EQ(r->events[2].role, role::kLeader);
  EXPECT_EQ(r->events[3].code, code::kCrowned);
  EXPECT_EQ(r->events[3].role, role::kChallenger);
  EXPECT_DOUBLE_EQ(r->events[3].score, 0.08);
  EXPECT_NE(r->events[3].message.find("0.0800 > 0.0500 + margin 0.0100"), std::string::npos)
      << r->events[3].message;
  EXPECT_EQ(r->events[4].role, role::kLeader);  // the old leader becomes runner-up
}

}  // namespace
}  // namespace cacheon::arena

namespace cacheon::arena {
namespace {

// The dashboard's leader history shows the bar a challenger had to clear: the incumbent's fresh
// score plus the margin at the round block; nothing when no incumbent competes.
TEST(ArenaStandings, OvertakeThresholdIsReported) {
  const Standings led{holder("A", 10, 1, 1000, 0.05), std::nullopt};
  MarginPolicy half_decayed;  // 1% decaying over 50,400 blocks, half way through
  auto r = update_standings(
      {led, {pass("A", 10, 0.04), pass("B", 20, 0.045)}, metagraph(), half_decayed, 26'200});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->margin && r->overtake_threshold);
  EXPECT_DOUBLE_EQ(*r->margin, 0.005);
  EXPECT_DOUBLE_EQ(*r->overtake_threshold, 0.045);  // the fresh 0.04 + 0.005: B ties, A defends
  EXPECT_EQ(r->standings.leader->hotkey, "A");

  auto first = update_standings({{}, {pass("B", 20, 0.03)}, metagraph(), {}, 1000});
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->margin.has_value());
  EXPECT_FALSE(first->overtake_threshold.has_value());
}

}  // namespace
}  // namespace cacheon::arena

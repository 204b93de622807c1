// Scoring policies: names, the k_min table, the median with missing values, and NaN guards.
// Hand-computed policy tables live in tests/data/judge (walked by test_verdict.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "harness/scoring.h"

namespace cacheon::harness {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(ScoringPolicyParse, NamesAndVersions) {
  for (const char* s : {"e2e", "e2e@1"}) {
    Result<ScoringPolicy> p = parse_policy(s);
    ASSERT_TRUE(p.ok()) << s;
    EXPECT_EQ(p->kind, PolicyKind::e2e);
    EXPECT_EQ(p->name(), "e2e@1");
  }
  for (const char* s : {"ttft-tps", "ttft-tps@1"}) {
    Result<ScoringPolicy> p = parse_policy(s);
    ASSERT_TRUE(p.ok()) << s;
    EXPECT_EQ(p->kind, PolicyKind::ttft_tps);
    EXPECT_EQ(p->name(), "ttft-tps@1");
  }
  EXPECT_EQ(ScoringPolicy{}.name(), "e2e@1");  // the default policy
  for (const char* s : {"", "e2e@2", "e2e@", "ttft_tps", "E2E", "tps"}) {
    Result<ScoringPolicy> p = parse_policy(s);
    ASSERT_FALSE(p.ok()) << s;
    EXPECT_EQ(p.error().code, "invalid_policy");
  }
}

TEST(ScoringE2e, MinTokensTable) {
  // max(2, ceil(0.9 * b)), exact in integers (0.9 * 30 in doubles is 27.000000000000004).
  const std::pair<int64_t, int64_t> table[] = {{0, 2},  {1, 2},   {2, 2},   {3, 3},   {9, 9},
                                               {10, 9}, {11, 10}, {20, 18}, {30, 27}, {512, 461}};
  for (const auto& [b, want] : table) EXPECT_EQ(e2e_min_tokens(b), want) << "b = " << b;
}

TEST(ScoringMedian, MissingValues) {
  using V = std::vector<std::optional<double>>;
  EXPECT_EQ(median_with_missing(V{1.0, 3.0, 2.0}, true), 2.0);
  EXPECT_EQ(median_with_missing(V{1.0, 4.0, 2.0, 3.0}, true), 2.5);
  // Missing sorts high: [1, 2, inf] -> 2; [1, inf, inf] -> none.
  EXPECT_EQ(median_with_missing(V{std::nullopt, 1.0, 2.0}, true), 2.0);
  EXPECT_EQ(median_with_missing(V{std::nullopt, 1.0, std::nullopt}, true), std::nullopt);
  // Missing sorts low: [0, 1, 2] -> 1.
  EXPECT_EQ(median_with_missing(V{std::nullopt, 1.0, 2.0}, false), 1.0);
  // Even count with a missing middle value: none.
  EXPECT_EQ(median_with_missing(V{std::nullopt, 1.0, 2.0, std::nullopt}, true), std::nullopt);
  EXPECT_EQ(median_with_missing(V{}, true), std::nullopt);
}

RequestRecord tokens_at(int prompt, int64_t sent_ms, std::vector<int64_t> at_ms) {
  RequestRecord r;
  r.prompt_index = prompt;
  r.sent_ns = sent_ms * kMs;
  for (int64_t a : at_ms) {
    TokenRecord t;
    t.token = "x";
    t.arrival_ns = a * kMs;
    r.tokens.push_back(t);
  }
  if (!r.tokens.empty()) r.first_token_ns = r.tokens.front().arrival_ns;
  r.done_ns = r.tokens.empty() ? r.sent_ns : r.tokens.back().arrival_ns;
  return r;
}

TEST(ScoringGuards, NeverNaNOrInf) {
  // Broken clocks: tokens "before" the send, zero-length runs, no candidate at all.
  const std::vector<RequestRecord> b = {tokens_at(0, 100, {50, 60, 70}), tokens_at(1, 0, {0, 0, 0}),
                                        tokens_at(2, 0, {10, 20, 30})};
  const std::vector<RequestRecord> c = {tokens_at(0, 0, {5, 6, 7}), tokens_at(1, 0, {1, 2, 3}),
                                        tokens_at(2, 50, {10, 20, 30})};
  for (PolicyKind kind : {PolicyKind::e2e, PolicyKind::ttft_tps}) {
    for (const std::vector<RequestRecord>* cand : {&c, &b}) {
      const ScoreResult r = score_run(ScoringPolicy{kind, 1}, {b}, *cand);
      EXPECT_TRUE(std::isfinite(r.score));
      EXPECT_GE(r.score, 0.0);
      EXPECT_TRUE(std::isfinite(r.ttft_term) && std::isfinite(r.tps_term));
      for (const PromptScore& p : r.prompts) EXPECT_TRUE(std::isfinite(p.improvement));
      EXPECT_NO_THROW((void)to_json(r).dump());
    }
    const ScoreResult empty = score_run(ScoringPolicy{kind, 1}, {b}, std::vector<RequestRecord>{});
    EXPECT_EQ(empty.score, 0.0);
    const ScoreResult nobase = score_run(ScoringPolicy{kind, 1}, {}, c);
    EXPECT_EQ(nobase.score, 0.0);
    EXPECT_TRUE(nobase.prompts.empty());
  }
}

TEST(ScoringE2e, NegativeCandidateTimeIsNotAnImprovement) {
  // Candidate token "arrives" before it was sent (a clock bug): never more than a 100% gain,
  // and a negative time earns nothing.
  const std::vector<RequestRecord> b = {tokens_at(0, 0, {10, 20})};
  const std::vector<RequestRecord> c = {tokens_at(0, 100, {10, 20})};
  const ScoreResult r = score_e2e({b}, c);
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_FALSE(r.prompts[0].earned);
  EXPECT_EQ(r.prompts[0].note, "invalid_times");
  EXPECT_EQ(r.score, 0.0);
}

TEST(ScoringE2e, CandidateMissingPrompt) {
  const std::vector<RequestRecord> b = {tokens_at(0, 0, {10, 20}), tokens_at(1, 0, {10, 20})};
  const std::vector<RequestRecord> c = {tokens_at(0, 0, {5, 10})};
  const ScoreResult r = score_e2e({b}, c);
  ASSERT_EQ(r.prompts.size(), 2u);
  EXPECT_DOUBLE_EQ(r.prompts[0].improvement, 0.5);
  EXPECT_EQ(r.prompts[1].note, "candidate_missing");
  EXPECT_DOUBLE_EQ(r.score, 0.25);  // median of {0.5, 0}
  EXPECT_EQ(to_json(r).at("policy"), "e2e@1");
}

}  // namespace
}  // namespace cacheon::harness

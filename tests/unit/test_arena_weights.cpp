// Weights (arena/weights.h): pool, shares, burn, u16 rounding, when to set.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "arena/weights.h"

namespace cacheon::arena {
namespace {

uint32_t sum(const std::vector<UidWeight>& w) {
  uint32_t s = 0;
  for (const UidWeight& x : w) s += x.weight;
  return s;
}

Holder h(int uid, double score) { return {"hk" + std::to_string(uid), 1, uid, 1, score}; }

struct WeightCase {
  std::string name;
  Standings standings;
  WeightPolicy policy = {};
  BlockNumber block = 1000;
  double pool;
  std::string source;
  std::vector<UidWeight> weights;
};

TEST(ArenaWeights, PlanTable) {
  WeightPolicy scheduled;
  scheduled.schedule = {{500, 0.5}, {2000, 1.0}};
  WeightPolicy burn7;
  burn7.burn_uid = 7;
  const WeightCase cases[] = {
      {"no leader: all to burn", {}, {}, 1000, 0.0, "no_leader", {{0, 65535}}},
      {"no leader, burn UID 7", {}, burn7, 1000, 0.0, "no_leader", {{7, 65535}}},
      {"leader at target takes the whole pool",
       {h(3, 0.10), std::nullopt},
       {},
       1000,
       1.0,
       "score",
       {{3, 65535}}},
      {"leader above target: pool capped at 1",
       {h(3, 0.25), std::nullopt},
       {},
       1000,
       1.0,
       "score",
       {{3, 65535}}},
      {"leader + runner-up at full pool: 80/20",
       {h(3, 0.10), h(4, 0.05)},
       {},
       1000,
       1.0,
       "score",
       {{3, 52428}, {4, 13107}}},
      {"half pool: 40/10/50",
       {h(3, 0.05), h(4, 0.02)},
       {},
       1000,
       0.5,
       "score",
       {{0, 32768}, {3, 26214}, {4, 6553}}},
      {"half pool without runner-up: 50/50",
       {h(3, 0.05), std::nullopt},
       {},
       1000,
       0.5,
       "score",
       {{0, 32768}, {3, 32767}}},
      {"leader on the burn UID: fractions merge",
       {h(0, 0.05), h(4, 0.01)},
       {},
       1000,
       0.5,
       "score",
       {{0, 58982}, {4, 6553}}},
      {"schedule before its first step: score formula",
       {h(3, 0.02), std::nullopt},
       scheduled,
       499,
       0.2,
       "score",
       {{0, 52428}, {3, 13107}}},
      {"schedule step in force",
       {h(3, 0.02), std::nullopt},
       scheduled,
       500,
       0.5,
       "schedule",
       {{0, 32768}, {3, 32767}}},
      {"later schedule step",
       {h(3, 0.02), std::nullopt},
       scheduled,
       5000,
       1.0,
       "schedule",
       {{3, 65535}}},
      {"schedule without leader: all to burn", {}, scheduled, 5000, 0.0, "no_leader", {{0, 65535}}},
      {"leader without a UID: as if absent", {h(-1, 0.10), h(4, 0.05)}, {}, 1000, 0.0,
       "no_leader", {{0, 65535}}},
      {"runner-up without a UID: leader takes the pool", {h(3, 0.10), h(-1, 0.05)}, {}, 1000,
       1.0, "score", {{3, 65535}}},
  };
  for (const WeightCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<WeightPlan> plan = compute_weights(c.standings, c.policy, c.block);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    EXPECT_DOUBLE_EQ(plan->pool, c.pool);
    EXPECT_EQ(plan->pool_source, c.source);
    EXPECT_EQ(plan->weights, c.weights);
    EXPECT_EQ(sum(plan->weights), 65535u);
    double fsum = 0;
    for (const UidFraction& f : plan->fractions) {
      EXPECT_GT(f.fraction, 0);
      fsum += f.fraction;
    }
    EXPECT_NEAR(fsum, 1.0, 1e-12);
  }
}

TEST(ArenaWeights, InvalidPoliciesAreErrors) {
  auto bad = [](auto edit) {
    WeightPolicy p;
    edit(p);
    Result<WeightPlan> r = compute_weights({}, p, 0);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "weight_policy_invalid");
  };
  bad([](WeightPolicy& p) { p.target = 0; });
  bad([](WeightPolicy& p) { p.target = -0.1; });
  bad([](WeightPolicy& p) { p.target = std::numeric_limits<double>::quiet_NaN(); });
  bad([](WeightPolicy& p) { p.leader_share = 1.5; });
  bad([](WeightPolicy& p) { p.leader_share = -0.1; });
  bad([](WeightPolicy& p) { p.burn_uid = -1; });
  bad([](WeightPolicy& p) { p.schedule = {{10, 0.5}, {10, 0.6}}; });
  bad([](WeightPolicy& p) { p.schedule = {{10, 0.5}, {5, 0.6}}; });
  bad([](WeightPolicy& p) { p.schedule = {{10, 1.1}}; });
  bad([](WeightPolicy& p) { p.schedule = {{10, std::numeric_limits<double>::infinity()}}; });
  EXPECT_TRUE(validate_weight_policy(WeightPolicy{}).ok());
}

TEST(ArenaWeights, U16RoundingSumsExactly) {
  // Largest remainder: thirds give 21845 each exactly; sevenths leave remainders to hand out.
  EXPECT_EQ(normalize_u16(std::vector<UidFraction>{{1, 1.0}, {2, 1.0}, {3, 1.0}}),
            (std::vector<UidWeight>{{1, 21845}, {2, 21845}, {3, 21845}}));
  // 65535 / 7 = 9362.14...: floors sum 65534, one unit left; remainders tie, smaller UID wins.
  std::vector<UidFraction> sevenths;
  for (int uid = 10; uid > 3; --uid) sevenths.push_back({uid, 1.0 / 7});
  std::vector<UidWeight> w7 = normalize_u16(sevenths);
  ASSERT_EQ(w7.size(), 7u);
  EXPECT_EQ(w7[0].uid, 4);
  EXPECT_EQ(w7[0].weight, 9363);
  for (size_t i = 1; i < 7; ++i) EXPECT_EQ(w7[i].weight, 9362);
  EXPECT_EQ(sum(w7), 65535u);
  // Unnormalized input, duplicates merge, NaN/negative/inf count as zero, zeros dropped.
  EXPECT_EQ(normalize_u16(std::vector<UidFraction>{{5, 2.0},
                                                   {5, 2.0},
                                                   {6, std::nan("")},
                                                   {7, -1.0},
                                                   {8, std::numeric_limits<double>::infinity()},
                                                   {9, 0.0}}),
            (std::vector<UidWeight>{{5, 65535}}));
  EXPECT_TRUE(normalize_u16(std::vector<UidFraction>{}).empty());
  EXPECT_TRUE(normalize_u16(std::vector<UidFraction>{{1, 0.0}}).empty());
  // A tiny share still sums exactly; a share below one unit may round to nothing.
  std::vector<UidWeight> tiny = normalize_u16(std::vector<UidFraction>{{1, 1.0}, {2, 1e-9}});
  EXPECT_EQ(sum(tiny), 65535u);
  // Many random-ish fractions (deterministic LCG): always exactly 65535.
  uint64_t state = 42;
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<UidFraction> fr;
    const int n = 1 + trial % 64;
    for (int i = 0; i < n; ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      fr.push_back({i, double(state >> 11) / double(1ULL << 53)});
    }
    std::vector<UidWeight> w = normalize_u16(fr);
    ASSERT_EQ(sum(w), 65535u) << "trial " << trial;
    for (size_t i = 1; i < w.size(); ++i) ASSERT_LT(w[i - 1].uid, w[i].uid);
  }
}

TEST(ArenaWeights, WhenToSet) {
  const std::vector<UidWeight> a = {{1, 52428}, {2, 13107}};
  const std::vector<UidWeight> b = {{1, 65535}};
  const std::vector<UidWeight> a_shuffled = {{2, 13107}, {0, 0}, {1, 52428}};
  struct Case {
    std::string name;
    std::optional<BlockNumber> last;
    std::vector<UidWeight> last_w, new_w;
    BlockNumber now;
    int64_t tempo, rate_limit;
    bool set;
    std::string reason;
  };
  const Case cases[] = {
      {"never set", std::nullopt, {}, a, 5, 360, 100, true, "first"},
      {"unchanged, within tempo", 1000, a, a, 1200, 360, 100, false, "unchanged"},
      {"unchanged, same in another order", 1000, a, a_shuffled, 1200, 360, 100, false, "unchanged"},
      {"unchanged, tempo reached exactly", 1000, a, a, 1360, 360, 100, true, "tempo_elapsed"},
      {"unchanged, one block before tempo", 1000, a, a, 1359, 360, 100, false, "unchanged"},
      {"changed, rate limit allows", 1000, a, b, 1100, 360, 100, true, "changed"},
      {"changed, rate limited", 1000, a, b, 1099, 360, 100, false, "rate_limited"},
      {"tempo reached but rate limit longer", 1000, a, a, 1400, 360, 500, false, "rate_limited"},
      {"changed, no rate limit, same block", 1000, a, b, 1000, 360, 0, true, "changed"},
      {"block before last set", 1000, a, b, 999, 360, 0, false, "block_before_last_set"},
      {"hostile last block: no overflow", std::numeric_limits<int64_t>::min(), a, a,
       std::numeric_limits<int64_t>::max(), 360, 100, true, "tempo_elapsed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SetWeightsDecision d =
        should_set_weights(c.last, c.last_w, c.new_w, c.now, c.tempo, c.rate_limit);
    EXPECT_EQ(d.set, c.set);
    EXPECT_EQ(d.reason, c.reason);
  }
}

}  // namespace
}  // namespace cacheon::arena

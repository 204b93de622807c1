// The sampler: log-softmax, greedy ties, top-k / top-p masks, seeded determinism, the drawn
// distribution (chi-square with a fixed seed), the top_logprobs list and banned ids.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "engine/sampler/sampler.h"

namespace cacheon::engine {
namespace {

SamplingParams params(double t, std::optional<uint64_t> seed = 1) {
  SamplingParams p;
  p.temperature = t;
  p.seed = seed;
  return p;
}

std::vector<float> logs_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

TEST(Sampler, LogSoftmaxKnownAnswers) {
  auto a = log_softmax(std::vector<float>{0, 0});
  EXPECT_NEAR(a[0], -std::log(2.0), 1e-7);
  EXPECT_NEAR(a[1], -std::log(2.0), 1e-7);
  auto b = log_softmax(std::vector<float>{1, 2, 3});
  const double lse = 3 + std::log(1 + std::exp(-1.0) + std::exp(-2.0));
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(b[static_cast<size_t>(i)], (i + 1) - lse, 1e-6);
  // Huge logits do not overflow; -inf stays -inf and takes no mass.
  auto c = log_softmax(std::vector<float>{1000, 1000, -std::numeric_limits<float>::infinity()});
  EXPECT_NEAR(c[0], -std::log(2.0), 1e-6);
  EXPECT_TRUE(std::isinf(c[2]) && c[2] < 0);
  EXPECT_TRUE(log_softmax(std::vector<float>{}).empty());
}

TEST(Sampler, GreedyTakesLowestIdOnTies) {
  const std::vector<float> l = {1, 5, 5, 2};
  Sampler s(params(0));
  const SampledToken t = s.sample(l);
  EXPECT_EQ(t.id, 1);
  EXPECT_NEAR(t.logprob, log_softmax(l)[1], 1e-7);
  const std::vector<int32_t> ban = {1};
  EXPECT_EQ(s.sample(l, ban).id, 2);
  const std::vector<int32_t> ban2 = {1, 2};
  EXPECT_EQ(s.sample(l, ban2).id, 3);
}

TEST(Sampler, TopKMask) {
  SamplingParams p = params(1.0);
  p.top_k = 2;
  const std::vector<float> l = {1, 4, 3, 2};
  const auto d = sampling_distribution(l, p);
  const double z = std::exp(4.0) + std::exp(3.0);
  EXPECT_EQ(d[0], 0);
  EXPECT_NEAR(d[1], std::exp(4.0) / z, 1e-6);
  EXPECT_NEAR(d[2], std::exp(3.0) / z, 1e-6);
  EXPECT_EQ(d[3], 0);
  // top_k <= 0 or >= vocab is disabled.
  for (int64_t k : {0, -1, 4, 100}) {
    p.top_k = k;
    const auto all = sampling_distribution(l, p);
    for (float x : all) EXPECT_GT(x, 0);
  }
  // Ties at the cut keep the lower ids.
  p.top_k = 2;
  const auto tie = sampling_distribution(std::vector<float>{2, 1, 2, 2}, p);
  EXPECT_GT(tie[0], 0);
  EXPECT_EQ(tie[1], 0);
  EXPECT_GT(tie[2], 0);
  EXPECT_EQ(tie[3], 0);
}

TEST(Sampler, TopPKeepsSmallestPrefixReachingP) {
  const auto l = logs_of({0.15, 0.5, 0.05, 0.3});
  SamplingParams p = params(1.0);
  auto nonzero = [&](double top_p) {
    p.top_p = top_p;
    std::vector<int32_t> ids;
    const auto d = sampling_distribution(l, p);
    for (size_t i = 0; i < d.size(); ++i) {
      if (d[i] > 0) ids.push_back(static_cast<int32_t>(i));
    }
    return ids;
  };
  EXPECT_EQ(nonzero(0.4), (std::vector<int32_t>{1}));
  EXPECT_EQ(nonzero(0.5), (std::vector<int32_t>{1}));  // 0.5 alone reaches 0.5
  EXPECT_EQ(nonzero(0.75), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(nonzero(0.9), (std::vector<int32_t>{0, 1, 3}));
  EXPECT_EQ(nonzero(1.0), (std::vector<int32_t>{0, 1, 2, 3}));
  // The kept mass is renormalised.
  p.top_p = 0.75;
  const auto d = sampling_distribution(l, p);
  EXPECT_NEAR(d[1], 0.5 / 0.8, 1e-6);
  EXPECT_NEAR(d[3], 0.3 / 0.8, 1e-6);
  // top_p sees the temperature-scaled distribution: at T = 100 it is near uniform, so 0.75
  // needs three of the four tokens.
  p.temperature = 100;
  EXPECT_EQ(nonzero(0.74).size(), 3u);
}

TEST(Sampler, TopPOverALargeVocabulary) {
  // Uniform over 5000: top_p 0.90001 needs 4501 tokens (4500 make 0.9 < 0.90001), past the
  // sampler's first sorted chunk. (Exactly 0.9 would sit on a rounding edge.)
  const std::vector<float> l(5000, 0.0f);
  SamplingParams p = params(1.0);
  p.top_p = 0.90001;
  const auto d = sampling_distribution(l, p);
  int kept = 0;
  for (float x : d) kept += x > 0;
  EXPECT_EQ(kept, 4501);
  // Ties broken by id: the kept ones are the lowest ids.
  EXPECT_GT(d[4500], 0);
  EXPECT_EQ(d[4501], 0);
}

TEST(Sampler, TopKThenTopP) {
  const auto l = logs_of({0.4, 0.3, 0.2, 0.1});
  SamplingParams p = params(1.0);
  p.top_k = 3;    // {0, 1, 2} renormalised to 4/9, 3/9, 2/9
  p.top_p = 0.7;  // 4/9 + 3/9 = 0.78 >= 0.7
  const auto d = sampling_distribution(l, p);
  EXPECT_NEAR(d[0], 4.0 / 7, 1e-6);
  EXPECT_NEAR(d[1], 3.0 / 7, 1e-6);
  EXPECT_EQ(d[2], 0);
  EXPECT_EQ(d[3], 0);
}

TEST(Sampler, SameSeedSameSequence) {
  const std::vector<float> l = {0.1f, 0.5f, 0.2f, 0.9f, 0.0f, 0.3f, 0.7f};
  SamplingParams p = params(0.8, 1234);
  p.top_p = 0.95;
  Sampler a(p), b(p), c(params(0.8, 1235));
  std::vector<int32_t> sa, sb, sc;
  for (int i = 0; i < 200; ++i) {
    sa.push_back(a.sample(l).id);
    sb.push_back(b.sample(l).id);
    sc.push_back(c.sample(l).id);
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
  // No seed: a random one (two samplers almost surely differ over 200 draws).
  Sampler r1(params(1.0, std::nullopt)), r2(params(1.0, std::nullopt));
  std::vector<int32_t> x1, x2;
  for (int i = 0; i < 200; ++i) {
    x1.push_back(r1.sample(l).id);
    x2.push_back(r2.sample(l).id);
  }
  EXPECT_NE(x1, x2);
}

// Pearson's chi-square of `draws` samples against sampling_distribution. Fixed seed, so the
// statistic is a fixed number; the bound is the 99.9th percentile of chi2 with df = k - 1.
double chi_square(const std::vector<float>& l, const SamplingParams& p, int draws) {
  Sampler s(p);
  std::vector<int> n(l.size(), 0);
  for (int i = 0; i < draws; ++i) ++n[static_cast<size_t>(s.sample(l).id)];
  const auto d = sampling_distribution(l, p);
  double chi = 0;
  for (size_t i = 0; i < l.size(); ++i) {
    const double e = d[i] * draws;
    if (e == 0) {
      EXPECT_EQ(n[i], 0) << "drew a masked token " << i;
      continue;
    }
    chi += (n[i] - e) * (n[i] - e) / e;
  }
  return chi;
}

TEST(Sampler, DrawsFollowTheDistribution) {
  const std::vector<float> l = {1.0f, 0.0f, 2.0f, -1.0f, 0.5f};
  EXPECT_LT(chi_square(l, params(1.0, 42), 20000), 18.47);  // df 4
  EXPECT_LT(chi_square(l, params(0.5, 43), 20000), 18.47);
  SamplingParams p = params(1.5, 44);
  p.top_k = 3;  // df 2
  EXPECT_LT(chi_square(l, p, 20000), 13.82);
  // The empirical mean of a fair coin is near 1/2 (a gross check of the uniform draw).
  Sampler coin(params(1.0, 45));
  int ones = 0;
  for (int i = 0; i < 100000; ++i) ones += coin.sample(std::vector<float>{0, 0}).id;
  EXPECT_NEAR(ones / 100000.0, 0.5, 0.01);
}

TEST(Sampler, TopListIsRawLogprobsDescendingTiesById) {
  const std::vector<float> l = {1, 3, 2, 3, 0};
  SamplingParams p = params(0.7, 9);
  p.top_logprobs = 3;
  p.top_k = 1;  // the choice is masked hard; the list still describes the raw distribution
  Sampler s(p);
  const SampledToken t = s.sample(l);
  const auto lp = log_softmax(l);
  EXPECT_EQ(t.id, 1);
  EXPECT_FLOAT_EQ(t.logprob, lp[1]);
  ASSERT_EQ(t.top.size(), 3u);
  EXPECT_EQ(t.top[0].first, 1);
  EXPECT_EQ(t.top[1].first, 3);
  EXPECT_EQ(t.top[2].first, 2);
  for (const auto& [id, v] : t.top) EXPECT_FLOAT_EQ(v, lp[static_cast<size_t>(id)]);
  // More alternatives than the vocabulary: all of it; zero: none.
  p.top_logprobs = 20;
  EXPECT_EQ(Sampler(p).sample(l).top.size(), 5u);
  p.top_logprobs = 0;
  EXPECT_TRUE(Sampler(p).sample(l).top.empty());
}

TEST(Sampler, BannedIdsAreNeverChosenButKeepTheirLogprob) {
  // EOS (id 0) is by far the most likely; min_tokens bans it.
  const std::vector<float> l = {10, 0, 0.5f};
  const std::vector<int32_t> ban = {0};
  SamplingParams p = params(1.0, 5);
  p.top_logprobs = 1;
  Sampler s(p);
  std::map<int32_t, int> seen;
  for (int i = 0; i < 2000; ++i) {
    const SampledToken t = s.sample(l, ban);
    ++seen[t.id];
    EXPECT_EQ(t.top[0].first, 0);  // the list is the model's view, bans aside
  }
  EXPECT_EQ(seen.count(0), 0u);
  EXPECT_GT(seen[1], 0);
  EXPECT_GT(seen[2], 0);
  const SampledToken t = s.sample(l, ban);
  EXPECT_FLOAT_EQ(t.logprob, log_softmax(l)[static_cast<size_t>(t.id)]);
  // Out-of-range banned ids are ignored.
  const std::vector<int32_t> odd = {-3, 99};
  EXPECT_EQ(Sampler(params(0)).sample(l, odd).id, 0);
}

}  // namespace
}  // namespace cacheon::engine

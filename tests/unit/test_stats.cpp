// Statistics: known answers (numpy's default "linear" percentile) and the empty/NaN conventions.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "harness/stats.h"

namespace cacheon::harness {
namespace {

TEST(StatsPercentile, NumpyLinearKnownAnswers) {
  // numpy.percentile([1, 2, 3, 4], q) for q = 0, 25, 50, 90, 100.
  const std::vector<double> x = {4, 1, 3, 2};  // unsorted on purpose
  EXPECT_DOUBLE_EQ(percentile(x, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile(x, 25), 1.75);
  EXPECT_DOUBLE_EQ(percentile(x, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile(x, 90), 3.7);
  EXPECT_DOUBLE_EQ(percentile(x, 100), 4.0);
  // [15, 20, 35, 40, 50], q = 40: rank (5-1)*0.4 = 1.6 -> 20 + 0.6 * 15 = 29.
  const std::vector<double> y = {15, 20, 35, 40, 50};
  EXPECT_DOUBLE_EQ(percentile(y, 40), 29.0);
  EXPECT_DOUBLE_EQ(percentile(y, 50), 35.0);
  // 10 values 1..10: p99 rank 8.91 -> 9.91.
  std::vector<double> z;
  for (int i = 1; i <= 10; ++i) z.push_back(i);
  EXPECT_NEAR(percentile(z, 99), 9.91, 1e-12);
  EXPECT_NEAR(percentile(z, 90), 9.1, 1e-12);
}

TEST(StatsPercentile, EdgeCases) {
  const std::vector<double> empty;
  EXPECT_EQ(percentile(empty, 50), 0.0);
  const std::vector<double> one = {7.5};
  EXPECT_EQ(percentile(one, 0), 7.5);
  EXPECT_EQ(percentile(one, 99), 7.5);
  const std::vector<double> x = {1, 2, 3};
  EXPECT_EQ(percentile(x, -5), 1.0);   // clamped to 0
  EXPECT_EQ(percentile(x, 150), 3.0);  // clamped to 100
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> dirty = {nan, 1, inf, 3, -inf};
  EXPECT_EQ(percentile(dirty, 50), 2.0);  // non-finite values dropped
  EXPECT_EQ(percentile(x, nan), 2.0);     // a NaN p means the median
}

TEST(StatsBasic, MedianMeanStddevMinMax) {
  const std::vector<double> x = {2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_DOUBLE_EQ(mean(x), 5.0);
  EXPECT_DOUBLE_EQ(stddev(x), 2.0);  // population (ddof = 0)
  EXPECT_DOUBLE_EQ(median(x), 4.5);  // even count: mean of the middle two
  EXPECT_DOUBLE_EQ(min_of(x), 2.0);
  EXPECT_DOUBLE_EQ(max_of(x), 9.0);
  const std::vector<double> odd = {3, 1, 2};
  EXPECT_DOUBLE_EQ(median(odd), 2.0);
  const std::vector<double> empty;
  EXPECT_EQ(mean(empty), 0.0);
  EXPECT_EQ(stddev(empty), 0.0);
  EXPECT_EQ(min_of(empty), 0.0);
  EXPECT_EQ(max_of(empty), 0.0);
}

TEST(StatsSummary, FieldsAndJson) {
  std::vector<double> x;
  for (int i = 1; i <= 10; ++i) x.push_back(i);
  const Summary s = summarize(x);
  EXPECT_EQ(s.count, 10);
  EXPECT_DOUBLE_EQ(s.mean, 5.5);
  EXPECT_DOUBLE_EQ(s.p50, 5.5);
  EXPECT_NEAR(s.p90, 9.1, 1e-12);
  EXPECT_NEAR(s.p99, 9.91, 1e-12);
  EXPECT_EQ(s.min, 1.0);
  EXPECT_EQ(s.max, 10.0);
  const nlohmann::json j = to_json(s);
  EXPECT_EQ(j.at("count"), 10);
  EXPECT_DOUBLE_EQ(j.at("p50").get<double>(), 5.5);

  const Summary e = summarize(std::vector<double>{});
  EXPECT_EQ(e.count, 0);
  const nlohmann::json je = to_json(e);
  EXPECT_TRUE(je.at("p50").is_null());
  EXPECT_TRUE(je.at("mean").is_null());
  EXPECT_EQ(je.at("count"), 0);
}

TEST(StatsSummary, SortedFiniteDropsNonFinite) {
  const std::vector<double> x = {3, std::numeric_limits<double>::quiet_NaN(), 1, 2};
  EXPECT_EQ(sorted_finite(x), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(summarize(x).count, 3);
}

}  // namespace
}  // namespace cacheon::harness

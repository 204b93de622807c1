// Descriptive statistics over plain samples, for metrics, scoring and noise.
//
// Conventions (all functions):
// - Non-finite inputs (NaN, +-inf) are dropped before computing; `count` says how many remain.
// - An empty sample yields 0.0 (never NaN); callers that must tell "no data" from 0 check the
//   count (Summary::count, or emptiness of their own vector). JSON writes an empty Summary's
//   statistics as null.
// - Percentiles use linear interpolation between closest ranks, numpy's default ("linear",
//   type 7 of Hyndman & Fan): sort x[0..n-1], h = (n-1) * p/100,
//   result = x[floor h] + (h - floor h) * (x[floor h + 1] - x[floor h]).
//   So p50 of an even-sized sample is the mean of the two middle values.
// - stddev is the population standard deviation (divide by n, numpy's default ddof=0).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

namespace cacheon::harness {

// The finite values of `xs`, sorted ascending.
std::vector<double> sorted_finite(std::span<const double> xs);

// p in [0, 100] (clamped). See the header comment for the method.
double percentile(std::span<const double> xs, double p);
// Same on a sample already sorted ascending and all finite (no copy).
double percentile_sorted(std::span<const double> sorted, double p);

double median(std::span<const double> xs);
double mean(std::span<const double> xs);
double stddev(std::span<const double> xs);
double min_of(std::span<const double> xs);
double max_of(std::span<const double> xs);

struct Summary {
  int64_t count = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
  double min = 0;
  double stddev = 0;
};

Summary summarize(std::span<const double> xs);

// {"count": n, "mean": .., "p50": .., "p90": .., "p99": .., "min": .., "max": .., "stddev": ..};
// the statistics are null when count is 0.
nlohmann::json to_json(const Summary& s);

}  // namespace cacheon::harness

#include "harness/stats.h"

#include <algorithm>
#include <cmath>

namespace cacheon::harness {

std::vector<double> sorted_finite(std::span<const double> xs) {
  std::vector<double> out;
  out.reserve(xs.size());
  for (double x : xs) {
    if (std::isfinite(x)) out.push_back(x);
  }
  std::sort(out.begin(), out.end());
  return out;
}

double percentile_sorted(std::span<const double> sorted, double p) {
  if (sorted.empty()) return 0.0;
  if (!std::isfinite(p)) p = 50.0;
  p = std::clamp(p, 0.0, 100.0);
  const double h = double(sorted.size() - 1) * p / 100.0;
  const size_t lo = size_t(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  const double frac = h - double(lo);
  return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

double percentile(std::span<const double> xs, double p) {
  const std::vector<double> s = sorted_finite(xs);
  return percentile_sorted(s, p);
}

double median(std::span<const double> xs) {
  return percentile(xs, 50.0);
}

double mean(std::span<const double> xs) {
  double sum = 0;
  int64_t n = 0;
  for (double x : xs) {
    if (!std::isfinite(x)) continue;
    sum += x;
    ++n;
  }
  return n == 0 ? 0.0 : sum / double(n);
}

double stddev(std::span<const double> xs) {
  const double m = mean(xs);
  double acc = 0;
  int64_t n = 0;
  for (double x : xs) {
    if (!std::isfinite(x)) continue;
    acc += (x - m) * (x - m);
    ++n;
  }
  return n == 0 ? 0.0 : std::sqrt(acc / double(n));
}

double min_of(std::span<const double> xs) {
  const std::vector<double> s = sorted_finite(xs);
  return s.empty() ? 0.0 : s.front();
}

double max_of(std::span<const double> xs) {
  const std::vector<double> s = sorted_finite(xs);
  return s.empty() ? 0.0 : s.back();
}

Summary summarize(std::span<const double> xs) {
  const std::vector<double> s = sorted_finite(xs);
  Summary out;
  out.count = int64_t(s.size());
  if (s.empty()) return out;
  out.mean = mean(s);
  out.p50 = percentile_sorted(s, 50);
  out.p90 = percentile_sorted(s, 90);
  out.p99 = percentile_sorted(s, 99);
  out.min = s.front();
  out.max = s.back();
  out.stddev = stddev(s);
  return out;
}

nlohmann::json to_json(const Summary& s) {
  nlohmann::json j;
  j["count"] = s.count;
  const auto v = [&](double x) {
    return s.count == 0 ? nlohmann::json(nullptr) : nlohmann::json(x);
  };
  j["mean"] = v(s.mean);
  j["p50"] = v(s.p50);
  j["p90"] = v(s.p90);
  j["p99"] = v(s.p99);
  j["min"] = v(s.min);
  j["max"] = v(s.max);
  j["stddev"] = v(s.stddev);
  return j;
}

}  // namespace cacheon::harness

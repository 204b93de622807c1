// A token bucket per client address: `rate` requests a second on average, bursts up to `burst`.
// Memory is bounded: past `max_clients` tracked addresses, idle (full) buckets are dropped, and
// if every bucket is busy the table starts over (a flood of addresses cannot grow it).
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cacheon::dashboard {

class RateLimiter {
 public:
  RateLimiter(double rate_per_s, double burst, size_t max_clients = 10'000);
  // True when the request may proceed; else `retry_after_s` says when one token is back.
  bool allow(const std::string& client, int64_t now_ms, double* retry_after_s = nullptr);
  size_t tracked() const;

 private:
  struct Bucket {
    double tokens;
    int64_t last_ms;
  };
  double rate_, burst_;
  size_t max_clients_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace cacheon::dashboard

#include "dashboard/rate_limiter.h"

#include <algorithm>

namespace cacheon::dashboard {

RateLimiter::RateLimiter(double rate_per_s, double burst, size_t max_clients)
    : rate_(rate_per_s), burst_(std::max(1.0, burst)), max_clients_(max_clients) {}

bool RateLimiter::allow(const std::string& client, int64_t now_ms, double* retry_after_s) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) {
      std::erase_if(buckets_, [&](const auto& kv) {
        const Bucket& b = kv.second;
        return b.tokens + (now_ms - b.last_ms) / 1000.0 * rate_ >= burst_;
      });
      if (buckets_.size() >= max_clients_) buckets_.clear();
    }
    it = buckets_.emplace(client, Bucket{burst_, now_ms}).first;
  }
  Bucket& b = it->second;
  const double elapsed_s = std::max<int64_t>(0, now_ms - b.last_ms) / 1000.0;
  b.tokens = std::min(burst_, b.tokens + elapsed_s * rate_);
  b.last_ms = std::max(b.last_ms, now_ms);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  if (retry_after_s) *retry_after_s = (1.0 - b.tokens) / rate_;
  return false;
}

size_t RateLimiter::tracked() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace cacheon::dashboard

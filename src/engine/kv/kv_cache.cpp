#include "engine/kv/kv_cache.h"

#include "core/status.h"

namespace cacheon::engine {

KvCache::KvCache(const ModelConfig& config, int64_t capacity_tokens)
    : layers_(config.num_hidden_layers),
      kv_heads_(config.num_key_value_heads),
      head_dim_(config.head_dim),
      capacity_(capacity_tokens) {
  CACHEON_ASSERT(layers_ > 0 && kv_heads_ > 0 && head_dim_ > 0 && capacity_ > 0);
  const auto n = static_cast<size_t>(layers_ * kv_heads_ * capacity_ * head_dim_);
  // Zero-filled: never-written slots are never read (attention stops at length()), but a
  // defined value keeps sanitizers and debuggers quiet.
  k_.assign(n, 0.0f);
  v_.assign(n, 0.0f);
}

void KvCache::set_length(int64_t n) {
  CACHEON_ASSERT(n >= 0 && n <= capacity_);
  length_ = n;
}

void KvCache::truncate(int64_t n) {
  CACHEON_ASSERT(n >= 0);
  // The data past n stays; it is overwritten by the next append and never read before that.
  if (n < length_) length_ = n;
}

float* KvCache::k(int64_t layer, int64_t kv_head) {
  CACHEON_ASSERT(layer >= 0 && layer < layers_ && kv_head >= 0 && kv_head < kv_heads_);
  return k_.data() + ((layer * kv_heads_ + kv_head) * capacity_ * head_dim_);
}

float* KvCache::v(int64_t layer, int64_t kv_head) {
  CACHEON_ASSERT(layer >= 0 && layer < layers_ && kv_head >= 0 && kv_head < kv_heads_);
  return v_.data() + ((layer * kv_heads_ + kv_head) * capacity_ * head_dim_);
}

size_t KvCache::bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

}  // namespace cacheon::engine

// Per-sequence KV cache for the CPU backend: one contiguous block per layer for K and for V,
// [kv_heads, capacity, head_dim] fp32, so attention reads each head's history linearly.
// (Paged blocks and prefix reuse come with the CUDA backend.)
#pragma once
#include <cstdint>
#include <vector>

#include "engine/model/config.h"

namespace cacheon::engine {

class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t capacity_tokens);
  int64_t length() const { return length_; }      // tokens stored
  int64_t capacity() const { return capacity_; }
  int64_t layers() const { return layers_; }
  int64_t kv_heads() const { return kv_heads_; }
  int64_t head_dim() const { return head_dim_; }
  void set_length(int64_t n);  // CpuModel::forward calls it after appending n - length() tokens
  void truncate(int64_t n);                       // drop tokens >= n
  float* k(int64_t layer, int64_t kv_head);       // -> [capacity, head_dim]
  float* v(int64_t layer, int64_t kv_head);
  size_t bytes() const;

 private:
  int64_t layers_, kv_heads_, head_dim_, capacity_, length_ = 0;
  std::vector<float> k_, v_;
};

}  // namespace cacheon::engine

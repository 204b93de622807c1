// The exact CPU backend of the Qwen2 forward pass: fp32 compute and accumulation, OpenBLAS for
// the matrix products, HF `modeling_qwen2.py` semantics (RMSNorm in fp32, q/k/v with bias, RoPE
// rotate-half with rope_theta, GQA, SwiGLU, tied or untied lm_head). The reference the CUDA
// backend is checked against.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "engine/kv/kv_cache.h"
#include "engine/model/weights.h"

namespace cacheon::engine {

// New tokens of one sequence, appended at cache->length() (positions continue from there).
// A prefill passes the prompt (or a chunk of it); a decode step passes one token.
struct SequenceStep {
  std::span<const int32_t> tokens;
  KvCache* cache = nullptr;
  bool all_logits = false;  // logits for every new token (prompt logprobs), else the last only
};

class CpuModel {
 public:
  // Borrows the weights (they must outlive the model). threads = 0: OpenBLAS default.
  explicit CpuModel(const ModelWeights& weights, int threads = 0);

  // Runs all steps together: rows of every sequence go through the projections and the MLP as
  // one matrix product; attention is per sequence over its own cache. logits[i] receives, for
  // step i, vocab_size floats (last token) or tokens.size() * vocab_size (all_logits).
  // Each step's cache receives the new tokens' K/V and its length() advances by
  // tokens.size() (the caller does not call set_length; it may truncate() to roll back).
  // Each cache appears in at most one step. The whole batch's results equal running each step
  // alone up to fp32 reassociation inside the BLAS (the tests bound it).
  // Invariants (caller bugs) are asserted: capacity, token ids < vocab_size, non-empty steps.
  void forward(std::span<const SequenceStep> steps, std::vector<std::vector<float>>& logits);

  const ModelConfig& config() const;

 private:
  const ModelWeights& w_;
  int threads_;
  std::vector<float> rope_inv_freq_;
};

}  // namespace cacheon::engine

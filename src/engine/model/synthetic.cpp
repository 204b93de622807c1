#include "engine/model/synthetic.h"

#include <algorithm>
#include <cmath>

namespace cacheon::engine {
namespace {

// The target spread of the logits over the vocabulary (see synthetic.h for why 10).
constexpr double kLogitStd = 10.0;
// The std of the attention scores q.k/sqrt(head_dim). Measured (HF transformers, 0.5b shape,
// bf16 vs fp32): at 2.5 the sharp softmax amplifies rounding so much that bf16 and fp32 disagree
// on the chosen token's logprob by a median 0.18 (p90 0.96) and an honest bf16 run failed the
// harness's first-mismatch gate on 7 of 12 prompts; at 1.0: median 0.05, p90 0.22, 0 of 12.
constexpr double kScoreStd = 1.0;
// The layers' share of the residual stream, relative to sqrt(hidden) times the embedding's (see
// synthetic_init). 1.5 rather than 1: softer attention averages more, which weakens the
// context's pull and let the tied embedding's echo of the input token come back.
constexpr double kResidualScale = 1.5;
// RMS of silu(g) * u for g, u ~ N(0, 1) independent: sqrt(E[silu(g)^2]) = 0.5965.
constexpr double kSwiGluRms = 0.5965;

struct Shape {
  const char* name;
  int64_t vocab, hidden, intermediate, layers, heads, kv_heads;
  bool tied;
};

// Qwen2.5-Instruct's config.json values (hf.co/Qwen/Qwen2.5-*-Instruct). `tiny` keeps the real
// vocabulary (the real tokenizer is used) and the smallest attention that still has GQA
// (2 query heads sharing 1 KV head) with head_dim 64: its embedding (151936 x 128 bf16, 38.9 MB)
// is nearly all of its ~39.5 MB.
constexpr Shape kShapes[] = {
    {"tiny", 151936, 128, 256, 2, 2, 1, true},
    {"qwen2.5-0.5b", 151936, 896, 4864, 24, 14, 2, true},
    {"qwen2.5-1.5b", 151936, 1536, 8960, 28, 12, 2, true},
    {"qwen2.5-7b", 152064, 3584, 18944, 28, 28, 4, false},
    {"qwen2.5-72b", 152064, 8192, 29568, 80, 64, 8, false},
};

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TensorInit uniform_with_std(double std) { return {0.0f, float(std * std::sqrt(3.0))}; }

}  // namespace

std::vector<std::string> synthetic_shape_names() {
  std::vector<std::string> out;
  for (const Shape& s : kShapes) out.emplace_back(s.name);
  return out;
}

Result<ModelConfig> synthetic_config(const std::string& shape, DType dtype) {
  for (const Shape& s : kShapes) {
    if (shape != s.name) continue;
    ModelConfig c;
    c.vocab_size = s.vocab;
    c.hidden_size = s.hidden;
    c.intermediate_size = s.intermediate;
    c.num_hidden_layers = s.layers;
    c.num_attention_heads = s.heads;
    c.num_key_value_heads = s.kv_heads;
    c.head_dim = s.hidden / s.heads;
    c.max_position_embeddings = 32768;
    c.rms_norm_eps = 1e-6;
    c.rope_theta = 1'000'000.0;
    c.tie_word_embeddings = s.tied;
    c.torch_dtype = torch_name(dtype);
    c.bos_token_id = 151643;     // <|endoftext|>
    c.eos_token_ids = {151645};  // <|im_end|>
    return c;
  }
  std::string names;
  for (const Shape& s : kShapes) names += std::string(names.empty() ? "" : ", ") + s.name;
  return Error{"invalid_argument", "unknown shape '" + shape + "' (one of " + names + ")"};
}

std::vector<TensorSpec> model_tensor_specs(const ModelConfig& c, DType dtype) {
  const int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim;
  const int64_t kv = c.num_key_value_heads * c.head_dim, inter = c.intermediate_size;
  std::vector<TensorSpec> out;
  out.push_back({"model.embed_tokens.weight", dtype, {c.vocab_size, h}});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    out.push_back({p + "input_layernorm.weight", dtype, {h}});
    out.push_back({p + "self_attn.q_proj.weight", dtype, {q, h}});
    out.push_back({p + "self_attn.q_proj.bias", dtype, {q}});
    out.push_back({p + "self_attn.k_proj.weight", dtype, {kv, h}});
    out.push_back({p + "self_attn.k_proj.bias", dtype, {kv}});
    out.push_back({p + "self_attn.v_proj.weight", dtype, {kv, h}});
    out.push_back({p + "self_attn.v_proj.bias", dtype, {kv}});
    out.push_back({p + "self_attn.o_proj.weight", dtype, {h, q}});
    out.push_back({p + "post_attention_layernorm.weight", dtype, {h}});
    out.push_back({p + "mlp.gate_proj.weight", dtype, {inter, h}});
    out.push_back({p + "mlp.up_proj.weight", dtype, {inter, h}});
    out.push_back({p + "mlp.down_proj.weight", dtype, {h, inter}});
  }
  out.push_back({"model.norm.weight", dtype, {h}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", dtype, {c.vocab_size, h}});
  return out;
}

// Every layer input is RMS-normalised (rms ~1), so each scale below follows from the fan-in:
//  - embed_tokens / lm_head: std kLogitStd / sqrt(hidden), so logits = W . norm(h) have std
//    ~kLogitStd over the vocabulary (tied or not).
//  - q, k: std sqrt(kScoreStd / hidden) each, so q.k / sqrt(head_dim) has std ~kScoreStd.
//  - v, gate, up: std 1 / sqrt(hidden): unit-scale values and pre-activations.
//  - o_proj, down_proj: each sub-layer adds a contribution of rms `a` to the residual stream,
//    with the 2 * layers contributions together ~k times the embedding's rms,
//    k = max(4, kResidualScale * sqrt(hidden)). With tied embeddings the input token's own row
//    would otherwise win the logits (its dot product with itself is ~sqrt(hidden) times a
//    typical logit): this bounds that self-logit to below one typical logit std, far from the
//    ~4.9 std a top token reaches out of 152k.
//  - norms: 1 +- 0.1; biases: q/k std 0.5 sqrt(kScoreStd) (like the weight term), v 0.1.
TensorInit synthetic_init(const ModelConfig& c, const std::string& name) {
  const double hidden = double(c.hidden_size);
  const double emb_std = kLogitStd / std::sqrt(hidden);
  const double k = std::max(4.0, kResidualScale * std::sqrt(hidden));
  const double a = k * emb_std / std::sqrt(2.0 * double(c.num_hidden_layers));
  if (ends_with(name, "layernorm.weight") || name == "model.norm.weight") return {1.0f, 0.1f};
  if (name == "model.embed_tokens.weight" || name == "lm_head.weight") {
    return uniform_with_std(emb_std);
  }
  if (ends_with(name, "q_proj.weight") || ends_with(name, "k_proj.weight")) {
    return uniform_with_std(std::sqrt(kScoreStd / hidden));
  }
  if (ends_with(name, "q_proj.bias") || ends_with(name, "k_proj.bias")) {
    return uniform_with_std(0.5 * std::sqrt(kScoreStd));
  }
  if (ends_with(name, "v_proj.bias")) return uniform_with_std(0.1);
  if (ends_with(name, "v_proj.weight") || ends_with(name, "gate_proj.weight") ||
      ends_with(name, "up_proj.weight")) {
    return uniform_with_std(1.0 / std::sqrt(hidden));
  }
  if (ends_with(name, "o_proj.weight")) {
    return uniform_with_std(a / std::sqrt(double(c.num_attention_heads * c.head_dim)));
  }
  if (ends_with(name, "down_proj.weight")) {
    return uniform_with_std(a / (std::sqrt(double(c.intermediate_size)) * kSwiGluRms));
  }
  return uniform_with_std(0.02);  // not a Qwen2 tensor; the usual initializer_range
}

TensorGenerator::TensorGenerator(const ModelConfig& config, const std::string& name, uint64_t seed)
    : init_(synthetic_init(config, name)), rng_(seed ^ fnv1a64(name)) {}

void TensorGenerator::fill(std::span<float> out) {
  for (float& v : out) v = init_.center + init_.half_width * rng_.uniform_pm1();
}

}  // namespace cacheon::engine

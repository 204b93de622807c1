// Numerics against HF transformers: the CPU backend's logits for the `tiny` synthetic model
// (seed 0, bf16 weights as make-model writes them) equal the golden file that
// tools/hf_golden.py made with Qwen2ForCausalLM (float32, eager attention).
//
// Tolerance: |ours - HF| <= 1e-4 * max|logit| for every stored logit, and the same argmax at
// every position. Both sides compute in fp32 from identical weights; they differ only in
// summation order (OpenBLAS vs torch's kernels, our double-accumulated norms and softmax sums),
// i.e. by rounding noise of order 1e-6 of the logit scale. The golden file records that scale
// directly: HF's own fp32 logits against a float64 run of the same model
// (stats.hf_fp32_cpu_vs_fp64_max_abs). 1e-4 leaves ~100x room over that noise, while any
// semantic slip (a missing bias, RoPE pairing, GQA mapping, norm placement, eps) moves logits
// by O(1) relative to their scale and fails by orders of magnitude.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

#include "engine/kernels/cpu/cpu_model.h"
#include "engine/model/synthetic.h"
#include "engine/model/weights.h"

namespace cacheon::engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kRelTolerance = 1e-4;

json read_golden() {
  std::ifstream in(std::string(CACHEON_TEST_DATA) + "/golden/tiny_logits.json");
  EXPECT_TRUE(in.good()) << "tests/data/golden/tiny_logits.json missing (tools/hf_golden.py)";
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

// The tiny model's weights without writing files: the dummy loader draws exactly the values
// make-model stores for the same seed and dtype (synthetic.h), i.e. what HF loaded.
ModelWeights tiny_weights(uint64_t seed) {
  auto config = synthetic_config("tiny", DType::bf16);
  EXPECT_TRUE(config.ok());
  std::mt19937_64 salt(std::random_device{}());
  const fs::path dir = fs::temp_directory_path() / ("cacheon_golden_" + std::to_string(salt()));
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << config->to_json();
  auto w = load_weights(dir.string(), LoadFormat::dummy, seed);
  fs::remove_all(dir);
  EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message);
  return std::move(*w);
}

// name -> tensor, HF names (as model_tensor_specs lists them).
std::vector<std::pair<std::string, const Tensor*>> named_tensors(const ModelWeights& w) {
  std::vector<std::pair<std::string, const Tensor*>> out = {
      {"model.embed_tokens.weight", &w.embed_tokens}, {"model.norm.weight", &w.norm}};
  if (!w.lm_head.empty()) out.emplace_back("lm_head.weight", &w.lm_head);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const LayerWeights& l = w.layers[i];
    for (const auto& [n, t] : std::initializer_list<std::pair<const char*, const Tensor*>>{
             {"input_layernorm.weight", &l.input_layernorm},
             {"self_attn.q_proj.weight", &l.q_proj_w},
             {"self_attn.q_proj.bias", &l.q_proj_b},
             {"self_attn.k_proj.weight", &l.k_proj_w},
             {"self_attn.k_proj.bias", &l.k_proj_b},
             {"self_attn.v_proj.weight", &l.v_proj_w},
             {"self_attn.v_proj.bias", &l.v_proj_b},
             {"self_attn.o_proj.weight", &l.o_proj_w},
             {"post_attention_layernorm.weight", &l.post_attention_layernorm},
             {"mlp.gate_proj.weight", &l.gate_proj_w},
             {"mlp.up_proj.weight", &l.up_proj_w},
             {"mlp.down_proj.weight", &l.down_proj_w}}) {
      out.emplace_back(p + n, t);
    }
  }
  return out;
}

// Empty when the weights are the ones the golden was made from (numel, sum and sum of
// squares of every tensor, as tools/hf_golden.py recorded them); else what differs.
std::string fingerprint_mismatch(const ModelWeights& w, const json& fp) {
  std::string bad;
  const auto tensors = named_tensors(w);
  if (fp.size() != tensors.size()) bad += "tensor count; ";
  for (const auto& [name, t] : tensors) {
    if (!fp.contains(name)) {
      bad += name + " absent; ";
      continue;
    }
    double sum = 0, sq = 0;
    for (float x : t->data) {
      sum += x;
      sq += static_cast<double>(x) * x;
    }
    const auto& f = fp[name];
    // Double sums of the same fp32 values in another order agree to ~1e-12 relative.
    const double slack = 1e-9 * (std::sqrt(sq * static_cast<double>(t->data.size())) + 1e-30);
    if (f[0].get<size_t>() != t->data.size() || std::abs(f[1].get<double>() - sum) > slack ||
        std::abs(f[2].get<double>() - sq) > 1e-9 * sq) {
      bad += name + "; ";
    }
  }
  return bad;
}

struct Diff {
  double max_abs = 0;
  int64_t compared = 0;
};

// Compares one row of our logits with the golden position; returns the largest difference.
Diff compare_row(std::span<const float> ours, const json& pos, int64_t stride) {
  Diff d;
  auto check = [&](int64_t id, double want) {
    d.max_abs =
        std::max(d.max_abs, std::abs(static_cast<double>(ours[static_cast<size_t>(id)]) - want));
    ++d.compared;
  };
  const auto& ids = pos["top_ids"];
  const auto& vals = pos["top_logits"];
  for (size_t i = 0; i < ids.size(); ++i) check(ids[i].get<int64_t>(), vals[i].get<double>());
  const auto& strided = pos["strided"];
  for (size_t i = 0; i < strided.size(); ++i) {
    check(static_cast<int64_t>(i) * stride, strided[i].get<double>());
  }
  return d;
}

double logsumexp(std::span<const float> row) {
  double mx = -1e300, s = 0;
  for (float x : row) mx = std::max(mx, static_cast<double>(x));
  for (float x : row) s += std::exp(static_cast<double>(x) - mx);
  return mx + std::log(s);
}

class GoldenTiny : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    golden_ = new json(read_golden());
    weights_ = new ModelWeights(tiny_weights((*golden_)["model"]["seed"].get<uint64_t>()));
    stale_ = fingerprint_mismatch(*weights_, (*golden_)["weights_fingerprint"]);
  }
  void SetUp() override {
    // Not a numerics failure: the golden must be remade whenever the generator changes.
    ASSERT_EQ(stale_, "") << "the synthetic `tiny` weights (seed " << (*golden_)["model"]["seed"]
                          << ") differ from those the golden "
                          << "was made from; regenerate it: cacheon-engine make-model --shape "
                             "tiny --seed 0 --out DIR && python3 tools/hf_golden.py --model DIR "
                             "--out tests/data/golden/tiny_logits.json (needs torch and "
                             "transformers: the GPU machine). Differing: "
                          << stale_;
  }
  static void TearDownTestSuite() {
    delete weights_;
    delete golden_;
  }
  static json* golden_;
  static ModelWeights* weights_;
  static std::string stale_;
};
std::string GoldenTiny::stale_;
json* GoldenTiny::golden_ = nullptr;
ModelWeights* GoldenTiny::weights_ = nullptr;

TEST_F(GoldenTiny, EveryPositionMatchesHfTransformers) {
  const json& g = *golden_;
  const auto ids = g["token_ids"].get<std::vector<int32_t>>();
  const auto V = g["vocab_size"].get<int64_t>();
  const auto stride = g["stride"].get<int64_t>();
  ASSERT_EQ(V, weights_->config.vocab_size);
  const double scale = g["stats"]["max_abs_logit"].get<double>();
  const double tol = kRelTolerance * scale;

  CpuModel model(*weights_);
  KvCache cache(weights_->config, 64);
  std::vector<std::vector<float>> out;
  const SequenceStep step{ids, &cache, true};
  model.forward(std::span<const SequenceStep>(&step, 1), out);
  ASSERT_EQ(out[0].size(), ids.size() * static_cast<size_t>(V));

  double worst = 0, worst_lse = 0, worst_vs_fp64 = 0;
  int64_t compared = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    const json& pos = g["positions"][t];
    std::span<const float> row(out[0].data() + t * static_cast<size_t>(V), static_cast<size_t>(V));
    const Diff d = compare_row(row, pos, stride);
    worst = std::max(worst, d.max_abs);
    compared += d.compared;
    EXPECT_LE(d.max_abs, tol) << "position " << t;
    // The log-sum-exp covers the whole row, the ids not stored one by one included.
    const double dl = std::abs(logsumexp(row) - pos["logsumexp_fp64"].get<double>());
    worst_lse = std::max(worst_lse, dl);
    EXPECT_LE(dl, tol) << "position " << t;
    const auto argmax = std::max_element(row.begin(), row.end()) - row.begin();
    EXPECT_EQ(argmax, pos["argmax"].get<int64_t>()) << "position " << t;
    const auto& top = pos["top_ids"];
    for (size_t i = 0; i < top.size(); ++i) {
      worst_vs_fp64 = std::max(worst_vs_fp64, std::abs(row[top[i].get<size_t>()] -
                                                       pos["top_logits_fp64"][i].get<double>()));
    }
  }
  // The numbers the tolerance is argued from, printed for the record.
  std::cout << "golden: " << compared << " logits over " << ids.size() << " positions; max|logit| "
            << scale << "; max abs diff vs HF fp32 " << worst << " (rel " << worst / scale
            << "); log-sum-exp diff " << worst_lse << "; ours vs HF fp64 (top ids) "
            << worst_vs_fp64 << "; HF fp32 vs fp64 "
            << g["stats"]["hf_fp32_cpu_vs_fp64_max_abs"].get<double>() << "; tolerance " << tol
            << "\n";
}

TEST_F(GoldenTiny, DecodeThroughTheCacheMatchesToo) {
  // The same sequence as a prefill of most of it, then one token per forward: positions and
  // the cache's history must line up with HF's one-shot causal forward.
  const json& g = *golden_;
  const auto ids = g["token_ids"].get<std::vector<int32_t>>();
  const auto stride = g["stride"].get<int64_t>();
  const double tol = kRelTolerance * g["stats"]["max_abs_logit"].get<double>();
  CpuModel model(*weights_);
  KvCache cache(weights_->config, 64);
  const size_t split = ids.size() - 8;
  std::vector<std::vector<float>> out;
  const SequenceStep pre{std::span<const int32_t>(ids.data(), split), &cache, false};
  model.forward(std::span<const SequenceStep>(&pre, 1), out);
  EXPECT_LE(compare_row(out[0], g["positions"][split - 1], stride).max_abs, tol);
  for (size_t t = split; t < ids.size(); ++t) {
    const SequenceStep dec{std::span<const int32_t>(ids.data() + t, 1), &cache, false};
    model.forward(std::span<const SequenceStep>(&dec, 1), out);
    EXPECT_LE(compare_row(out[0], g["positions"][t], stride).max_abs, tol) << "position " << t;
    const auto argmax = std::max_element(out[0].begin(), out[0].end()) - out[0].begin();
    EXPECT_EQ(argmax, g["positions"][t]["argmax"].get<int64_t>()) << "position " << t;
  }
}

}  // namespace
}  // namespace cacheon::engine

// The exact CPU backend: each piece against a hand-computed answer, the whole forward against a
// naive double-precision reference written here from the HF formulas, and the KV cache and
// batching invariants (one-shot prefill == prefill + decode == batched decode).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "engine/kernels/cpu/cpu_model.h"
#include "engine/kernels/cpu/cpu_ops.h"
#include "engine/sampler/sampler.h"

namespace cacheon::engine {
namespace {

ModelConfig small_config() {
  ModelConfig c;
  c.vocab_size = 97;
  c.hidden_size = 64;
  c.intermediate_size = 160;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 256;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = true;
  return c;
}

Tensor rand_tensor(std::vector<int64_t> shape, std::mt19937& rng, float scale, float mean = 0) {
  Tensor t;
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  t.shape = std::move(shape);
  std::normal_distribution<float> dist(mean, scale);
  t.data.resize(n);
  for (float& x : t.data) x = dist(rng);
  return t;
}

// Random weights with the shapes of `c`, scaled so activations stay O(1) and logits differ.
ModelWeights random_weights(const ModelConfig& c, uint32_t seed) {
  std::mt19937 rng(seed);
  ModelWeights w;
  w.config = c;
  const int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim;
  const int64_t kv = c.num_key_value_heads * c.head_dim, in = c.intermediate_size;
  const float sh = 1.0f / std::sqrt(static_cast<float>(h));
  w.embed_tokens = rand_tensor({c.vocab_size, h}, rng, 1.0f);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    LayerWeights L;
    L.input_layernorm = rand_tensor({h}, rng, 0.1f, 1.0f);
    L.q_proj_w = rand_tensor({q, h}, rng, sh);
    L.q_proj_b = rand_tensor({q}, rng, 0.1f);
    L.k_proj_w = rand_tensor({kv, h}, rng, sh);
    L.k_proj_b = rand_tensor({kv}, rng, 0.1f);
    L.v_proj_w = rand_tensor({kv, h}, rng, sh);
    L.v_proj_b = rand_tensor({kv}, rng, 0.1f);
    L.o_proj_w = rand_tensor({h, q}, rng, 1.0f / std::sqrt(static_cast<float>(q)));
    L.post_attention_layernorm = rand_tensor({h}, rng, 0.1f, 1.0f);
    L.gate_proj_w = rand_tensor({in, h}, rng, sh);
    L.up_proj_w = rand_tensor({in, h}, rng, sh);
    L.down_proj_w = rand_tensor({h, in}, rng, 1.0f / std::sqrt(static_cast<float>(in)));
    w.layers.push_back(std::move(L));
  }
  w.norm = rand_tensor({h}, rng, 0.1f, 1.0f);
  if (!c.tie_word_embeddings) w.lm_head = rand_tensor({c.vocab_size, h}, rng, sh);
  return w;
}

// Naive reference: double precision, direct loops, straight from modeling_qwen2.py.
std::vector<std::vector<double>> reference_forward(const ModelWeights& w,
                                                   const std::vector<int32_t>& toks) {
  const ModelConfig& c = w.config;
  const int64_t H = c.hidden_size, hd = c.head_dim, nh = c.num_attention_heads;
  const int64_t nkv = c.num_key_value_heads, I = c.intermediate_size;
  const auto T = static_cast<int64_t>(toks.size());
  using Mat = std::vector<std::vector<double>>;
  auto lin = [](const std::vector<double>& x, const Tensor& wt, const Tensor* b, int64_t out) {
    const auto in = static_cast<int64_t>(x.size());
    std::vector<double> y(static_cast<size_t>(out));
    for (int64_t o = 0; o < out; ++o) {
      double s = b ? b->data[static_cast<size_t>(o)] : 0.0;
      for (int64_t i = 0; i < in; ++i)
        s += wt.data[static_cast<size_t>(o * in + i)] * x[static_cast<size_t>(i)];
      y[static_cast<size_t>(o)] = s;
    }
    return y;
  };
  auto norm = [&](const std::vector<double>& x, const Tensor& wt) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double r = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + c.rms_norm_eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = wt.data[i] * x[i] * r;
    return y;
  };
  auto rope = [&](std::vector<double>& v, int64_t heads, int64_t pos) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < hd / 2; ++i) {
        const double ang = pos * std::pow(c.rope_theta, -2.0 * i / hd);
        double& a = v[static_cast<size_t>(h * hd + i)];
        double& b = v[static_cast<size_t>(h * hd + i + hd / 2)];
        const double na = a * std::cos(ang) - b * std::sin(ang);
        const double nb = b * std::cos(ang) + a * std::sin(ang);
        a = na;
        b = nb;
      }
    }
  };
  Mat x(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    const float* e = &w.embed_tokens.data[static_cast<size_t>(toks[static_cast<size_t>(t)] * H)];
    x[static_cast<size_t>(t)].assign(e, e + H);
  }
  for (const LayerWeights& L : w.layers) {
    Mat q(static_cast<size_t>(T)), k(static_cast<size_t>(T)), v(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      const auto hn = norm(x[static_cast<size_t>(t)], L.input_layernorm);
      q[static_cast<size_t>(t)] = lin(hn, L.q_proj_w, &L.q_proj_b, nh * hd);
      k[static_cast<size_t>(t)] = lin(hn, L.k_proj_w, &L.k_proj_b, nkv * hd);
      v[static_cast<size_t>(t)] = lin(hn, L.v_proj_w, &L.v_proj_b, nkv * hd);
      rope(q[static_cast<size_t>(t)], nh, t);
      rope(k[static_cast<size_t>(t)], nkv, t);
    }
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> att(static_cast<size_t>(nh * hd), 0.0);
      for (int64_t h = 0; h < nh; ++h) {
        const int64_t g = h / (nh / nkv);
        std::vector<double> s(static_cast<size_t>(t + 1));
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j <= t; ++j) {
          double d = 0;
          for (int64_t i = 0; i < hd; ++i) {
            d += q[static_cast<size_t>(t)][static_cast<size_t>(h * hd + i)] *
                 k[static_cast<size_t>(j)][static_cast<size_t>(g * hd + i)];
          }
          s[static_cast<size_t>(j)] = d / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[static_cast<size_t>(j)]);
        }
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (int64_t j = 0; j <= t; ++j) {
          for (int64_t i = 0; i < hd; ++i) {
            att[static_cast<size_t>(h * hd + i)] +=
                s[static_cast<size_t>(j)] / sum *
                v[static_cast<size_t>(j)][static_cast<size_t>(g * hd + i)];
          }
        }
      }
      const auto o = lin(att, L.o_proj_w, nullptr, H);
      for (int64_t i = 0; i < H; ++i)
        x[static_cast<size_t>(t)][static_cast<size_t>(i)] += o[static_cast<size_t>(i)];
    }
    for (int64_t t = 0; t < T; ++t) {
      const auto hn = norm(x[static_cast<size_t>(t)], L.post_attention_layernorm);
      auto g = lin(hn, L.gate_proj_w, nullptr, I);
      const auto u = lin(hn, L.up_proj_w, nullptr, I);
      for (int64_t i = 0; i < I; ++i) {
        const double a = g[static_cast<size_t>(i)];
        g[static_cast<size_t>(i)] = a / (1 + std::exp(-a)) * u[static_cast<size_t>(i)];
      }
      const auto d = lin(g, L.down_proj_w, nullptr, H);
      for (int64_t i = 0; i < H; ++i)
        x[static_cast<size_t>(t)][static_cast<size_t>(i)] += d[static_cast<size_t>(i)];
    }
  }
  Mat logits(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    logits[static_cast<size_t>(t)] =
        lin(norm(x[static_cast<size_t>(t)], w.norm), w.output_embedding(), nullptr, c.vocab_size);
  }
  return logits;
}

// max |a - b| / max |b|: one number per row that ignores the scale of the logits.
double rel_diff(std::span<const float> a, std::span<const float> b) {
  double d = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, std::abs(static_cast<double>(a[i]) - b[i]));
    m = std::max(m, std::abs(static_cast<double>(b[i])));
  }
  return d / std::max(m, 1e-30);
}

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

std::vector<float> run_one(CpuModel& m, KvCache& cache, const std::vector<int32_t>& toks,
                           bool all = false) {
  std::vector<std::vector<float>> out;
  SequenceStep st{toks, &cache, all};
  m.forward(std::span<const SequenceStep>(&st, 1), out);
  return out[0];
}

const std::vector<int32_t> kPrompt = {3, 17, 42, 8, 96, 0, 55, 23, 23, 71, 5, 64, 12};

// ---- (a) the pieces, by hand ----

TEST(CpuOps, RmsNormByHand) {
  const float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 2, 0.5f};
  float out[4];
  cpu::rms_norm(x, w, 1, 4, 1e-6, out);
  const double r = 1.0 / std::sqrt(30.0 / 4 + 1e-6);  // mean of squares = 7.5
  EXPECT_NEAR(out[0], 1 * r, 1e-6);
  EXPECT_NEAR(out[1], 2 * r, 1e-6);
  EXPECT_NEAR(out[2], 2 * 3 * r, 1e-6);
  EXPECT_NEAR(out[3], 0.5 * 4 * r, 1e-6);
}

TEST(CpuOps, RopeMatchesDirectFormula) {
  const int64_t hd = 8, heads = 2, pos = 7;
  const double theta = 10000.0;
  std::vector<float> x(static_cast<size_t>(heads * hd));
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.25f * static_cast<float>(i) - 1.0f;
  const auto inv = cpu::rope_inv_freq(hd, theta);
  for (int64_t i = 0; i < hd / 2; ++i) {
    EXPECT_NEAR(inv[static_cast<size_t>(i)], std::pow(theta, -2.0 * i / hd), 1e-7);
  }
  std::vector<float> y = x;
  cpu::apply_rope(y.data(), heads, hd, pos, inv);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < hd / 2; ++i) {
      const double a = pos * std::pow(theta, -2.0 * i / hd);
      const double x1 = x[static_cast<size_t>(h * hd + i)],
                   x2 = x[static_cast<size_t>(h * hd + i + hd / 2)];
      EXPECT_NEAR(y[static_cast<size_t>(h * hd + i)], x1 * std::cos(a) - x2 * std::sin(a), 1e-5);
      EXPECT_NEAR(y[static_cast<size_t>(h * hd + i + hd / 2)], x2 * std::cos(a) + x1 * std::sin(a),
                  1e-5);
    }
  }
  // Position 0 is the identity.
  std::vector<float> z = x;
  cpu::apply_rope(z.data(), heads, hd, 0, inv);
  EXPECT_EQ(z, x);
}

TEST(CpuOps, RopeDotDependsOnlyOnDistance) {
  const int64_t hd = 16;
  const auto inv = cpu::rope_inv_freq(hd, 1e6);
  std::vector<float> q(hd), k(hd);
  for (int64_t i = 0; i < hd; ++i) {
    q[static_cast<size_t>(i)] = std::sin(static_cast<float>(i) + 1);
    k[static_cast<size_t>(i)] = std::cos(2.0f * static_cast<float>(i));
  }
  auto dot_at = [&](int64_t pq, int64_t pk) {
    auto a = q, b = k;
    cpu::apply_rope(a.data(), 1, hd, pq, inv);
    cpu::apply_rope(b.data(), 1, hd, pk, inv);
    double d = 0;
    for (int64_t i = 0; i < hd; ++i)
      d += static_cast<double>(a[static_cast<size_t>(i)]) * b[static_cast<size_t>(i)];
    return d;
  };
  EXPECT_NEAR(dot_at(5, 2), dot_at(13, 10), 1e-5);
  EXPECT_NEAR(dot_at(3, 3), dot_at(0, 0), 1e-5);
}

ModelConfig attn_config(int64_t heads, int64_t kv_heads, int64_t hd) {
  ModelConfig c;
  c.num_hidden_layers = 1;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = hd;
  return c;
}

TEST(CpuOps, AttentionTwoTokensByHand) {
  KvCache cache(attn_config(1, 1, 2), 4);
  const float K[4] = {1, 0, 0, 1}, V[4] = {1, 2, 3, 4};
  std::copy(K, K + 4, cache.k(0, 0));
  std::copy(V, V + 4, cache.v(0, 0));
  const float q[4] = {1, 0, 2, 1};  // row 0 at position 0, row 1 at position 1
  float out[4];
  std::vector<float> scratch;
  cpu::attention(q, 2, 2, 1, 0, cache, 0, out, 2, scratch);
  // Row 0 sees only position 0: its output is V[0].
  EXPECT_FLOAT_EQ(out[0], 1);
  EXPECT_FLOAT_EQ(out[1], 2);
  // Row 1: scores (q.k0, q.k1) / sqrt(2) = (2, 1) / sqrt(2).
  const double s0 = 2 / std::sqrt(2.0), s1 = 1 / std::sqrt(2.0);
  const double p0 = std::exp(s0) / (std::exp(s0) + std::exp(s1)), p1 = 1 - p0;
  EXPECT_NEAR(out[2], p0 * 1 + p1 * 3, 1e-6);
  EXPECT_NEAR(out[3], p0 * 2 + p1 * 4, 1e-6);
  // The same row as a decode step over a 1-token past gives the same answer.
  float dec[2];
  cpu::attention(q + 2, 1, 2, 1, 1, cache, 0, dec, 2, scratch);
  EXPECT_NEAR(dec[0], out[2], 1e-6);
  EXPECT_NEAR(dec[1], out[3], 1e-6);
}

TEST(CpuOps, GqaHeadsShareTheirKvHead) {
  // 4 query heads over 2 kv heads: heads 0,1 read kv head 0, heads 2,3 read kv head 1.
  KvCache cache(attn_config(4, 2, 2), 2);
  for (int64_t g = 0; g < 2; ++g) {
    for (int i = 0; i < 4; ++i) {
      cache.k(0, g)[i] = 0.5f * static_cast<float>(i + g);
      cache.v(0, g)[i] = static_cast<float>(10 * (g + 1));
    }
  }
  std::vector<float> q(2 * 8, 0.3f), out(2 * 8);
  std::vector<float> scratch;
  cpu::attention(q.data(), 2, 8, 4, 0, cache, 0, out.data(), 8, scratch);
  for (int r = 0; r < 2; ++r) {
    for (int h = 0; h < 4; ++h) {
      for (int i = 0; i < 2; ++i)
        EXPECT_FLOAT_EQ(out[static_cast<size_t>(r * 8 + h * 2 + i)], h < 2 ? 10 : 20);
    }
  }
}

TEST(CpuOps, SwigluByHand) {
  float g[4] = {0, 1, -2, 3};
  const float u[4] = {5, 2, 1, -1};
  cpu::swiglu(g, u, 4);
  auto silu = [](double x) { return x / (1 + std::exp(-x)); };
  EXPECT_FLOAT_EQ(g[0], 0);
  EXPECT_NEAR(g[1], silu(1) * 2, 1e-6);
  EXPECT_NEAR(g[2], silu(-2) * 1, 1e-6);
  EXPECT_NEAR(g[3], silu(3) * -1, 1e-6);
}

TEST(CpuOps, LinearWithBias) {
  const float x[6] = {1, 2, 3, -1, 0, 2};     // [2, 3]
  const float w[6] = {1, 0, 1, 0.5f, 2, -1};  // [2 out, 3 in]
  const float b[2] = {0.25f, -1};
  float y[4];
  cpu::linear(x, 2, 3, w, 2, b, y);
  EXPECT_FLOAT_EQ(y[0], 1 + 3 + 0.25f);
  EXPECT_FLOAT_EQ(y[1], 0.5f + 4 - 3 - 1);
  EXPECT_FLOAT_EQ(y[2], -1 + 2 + 0.25f);
  EXPECT_FLOAT_EQ(y[3], -0.5f - 2 - 1);
}

// ---- the whole forward ----

TEST(CpuModel, MatchesNaiveDoubleReference) {
  for (bool tied : {true, false}) {
    ModelConfig c = small_config();
    c.tie_word_embeddings = tied;
    const ModelWeights w = random_weights(c, 7);
    CpuModel m(w, 1);
    KvCache cache(c, 64);
    const auto got = run_one(m, cache, kPrompt, /*all=*/true);
    ASSERT_EQ(got.size(), kPrompt.size() * static_cast<size_t>(c.vocab_size));
    EXPECT_EQ(cache.length(), static_cast<int64_t>(kPrompt.size()));
    const auto ref = reference_forward(w, kPrompt);
    for (size_t t = 0; t < kPrompt.size(); ++t) {
      std::vector<float> r(ref[t].begin(), ref[t].end());
      std::span<const float> row(got.data() + t * static_cast<size_t>(c.vocab_size),
                                 static_cast<size_t>(c.vocab_size));
      // fp32 against double over ~6 chained products of length <= 160: a few 1e-6 relative.
      EXPECT_LT(rel_diff(row, r), 2e-5) << "position " << t << " tied " << tied;
      EXPECT_EQ(argmax(row), argmax(r)) << "position " << t;
    }
  }
}

// ---- (b) KV cache and batching invariants ----

TEST(CpuModel, PrefillThenDecodeEqualsOneShot) {
  const ModelConfig c = small_config();
  const ModelWeights w = random_weights(c, 11);
  CpuModel m(w, 1);
  KvCache one(c, 64);
  const auto all = run_one(m, one, kPrompt, /*all=*/true);
  const size_t V = static_cast<size_t>(c.vocab_size);
  std::span<const float> last(all.data() + (kPrompt.size() - 1) * V, V);

  // Last-token logits alone equal the last row of all_logits.
  KvCache two(c, 64);
  EXPECT_LT(rel_diff(run_one(m, two, kPrompt), last), 1e-6);

  // Prefill all but 4 tokens, then decode them one at a time: every row matches.
  KvCache inc(c, 64);
  const size_t split = kPrompt.size() - 4;
  run_one(m, inc,
          std::vector<int32_t>(kPrompt.begin(), kPrompt.begin() + static_cast<long>(split)));
  for (size_t t = split; t < kPrompt.size(); ++t) {
    const auto row = run_one(m, inc, {kPrompt[t]});
    EXPECT_LT(rel_diff(row, std::span<const float>(all.data() + t * V, V)), 1e-5) << t;
  }
  EXPECT_EQ(inc.length(), static_cast<int64_t>(kPrompt.size()));

  // Truncating rolls back: re-running the dropped tokens gives the same answer.
  inc.truncate(static_cast<int64_t>(split));
  const auto again = run_one(
      m, inc, std::vector<int32_t>(kPrompt.begin() + static_cast<long>(split), kPrompt.end()));
  EXPECT_LT(rel_diff(again, last), 1e-5);
}

TEST(CpuModel, BatchingDoesNotChangeResults) {
  const ModelConfig c = small_config();
  const ModelWeights w = random_weights(c, 13);
  CpuModel m(w, 1);
  const std::vector<std::vector<int32_t>> prompts = {
      {1, 2, 3, 4, 5}, {90, 80, 70}, {7, 7, 7, 7, 7, 7, 7, 7, 7}, {33}};
  const int steps = 10;

  // Alone: greedy generation, one sequence at a time.
  std::vector<std::vector<int32_t>> alone(prompts.size());
  std::vector<std::vector<std::vector<float>>> alone_logits(prompts.size());
  for (size_t s = 0; s < prompts.size(); ++s) {
    KvCache cache(c, 64);
    auto row = run_one(m, cache, prompts[s]);
    for (int i = 0; i < steps; ++i) {
      alone_logits[s].push_back(row);
      alone[s].push_back(argmax(row));
      row = run_one(m, cache, {alone[s].back()});
    }
  }

  // Together: sequence 3 joins late (its prefill rides in the same batch as the others'
  // decodes), the others all decode in one forward per step.
  std::vector<KvCache> caches(prompts.size(), KvCache(c, 64));
  std::vector<std::vector<int32_t>> got(prompts.size());
  std::vector<std::vector<int32_t>> pending = prompts;
  const int join_at = 3;
  for (int step = 0; step < steps + join_at; ++step) {
    std::vector<SequenceStep> batch;
    std::vector<size_t> who;
    for (size_t s = 0; s < prompts.size(); ++s) {
      const bool late = (s == 3);
      if (late && step < join_at) continue;
      if (got[s].size() == static_cast<size_t>(steps)) continue;
      batch.push_back({pending[s], &caches[s], false});
      who.push_back(s);
    }
    if (batch.empty()) break;
    std::vector<std::vector<float>> out;
    m.forward(batch, out);
    for (size_t b = 0; b < who.size(); ++b) {
      const size_t s = who[b];
      EXPECT_LT(rel_diff(out[b], alone_logits[s][got[s].size()]), 1e-5) << s;
      got[s].push_back(argmax(out[b]));
      pending[s] = {got[s].back()};
    }
  }
  EXPECT_EQ(got, alone);
}

TEST(CpuModel, AllLogitsInABatchWithLastOnlySteps) {
  const ModelConfig c = small_config();
  const ModelWeights w = random_weights(c, 17);
  CpuModel m(w, 1);
  const size_t V = static_cast<size_t>(c.vocab_size);
  KvCache a(c, 32), b(c, 32), ref(c, 32);
  const std::vector<int32_t> pa = {5, 6, 7}, pb = {8, 9};
  const auto want = run_one(m, ref, pa, true);
  std::vector<SequenceStep> batch = {{pb, &b, false}, {pa, &a, true}};
  std::vector<std::vector<float>> out;
  m.forward(batch, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].size(), V);
  ASSERT_EQ(out[1].size(), 3 * V);
  EXPECT_LT(rel_diff(out[1], want), 1e-5);
}

TEST(CpuModel, ThreadCountDoesNotChangeGreedyChoice) {
  const ModelConfig c = small_config();
  const ModelWeights w = random_weights(c, 19);
  CpuModel m1(w, 1);
  KvCache c1(c, 32);
  const auto r1 = run_one(m1, c1, kPrompt);
  CpuModel m2(w, 2);
  KvCache c2(c, 32);
  const auto r2 = run_one(m2, c2, kPrompt);
  EXPECT_LT(rel_diff(r2, r1), 1e-5);
  EXPECT_EQ(argmax(r1), argmax(r2));
}

}  // namespace
}  // namespace cacheon::engine

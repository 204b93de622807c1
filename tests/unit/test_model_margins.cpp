// The synthetic weights' scaling does what synthetic.h promises: logits spread ~N(0, 10^2) over
// the vocabulary, so greedy choices have realistic margins (median top-1 lead ~1.5, median
// entropy ~1 nat) instead of coin flips, and the tied embedding does not make the model echo its
// input token. Checked twice: on the output layer alone (no dependency on the forward pass), and
// through the CPU backend's full forward on `tiny`.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/kernels/cpu/cpu_model.h"
#include "engine/kv/kv_cache.h"
#include "engine/model/rng.h"
#include "engine/model/synthetic.h"
#include "engine/model/weights.h"

namespace cacheon::engine {
namespace {

namespace fs = std::filesystem;

struct Margins {
  double std, gap, entropy, top1;
  int32_t argmax;
};

Margins margins(const float* l, int64_t v) {
  const int64_t top = std::max_element(l, l + v) - l;
  float second = -INFINITY;
  double mean = 0, z = 0;
  for (int64_t i = 0; i < v; ++i) {
    if (i != top) second = std::max(second, l[i]);
    mean += l[i];
    z += std::exp(double(l[i] - l[top]));
  }
  mean /= double(v);
  double var = 0, ent = 0;
  for (int64_t i = 0; i < v; ++i) {
    var += (l[i] - mean) * (l[i] - mean);
    const double p = std::exp(double(l[i] - l[top])) / z;
    if (p > 0) ent -= p * std::log(p);
  }
  return {std::sqrt(var / double(v)), double(l[top] - second), ent, 1 / z, int32_t(top)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct TinyDummy {
  fs::path dir;
  ModelWeights w;
  TinyDummy() {
    std::string t = (fs::temp_directory_path() / "cacheon_margins_XXXXXX").string();
    dir = mkdtemp(t.data());
    std::ofstream(dir / "config.json") << synthetic_config("tiny")->to_json();
    w = std::move(*load_weights(dir.string(), LoadFormat::dummy, 0));
  }
  ~TinyDummy() { fs::remove_all(dir); }
};

// Output layer only: h = embedding of a token + the residual the layers add (per element rms
// k * embedding rms, k = 1.5 sqrt(hidden), with random direction), then logits = E . norm(h).
TEST(ModelMargins, OutputLayerOfRandomHiddenStates) {
  TinyDummy t;
  const ModelConfig& c = t.w.config;
  const int64_t hd = c.hidden_size, v = c.vocab_size;
  const float* e = t.w.embed_tokens.data.data();
  Xoshiro256 rng(11);
  std::vector<double> stds, gaps, ents, top1s;
  int echoes = 0;
  const int n = 48;
  for (int s = 0; s < n; ++s) {
    const int32_t tok = int32_t(rng.next() % 151643);
    double emb_rms = 0;
    for (int64_t i = 0; i < hd; ++i) emb_rms += double(e[tok * hd + i]) * e[tok * hd + i];
    emb_rms = std::sqrt(emb_rms / double(hd));
    std::vector<float> h(static_cast<size_t>(hd)), x(static_cast<size_t>(hd));
    const double k = 1.5 * std::sqrt(double(hd));
    for (int64_t i = 0; i < hd; ++i) {
      // sqrt(3) * U(-1, 1) has unit variance.
      h[size_t(i)] = e[tok * hd + i] + float(k * emb_rms * std::sqrt(3.0)) * rng.uniform_pm1();
    }
    double ms = 0;
    for (float f : h) ms += double(f) * f;
    const double inv = 1.0 / std::sqrt(ms / double(hd) + c.rms_norm_eps);
    for (int64_t i = 0; i < hd; ++i) {
      x[size_t(i)] = float(h[size_t(i)] * inv) * t.w.norm.data[size_t(i)];
    }
    std::vector<float> logits(static_cast<size_t>(v));
    for (int64_t r = 0; r < v; ++r) {
      float acc = 0;
      for (int64_t i = 0; i < hd; ++i) acc += e[r * hd + i] * x[size_t(i)];
      logits[size_t(r)] = acc;
    }
    const Margins m = margins(logits.data(), v);
    stds.push_back(m.std);
    gaps.push_back(m.gap);
    ents.push_back(m.entropy);
    top1s.push_back(m.top1);
    echoes += m.argmax == tok;
  }
  EXPECT_NEAR(median(stds), 10.0, 1.0);
  EXPECT_GT(median(gaps), 0.7);
  EXPECT_LT(median(gaps), 3.0);
  EXPECT_GT(median(ents), 0.4);
  EXPECT_LT(median(ents), 2.0);
  EXPECT_GT(median(top1s), 0.4);
  EXPECT_LT(median(top1s), 0.95);
  EXPECT_LE(echoes, n / 10);
}

// The full forward (the CPU backend) over a fixed token sequence and 32 greedy steps.
TEST(ModelMargins, TinyForwardHasRealisticMargins) {
  TinyDummy t;
  const int64_t v = t.w.config.vocab_size;
  CpuModel model(t.w, 1);
  Xoshiro256 rng(5);
  std::vector<int32_t> prompt;
  for (int i = 0; i < 48; ++i) prompt.push_back(int32_t(rng.next() % 151643));
  KvCache cache(t.w.config, 128);
  std::vector<std::vector<float>> logits;
  SequenceStep step{prompt, &cache, true};
  model.forward(std::span(&step, 1), logits);
  std::vector<double> gaps, ents;
  for (size_t i = 0; i < prompt.size(); ++i) {
    const Margins m = margins(&logits[0][i * size_t(v)], v);
    EXPECT_NEAR(m.std, 10.0, 2.5) << i;
    gaps.push_back(m.gap);
    ents.push_back(m.entropy);
  }
  std::vector<float> last(logits[0].end() - v, logits[0].end());
  int32_t cur = prompt.back();
  int echoes = 0;
  std::vector<int32_t> generated;
  for (int g = 0; g < 32; ++g) {
    const Margins m = margins(last.data(), v);
    gaps.push_back(m.gap);
    ents.push_back(m.entropy);
    echoes += m.argmax == cur;
    cur = m.argmax;
    generated.push_back(cur);
    SequenceStep next{std::span<const int32_t>(&generated.back(), 1), &cache, false};
    model.forward(std::span(&next, 1), logits);
    last = logits[0];
  }
  EXPECT_GT(median(gaps), 0.7);
  EXPECT_LT(median(gaps), 3.5);
  EXPECT_GT(median(ents), 0.4);
  EXPECT_LT(median(ents), 2.0);
  EXPECT_LE(echoes, 4);
  std::sort(generated.begin(), generated.end());
  const auto distinct = std::unique(generated.begin(), generated.end()) - generated.begin();
  EXPECT_GE(distinct, 16);  // greedy output is not stuck on one token
}

}  // namespace
}  // namespace cacheon::engine

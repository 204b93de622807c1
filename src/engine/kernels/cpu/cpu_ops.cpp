#include "engine/kernels/cpu/cpu_ops.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/status.h"

namespace cacheon::engine::cpu {

void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, double eps, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* orow = out + r * dim;
    // The mean of squares is summed in double: HF's fp32 reduction is pairwise and close to
    // exact, and a plain fp32 running sum over thousands of terms would not be.
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float var = static_cast<float>(ss / static_cast<double>(dim));
    const float inv = 1.0f / std::sqrt(var + static_cast<float>(eps));
    for (int64_t i = 0; i < dim; ++i) orow[i] = w[i] * (xr[i] * inv);
  }
}

void linear(const float* x, int64_t rows, int64_t in, const float* w, int64_t out_features,
            const float* bias, float* out) {
  if (rows == 0) return;
  if (bias) {
    // Start from the bias and let sgemm accumulate into it (beta = 1): one pass fewer.
    for (int64_t r = 0; r < rows; ++r) std::copy(bias, bias + out_features, out + r * out_features);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows),
              static_cast<int>(out_features), static_cast<int>(in), 1.0f, x, static_cast<int>(in),
              w, static_cast<int>(in), bias ? 1.0f : 0.0f, out, static_cast<int>(out_features));
}

std::vector<float> rope_inv_freq(int64_t head_dim, double theta) {
  CACHEON_ASSERT(head_dim > 0 && head_dim % 2 == 0 && theta > 0);
  std::vector<float> f(static_cast<size_t>(head_dim / 2));
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    // HF: 1.0 / (base ** (arange(0, dim, 2).float() / dim)) in fp32; the exponent is exact in
    // fp32 for these sizes and the power is rounded once.
    const float expo = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    const float p = static_cast<float>(std::pow(theta, static_cast<double>(expo)));
    f[static_cast<size_t>(i)] = 1.0f / p;
  }
  return f;
}

void apply_rope(float* x, int64_t heads, int64_t head_dim, int64_t position,
                const std::vector<float>& inv_freq) {
  const int64_t half = head_dim / 2;
  CACHEON_ASSERT(static_cast<int64_t>(inv_freq.size()) == half);
  // HF forms the angle as an fp32 product (inv_freq @ position_ids) before cos/sin; we round
  // at the same place, then take cos/sin in double and round once.
  float c[512], s[512];
  CACHEON_ASSERT(half <= 512);
  const float pos = static_cast<float>(position);
  for (int64_t i = 0; i < half; ++i) {
    const float angle = inv_freq[static_cast<size_t>(i)] * pos;
    c[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
    s[i] = static_cast<float>(std::sin(static_cast<double>(angle)));
  }
  for (int64_t h = 0; h < heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half];
      v[i] = a * c[i] - b * s[i];
      v[i + half] = b * c[i] + a * s[i];
    }
  }
}

void attention(const float* q, int64_t n, int64_t q_stride, int64_t heads, int64_t past,
               KvCache& cache, int64_t layer, float* out, int64_t out_stride,
               std::vector<float>& scratch) {
  const int64_t kv_heads = cache.kv_heads();
  const int64_t hd = cache.head_dim();
  const int64_t total = past + n;
  CACHEON_ASSERT(n > 0 && kv_heads > 0 && heads % kv_heads == 0 && total <= cache.capacity());
  const int64_t group = heads / kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  scratch.resize(static_cast<size_t>(n * total));
  float* scores = scratch.data();
  for (int64_t h = 0; h < heads; ++h) {
    const int64_t g = h / group;
    const float* k = cache.k(layer, g);
    const float* v = cache.v(layer, g);
    // scores[n, total] = Q_h K^T, then scaled as HF does (matmul, then * scaling).
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n),
                static_cast<int>(total), static_cast<int>(hd), 1.0f, q + h * hd,
                static_cast<int>(q_stride), k, static_cast<int>(hd), 0.0f, scores,
                static_cast<int>(total));
    for (int64_t i = 0; i < n; ++i) {
      float* row = scores + i * total;
      const int64_t visible = past + i + 1;  // causal: positions 0..past+i
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < visible; ++j) {
        row[j] *= scale;
        mx = std::max(mx, row[j]);
      }
      // Softmax in fp32 with the max subtracted; the sum in double keeps the normaliser
      // independent of the row length's rounding.
      double sum = 0;
      for (int64_t j = 0; j < visible; ++j) {
        row[j] = std::exp(row[j] - mx);
        sum += row[j];
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t j = 0; j < visible; ++j) row[j] *= inv;
      // Masked positions weigh exactly zero, so the product below may run over all `total`.
      std::fill(row + visible, row + total, 0.0f);
    }
    // out_h[n, hd] = P[n, total] V[total, hd]
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n),
                static_cast<int>(hd), static_cast<int>(total), 1.0f, scores,
                static_cast<int>(total), v, static_cast<int>(hd), 0.0f, out + h * hd,
                static_cast<int>(out_stride));
  }
}

void swiglu(float* gate, const float* up, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace cacheon::engine::cpu

namespace cacheon::engine::cpu {

std::string blas_kernel_warning() {
  const std::string core = openblas_get_corename();
  const bool generic = core == "Prescott" || core == "Core2" || core == "Nehalem" ||
                       core == "Atom" || core == "Katmai" || core == "Banias";
  if (!generic) return "";
  const char* better = __builtin_cpu_supports("avx512f")                                ? "SkylakeX"
                       : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "Haswell"
                                                                                         : nullptr;
  if (better == nullptr) return "";
  return std::string("OpenBLAS chose its generic '") + core +
         "' kernels on a CPU with " + (std::string(better) == "SkylakeX" ? "AVX-512" : "AVX2") +
         ": set OPENBLAS_CORETYPE=" + better + " for 2x or more";
}

}  // namespace cacheon::engine::cpu

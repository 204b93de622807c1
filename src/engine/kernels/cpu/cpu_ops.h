// The pieces of the Qwen2 forward pass on the CPU, as free functions over raw fp32 rows so
// each one can be checked by hand in tests. Every function follows HF `modeling_qwen2.py`
// (eager attention) in fp32; where HF rounds to fp32 at a step (RoPE angles, softmax
// inputs) we round at the same step, so the golden comparison measures summation order only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/kv/kv_cache.h"

namespace cacheon::engine::cpu {

// out[r] = x[r] * rsqrt(mean(x[r]^2) + eps) * w, for rows of `dim` floats (out may be x).
void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, double eps, float* out);

// out[rows, out_features] = x[rows, in] * w[out, in]^T (+ bias), through cblas_sgemm.
void linear(const float* x, int64_t rows, int64_t in, const float* w, int64_t out_features,
            const float* bias, float* out);

// HF's default RoPE frequencies, rounded to fp32 as HF keeps them:
// inv_freq[i] = 1 / theta^(2i / head_dim), i < head_dim / 2.
std::vector<float> rope_inv_freq(int64_t head_dim, double theta);

// Rotate-half (NeoX) RoPE in place on `heads` consecutive vectors of head_dim floats at one
// position: pairs (i, i + head_dim/2) turn by angle fp32(inv_freq[i] * position).
void apply_rope(float* x, int64_t heads, int64_t head_dim, int64_t position,
                const std::vector<float>& inv_freq);

// Causal attention of one sequence for one layer. q holds n rows (stride q_stride floats) of
// `heads` query vectors; the cache already holds this layer's K/V for positions
// [0, past + n), and query row i sits at position past + i. Query head h reads kv head
// h / (heads / kv_heads) (GQA). Writes n rows of heads * head_dim floats (stride out_stride).
// `scratch` is reused between calls to avoid allocation.
void attention(const float* q, int64_t n, int64_t q_stride, int64_t heads, int64_t past,
               KvCache& cache, int64_t layer, float* out, int64_t out_stride,
               std::vector<float>& scratch);

// gate[i] = silu(gate[i]) * up[i] for `count` floats (the SwiGLU product before down_proj).
void swiglu(float* gate, const float* up, int64_t count);

}  // namespace cacheon::engine::cpu

namespace cacheon::engine::cpu {

// OpenBLAS picks its kernels from the CPU id at load time; 0.3.21 does not know some newer or
// virtualised CPUs and silently falls back to generic SSE3 ("Prescott") kernels, 2x slower or
// worse (BENCHMARKS.md). Returns a warning line naming the OPENBLAS_CORETYPE to set when the
// kernels are generic but the CPU has AVX2/AVX-512, else "".
std::string blas_kernel_warning();

}  // namespace cacheon::engine::cpu

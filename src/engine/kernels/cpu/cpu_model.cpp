#include "engine/kernels/cpu/cpu_model.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "core/status.h"
#include "engine/kernels/cpu/cpu_ops.h"

namespace cacheon::engine {

namespace {

size_t count(const Tensor& t) { return t.data.size(); }

// The loader validated every shape against the config; a mismatch here is a caller bug
// (hand-built weights in a test, say), so it is an invariant, not a Result.
void check_shapes(const ModelWeights& w) {
  const ModelConfig& c = w.config;
  const auto h = static_cast<size_t>(c.hidden_size);
  const auto q = static_cast<size_t>(c.num_attention_heads * c.head_dim);
  const auto kv = static_cast<size_t>(c.num_key_value_heads * c.head_dim);
  const auto inter = static_cast<size_t>(c.intermediate_size);
  CACHEON_ASSERT(c.vocab_size > 0 && c.hidden_size > 0 && c.head_dim > 0 && c.head_dim % 2 == 0 &&
                 c.num_key_value_heads > 0 && c.num_attention_heads % c.num_key_value_heads == 0);
  CACHEON_ASSERT(count(w.embed_tokens) == static_cast<size_t>(c.vocab_size) * h);
  CACHEON_ASSERT(count(w.output_embedding()) == static_cast<size_t>(c.vocab_size) * h);
  CACHEON_ASSERT(count(w.norm) == h);
  CACHEON_ASSERT(static_cast<int64_t>(w.layers.size()) == c.num_hidden_layers);
  for (const LayerWeights& l : w.layers) {
    CACHEON_ASSERT(count(l.input_layernorm) == h && count(l.post_attention_layernorm) == h);
    CACHEON_ASSERT(count(l.q_proj_w) == q * h && count(l.q_proj_b) == q);
    CACHEON_ASSERT(count(l.k_proj_w) == kv * h && count(l.k_proj_b) == kv);
    CACHEON_ASSERT(count(l.v_proj_w) == kv * h && count(l.v_proj_b) == kv);
    CACHEON_ASSERT(count(l.o_proj_w) == h * q);
    CACHEON_ASSERT(count(l.gate_proj_w) == inter * h && count(l.up_proj_w) == inter * h);
    CACHEON_ASSERT(count(l.down_proj_w) == h * inter);
  }
}

}  // namespace

CpuModel::CpuModel(const ModelWeights& weights, int threads) : w_(weights), threads_(threads) {
  check_shapes(w_);
  // OpenBLAS's thread count is process-wide (its own pool); the last model built sets it.
  if (threads_ > 0) openblas_set_num_threads(threads_);
  rope_inv_freq_ = cpu::rope_inv_freq(w_.config.head_dim, w_.config.rope_theta);
}

const ModelConfig& CpuModel::config() const { return w_.config; }

void CpuModel::forward(std::span<const SequenceStep> steps,
                       std::vector<std::vector<float>>& logits) {
  const ModelConfig& c = w_.config;
  const int64_t H = c.hidden_size, hd = c.head_dim;
  const int64_t heads = c.num_attention_heads, kvh = c.num_key_value_heads;
  const int64_t qdim = heads * hd, kvdim = kvh * hd, inter = c.intermediate_size;
  const int64_t V = c.vocab_size;

  // Row bookkeeping: every new token of every step is one row of the batch matrix.
  std::vector<int64_t> first_row(steps.size() + 1, 0);
  for (size_t s = 0; s < steps.size(); ++s) {
    const SequenceStep& st = steps[s];
    CACHEON_ASSERT(st.cache != nullptr && !st.tokens.empty());
    CACHEON_ASSERT(st.cache->layers() == c.num_hidden_layers && st.cache->kv_heads() == kvh &&
                   st.cache->head_dim() == hd);
    CACHEON_ASSERT(st.cache->length() + static_cast<int64_t>(st.tokens.size()) <=
                   st.cache->capacity());
    for (size_t o = 0; o < s; ++o) CACHEON_ASSERT(steps[o].cache != st.cache);
    first_row[s + 1] = first_row[s] + static_cast<int64_t>(st.tokens.size());
  }
  const int64_t R = first_row.back();
  logits.assign(steps.size(), {});
  if (R == 0) return;

  std::vector<float> x(static_cast<size_t>(R * H)), h(static_cast<size_t>(R * H));
  std::vector<float> q(static_cast<size_t>(R * qdim)), k(static_cast<size_t>(R * kvdim));
  std::vector<float> v(static_cast<size_t>(R * kvdim)), att(static_cast<size_t>(R * qdim));
  std::vector<float> gate(static_cast<size_t>(R * inter)), up(static_cast<size_t>(R * inter));
  std::vector<float> scratch;

  const float* emb = w_.embed_tokens.data.data();
  for (size_t s = 0; s < steps.size(); ++s) {
    for (size_t i = 0; i < steps[s].tokens.size(); ++i) {
      const int32_t t = steps[s].tokens[i];
      CACHEON_ASSERT(t >= 0 && t < V);
      std::memcpy(&x[static_cast<size_t>((first_row[s] + static_cast<int64_t>(i)) * H)],
                  emb + static_cast<int64_t>(t) * H, static_cast<size_t>(H) * sizeof(float));
    }
  }

  for (int64_t li = 0; li < c.num_hidden_layers; ++li) {
    const LayerWeights& L = w_.layers[static_cast<size_t>(li)];
    cpu::rms_norm(x.data(), L.input_layernorm.data.data(), R, H, c.rms_norm_eps, h.data());
    cpu::linear(h.data(), R, H, L.q_proj_w.data.data(), qdim, L.q_proj_b.data.data(), q.data());
    cpu::linear(h.data(), R, H, L.k_proj_w.data.data(), kvdim, L.k_proj_b.data.data(), k.data());
    cpu::linear(h.data(), R, H, L.v_proj_w.data.data(), kvdim, L.v_proj_b.data.data(), v.data());

    for (size_t s = 0; s < steps.size(); ++s) {
      KvCache& cache = *steps[s].cache;
      const int64_t past = cache.length();
      const int64_t n = first_row[s + 1] - first_row[s];
      for (int64_t i = 0; i < n; ++i) {
        const int64_t r = first_row[s] + i;
        cpu::apply_rope(&q[static_cast<size_t>(r * qdim)], heads, hd, past + i, rope_inv_freq_);
        cpu::apply_rope(&k[static_cast<size_t>(r * kvdim)], kvh, hd, past + i, rope_inv_freq_);
        // The cache is [kv_head][position][head_dim]: scatter this row's heads.
        for (int64_t g = 0; g < kvh; ++g) {
          const size_t src = static_cast<size_t>(r * kvdim + g * hd);
          std::memcpy(cache.k(li, g) + (past + i) * hd, &k[src], static_cast<size_t>(hd) * 4);
          std::memcpy(cache.v(li, g) + (past + i) * hd, &v[src], static_cast<size_t>(hd) * 4);
        }
      }
      cpu::attention(&q[static_cast<size_t>(first_row[s] * qdim)], n, qdim, heads, past, cache, li,
                     &att[static_cast<size_t>(first_row[s] * qdim)], qdim, scratch);
    }

    // x += o_proj(att): sgemm accumulates straight into the residual (beta = 1).
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(R), static_cast<int>(H),
                static_cast<int>(qdim), 1.0f, att.data(), static_cast<int>(qdim),
                L.o_proj_w.data.data(), static_cast<int>(qdim), 1.0f, x.data(),
                static_cast<int>(H));

    cpu::rms_norm(x.data(), L.post_attention_layernorm.data.data(), R, H, c.rms_norm_eps, h.data());
    cpu::linear(h.data(), R, H, L.gate_proj_w.data.data(), inter, nullptr, gate.data());
    cpu::linear(h.data(), R, H, L.up_proj_w.data.data(), inter, nullptr, up.data());
    cpu::swiglu(gate.data(), up.data(), R * inter);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(R), static_cast<int>(H),
                static_cast<int>(inter), 1.0f, gate.data(), static_cast<int>(inter),
                L.down_proj_w.data.data(), static_cast<int>(inter), 1.0f, x.data(),
                static_cast<int>(H));
  }

  for (const SequenceStep& st : steps) {
    st.cache->set_length(st.cache->length() + static_cast<int64_t>(st.tokens.size()));
  }

  // Only the rows whose logits are wanted go through the final norm and lm_head.
  std::vector<int64_t> out_rows;
  for (size_t s = 0; s < steps.size(); ++s) {
    if (steps[s].all_logits) {
      for (int64_t r = first_row[s]; r < first_row[s + 1]; ++r) out_rows.push_back(r);
    } else {
      out_rows.push_back(first_row[s + 1] - 1);
    }
  }
  const auto R_out = static_cast<int64_t>(out_rows.size());
  for (int64_t i = 0; i < R_out; ++i) {
    cpu::rms_norm(&x[static_cast<size_t>(out_rows[static_cast<size_t>(i)] * H)],
                  w_.norm.data.data(), 1, H, c.rms_norm_eps, &h[static_cast<size_t>(i * H)]);
  }
  std::vector<float> all(static_cast<size_t>(R_out * V));
  cpu::linear(h.data(), R_out, H, w_.output_embedding().data.data(), V, nullptr, all.data());

  int64_t at = 0;
  for (size_t s = 0; s < steps.size(); ++s) {
    const int64_t rows = steps[s].all_logits ? first_row[s + 1] - first_row[s] : 1;
    const float* from = &all[static_cast<size_t>(at * V)];
    logits[s].assign(from, from + rows * V);
    at += rows;
  }
}

}  // namespace cacheon::engine

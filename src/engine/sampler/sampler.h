// Token choice and logprobs from one row of logits. Logprobs are the log-softmax of the raw
// logits (vLLM V1's default "raw" logprobs), whatever the temperature.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace cacheon::engine {

struct SamplingParams {
  double temperature = 1.0;  // 0 (below 1e-5) = greedy (ties: the lowest token id)
  std::optional<double> top_p;
  std::optional<int64_t> top_k;  // <= 0: disabled
  std::optional<uint64_t> seed;  // same seed, same choices; none: a random seed per request
  int top_logprobs = 0;          // 0..20 alternatives per token (when logprobs are wanted)
};

struct SampledToken {
  int32_t id = -1;
  float logprob = 0;                             // log-softmax of the raw logits
  std::vector<std::pair<int32_t, float>> top;    // the top_logprobs best, descending
};

// log-softmax of one row, in place semantics kept simple: returns a new vector.
std::vector<float> log_softmax(std::span<const float> logits);

// The distribution `Sampler::sample` draws from (after temperature, banned ids, top-k, top-p),
// over the whole vocabulary; greedy gives a one-hot row. For tests and backend cross-checks.
std::vector<float> sampling_distribution(std::span<const float> logits,
                                         const SamplingParams& params,
                                         std::span<const int32_t> banned = {});

class Sampler {
 public:
  explicit Sampler(SamplingParams params);
  SampledToken sample(std::span<const float> logits);
  // Used when a token is forced (min_tokens masking EOS is applied by the caller via `banned`).
  SampledToken sample(std::span<const float> logits, std::span<const int32_t> banned);

 private:
  SamplingParams p_;
  uint64_t state_[4];
};

}  // namespace cacheon::engine

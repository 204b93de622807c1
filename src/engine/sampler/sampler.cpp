#include "engine/sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/status.h"

namespace cacheon::engine {

namespace {

// Below this temperature the choice is greedy (vLLM uses the same epsilon): dividing by a
// tinier number would only overflow.
constexpr double kGreedyBelow = 1e-5;

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// xoshiro256** (Blackman & Vigna): small, fast, and the same stream on every platform.
uint64_t next(uint64_t (&s)[4]) {
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

// Uniform in [0, 1) with 53 random bits.
double uniform(uint64_t (&s)[4]) { return static_cast<double>(next(s) >> 11) * 0x1.0p-53; }

bool better(float a, int32_t ia, float b, int32_t ib) { return a > b || (a == b && ia < ib); }

struct Candidate {
  int32_t id;
  float logit;    // temperature-scaled
  double weight;  // exp(logit - max): the unnormalised probability
};

// The tokens the sampler may draw and their unnormalised weights, after banning, top-k and
// top-p. Ordered best first when top-k or top-p sorted them, else by id.
std::vector<Candidate> kept(std::span<const float> logits, const SamplingParams& p,
                            std::span<const int32_t> banned) {
  const auto n = static_cast<int32_t>(logits.size());
  const auto inv_t = static_cast<float>(1.0 / p.temperature);
  std::vector<Candidate> c;
  c.reserve(logits.size());
  for (int32_t i = 0; i < n; ++i) c.push_back({i, logits[static_cast<size_t>(i)] * inv_t, 0.0});
  if (!banned.empty()) {
    std::vector<char> is_banned(logits.size(), 0);
    for (int32_t b : banned) {
      if (b >= 0 && b < n) is_banned[static_cast<size_t>(b)] = 1;
    }
    std::erase_if(c, [&](const Candidate& x) { return is_banned[static_cast<size_t>(x.id)]; });
  }
  CACHEON_ASSERT(!c.empty());  // the caller never bans the whole vocabulary
  auto order = [](const Candidate& a, const Candidate& b) {
    return better(a.logit, a.id, b.logit, b.id);
  };

  if (p.top_k && *p.top_k > 0 && *p.top_k < static_cast<int64_t>(c.size())) {
    const auto k = static_cast<size_t>(*p.top_k);
    std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(k), c.end(), order);
    c.resize(k);
  }
  float mx = -std::numeric_limits<float>::infinity();
  for (const Candidate& x : c) mx = std::max(mx, x.logit);
  double total = 0;
  for (Candidate& x : c) total += (x.weight = std::exp(static_cast<double>(x.logit - mx)));

  if (p.top_p && *p.top_p < 1.0) {
    // Smallest best-first prefix whose probability reaches top_p. Sorting 150k entries per
    // token is slow, and the prefix is usually short: sort a growing head until it is enough.
    const double need = *p.top_p * total;
    size_t sorted = 0, keep = 0;
    double cum = 0;
    for (size_t m = std::min<size_t>(c.size(), 256); keep == 0; m = std::min(c.size(), m * 8)) {
      std::partial_sort(c.begin() + static_cast<std::ptrdiff_t>(sorted),
                        c.begin() + static_cast<std::ptrdiff_t>(m), c.end(), order);
      for (; sorted < m; ++sorted) {
        cum += c[sorted].weight;
        if (cum >= need) {
          keep = sorted + 1;
          break;
        }
      }
      // Rounding can leave the full sum a hair under top_p: then everything is kept.
      if (keep == 0 && m == c.size()) keep = c.size();
    }
    c.resize(keep);
  }
  return c;
}

// log of the sum of exp over the row, max subtracted first (the log-softmax normaliser).
double log_sum_exp(std::span<const float> logits) {
  float mx = -std::numeric_limits<float>::infinity();
  for (float x : logits) mx = std::max(mx, x);
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - mx);
  return static_cast<double>(mx) + std::log(sum);
}

float logprob_of(std::span<const float> logits, int32_t id, double lse) {
  return static_cast<float>(static_cast<double>(logits[static_cast<size_t>(id)]) - lse);
}

// The `want` best tokens by raw logprob (the same order as by raw logit), ties by id.
void fill_top(std::span<const float> logits, double lse, int want, SampledToken& t) {
  const auto n = static_cast<int32_t>(logits.size());
  const auto k = static_cast<size_t>(std::clamp(want, 0, static_cast<int>(n)));
  if (k == 0) return;
  std::vector<int32_t> ids(logits.size());
  for (int32_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = i;
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                    [&](int32_t a, int32_t b) {
                      return better(logits[static_cast<size_t>(a)], a,
                                    logits[static_cast<size_t>(b)], b);
                    });
  for (size_t i = 0; i < k; ++i) t.top.emplace_back(ids[i], logprob_of(logits, ids[i], lse));
}

}  // namespace

std::vector<float> log_softmax(std::span<const float> logits) {
  std::vector<float> out(logits.size());
  if (logits.empty()) return out;
  const double lse = log_sum_exp(logits);
  for (size_t i = 0; i < logits.size(); ++i) {
    out[i] = static_cast<float>(static_cast<double>(logits[i]) - lse);
  }
  return out;
}

std::vector<float> sampling_distribution(std::span<const float> logits,
                                         const SamplingParams& params,
                                         std::span<const int32_t> banned) {
  std::vector<float> probs(logits.size(), 0.0f);
  if (params.temperature < kGreedyBelow) {
    Sampler greedy(params);
    probs[static_cast<size_t>(greedy.sample(logits, banned).id)] = 1.0f;
    return probs;
  }
  const auto k = kept(logits, params, banned);
  double total = 0;
  for (const Candidate& x : k) total += x.weight;
  for (const Candidate& x : k)
    probs[static_cast<size_t>(x.id)] = static_cast<float>(x.weight / total);
  return probs;
}

Sampler::Sampler(SamplingParams params) : p_(params) {
  uint64_t seed = 0;
  if (p_.seed) {
    seed = *p_.seed;
  } else {
    std::random_device rd;
    seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  for (uint64_t& s : state_) s = splitmix64(seed);
}

SampledToken Sampler::sample(std::span<const float> logits) { return sample(logits, {}); }

SampledToken Sampler::sample(std::span<const float> logits, std::span<const int32_t> banned) {
  CACHEON_ASSERT(!logits.empty());
  SampledToken t;
  if (p_.temperature < kGreedyBelow) {
    const auto n = static_cast<int32_t>(logits.size());
    std::vector<char> is_banned(logits.size(), 0);
    for (int32_t b : banned) {
      if (b >= 0 && b < n) is_banned[static_cast<size_t>(b)] = 1;
    }
    for (int32_t i = 0; i < n; ++i) {
      if (is_banned[static_cast<size_t>(i)]) continue;
      // Strictly greater keeps the lowest id among equal maxima.
      if (t.id < 0 || logits[static_cast<size_t>(i)] > logits[static_cast<size_t>(t.id)]) t.id = i;
    }
    CACHEON_ASSERT(t.id >= 0);
  } else {
    const auto k = kept(logits, p_, banned);
    double total = 0;
    for (const Candidate& x : k) total += x.weight;
    const double u = uniform(state_) * total;
    double cum = 0;
    t.id = k.back().id;  // if rounding leaves u past the last sum
    for (const Candidate& x : k) {
      cum += x.weight;
      if (u < cum) {
        t.id = x.id;
        break;
      }
    }
  }
  // Logprobs always describe the raw distribution, whatever temperature/top-k/top-p/bans did.
  // (The normaliser alone, not a whole log-softmax row: 150k-entry rows are the norm.)
  const double lse = log_sum_exp(logits);
  t.logprob = logprob_of(logits, t.id, lse);
  fill_top(logits, lse, p_.top_logprobs, t);
  return t;
}

}  // namespace cacheon::engine

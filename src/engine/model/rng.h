// The model folder's own PRNG (the engine shares nothing with the harness): fully specified so
// that synthetic weights are byte-identical on every platform and standard library.
//
// Generator: xoshiro256** 1.0 (Blackman & Vigna), its state filled by four successive outputs of
// splitmix64 started at the seed. Each tensor has its own stream, seeded by
// `seed ^ fnv1a64(tensor name)`, so one tensor can be generated without the others.
#pragma once
#include <cstdint>
#include <string_view>

namespace cacheon::engine {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// FNV-1a, 64-bit.
inline uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    for (uint64_t& w : s_) w = splitmix64(seed);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in (-1, 1), symmetric about 0: the top 23 bits k of next() give (2k + 1) / 2^23 - 1,
  // exact in fp32.
  float uniform_pm1() {
    const uint32_t k = uint32_t(next() >> 41);
    return float(int32_t(2 * k + 1) - (1 << 23)) * 0x1p-23f;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace cacheon::engine

// A portable, fully specified PRNG for everything the harness draws at random (prompts, load
// schedules). std:: distributions are never used: their algorithms differ across standard
// libraries, and a prompt set must be byte-identical on every platform.
//
// Generator: xoshiro256** 1.0 (Blackman & Vigna), its 256-bit state filled by four successive
// outputs of splitmix64 started at the 64-bit seed.
// uniform(n): Lemire's multiply-shift method with rejection ("Fast random integer generation in
// an interval", 2019): exact, unbiased, consumes one or more next() outputs.
// uniform_double(): the top 53 bits of next() times 2^-53, in [0, 1).
#pragma once
#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace cacheon::harness {

// One splitmix64 step: advances `state` and returns the mixed output.
uint64_t splitmix64(uint64_t& state);

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t next();
  // Uniform in [0, n); n must be > 0 (asserted: a caller bug, never input-driven).
  uint64_t uniform(uint64_t n);
  // Uniform in [0, 1) with 53 bits of resolution.
  double uniform_double();

 private:
  uint64_t s_[4];
};

// The prompt seed of an evaluation:
//   seed = first 8 bytes of SHA-256(raw bytes of the block hash), read big-endian,
// where the block hash is given as hex, with or without a 0x prefix, and decoded to raw bytes
// before hashing (so "0xAB" and "ab" give the same seed). An empty hash or bad hex is rejected
// with code "bad_block_hash".
Result<uint64_t> seed_from_block_hash(std::string_view block_hash_hex);

}  // namespace cacheon::harness

#include "harness/rng.h"

#include "core/sha256.h"

namespace cacheon::harness {

namespace {
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// High and low halves of the 128-bit product a*b, written out so that it needs no compiler
// extension (__int128 is not standard C++).
void mul64(uint64_t a, uint64_t b, uint64_t& hi, uint64_t& lo) {
  uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32;
  uint64_t b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
  uint64_t p0 = a_lo * b_lo;
  uint64_t p1 = a_lo * b_hi;
  uint64_t p2 = a_hi * b_lo;
  uint64_t p3 = a_hi * b_hi;
  uint64_t mid = (p0 >> 32) + (p1 & 0xFFFFFFFFu) + (p2 & 0xFFFFFFFFu);
  lo = (mid << 32) | (p0 & 0xFFFFFFFFu);
  hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
}
}  // namespace

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed) {
  uint64_t sm = seed;
  for (uint64_t& s : s_) s = splitmix64(sm);
}

uint64_t Rng::next() {
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

uint64_t Rng::uniform(uint64_t n) {
  CACHEON_ASSERT(n > 0);
  uint64_t hi = 0, lo = 0;
  mul64(next(), n, hi, lo);
  if (lo < n) {
    // Reject the (2^64 mod n) low values that would make some results more likely.
    const uint64_t threshold = (0 - n) % n;
    while (lo < threshold) mul64(next(), n, hi, lo);
  }
  return hi;
}

double Rng::uniform_double() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

Result<uint64_t> seed_from_block_hash(std::string_view block_hash_hex) {
  Result<std::string> raw = hex_decode(block_hash_hex);
  if (!raw) return Error{"bad_block_hash", "block hash is not hex: " + raw.error().message};
  if (raw->empty()) return Error{"bad_block_hash", "block hash is empty"};
  Sha256Digest d = sha256(*raw);
  uint64_t seed = 0;
  for (int i = 0; i < 8; ++i) seed = (seed << 8) | d[static_cast<size_t>(i)];
  return seed;
}

}  // namespace cacheon::harness

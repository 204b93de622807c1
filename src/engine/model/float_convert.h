// Conversions between fp32 and the 16-bit float formats stored in safetensors files. Rounding is
// round-to-nearest-even, as torch's `.to(torch.bfloat16)` / `.half()` do, so a file we write holds
// the same bits torch would; NaN stays NaN (quiet), infinities and subnormals are exact.
#pragma once
#include <bit>
#include <cstdint>

namespace cacheon::engine {

inline float bf16_to_f32(uint16_t h) { return std::bit_cast<float>(uint32_t(h) << 16); }

inline uint16_t f32_to_bf16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // NaN: keep it quiet
  // Adding 0x7fff plus the lowest kept bit rounds half to even; a carry into the exponent is
  // the correct rounding up to the next binade (or to infinity).
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));  // inf, NaN
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0) return std::bit_cast<float>(sign);  // signed zero
  // Subnormal: value = mant * 2^-24; normalise it into an fp32 exponent.
  int e = 113;  // 127 - 14
  while ((mant & 0x400u) == 0) {
    mant <<= 1;
    --e;
  }
  return std::bit_cast<float>(sign | (uint32_t(e) << 23) | ((mant & 0x3ffu) << 13));
}

inline uint16_t f32_to_f16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));  // NaN
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: infinity
  if (abs < 0x38800000u) {
    // Below the smallest normal (2^-14): a subnormal mant * 2^-24, rounded half to even.
    if (abs < 0x33000000u) return sign;  // below half the smallest subnormal (2^-25)
    const uint32_t exp = abs >> 23;
    const uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // value = m * 2^(exp-150) = (m >> shift) * 2^-24
    const uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    const uint32_t r = q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
    return uint16_t(sign | r);  // r may reach 0x400: the smallest normal, which is correct
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits half to even.
  const uint32_t v = abs - 0x38000000u;  // exponent - 112 in place
  return uint16_t(sign | ((v + 0xfffu + ((v >> 13) & 1u)) >> 13));
}

}  // namespace cacheon::engine

// SHA-256 (through OpenSSL's EVP interface) and hex encoding. Used for prompt seeding, corpus
// ids and content addressing; the digest is the standard FIPS 180-4 one.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cacheon {

using Sha256Digest = std::array<uint8_t, 32>;

// Digest of the raw bytes.
Sha256Digest sha256(std::string_view bytes);

// Lowercase hex of sha256(bytes): 64 characters.
std::string sha256_hex(std::string_view bytes);

// Lowercase hex, two characters per byte.
std::string hex_encode(std::string_view bytes);

// Inverse of hex_encode. Accepts an optional "0x"/"0X" prefix and either case; requires an even
// number of hex digits ("" and "0x" decode to ""). Error code "bad_hex" otherwise.
Result<std::string> hex_decode(std::string_view hex);

}  // namespace cacheon

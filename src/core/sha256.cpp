#include "core/sha256.h"

#include <openssl/evp.h>

namespace cacheon {

Sha256Digest sha256(std::string_view bytes) {
  Sha256Digest out{};
  unsigned int len = 0;
  // One-shot EVP digest; it fails only on allocation failure inside OpenSSL, which we treat as
  // an invariant violation rather than an expected error.
  int rc = EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr);
  CACHEON_ASSERT(rc == 1 && len == out.size());
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256Digest d = sha256(bytes);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<std::string> hex_decode(std::string_view hex) {
  size_t prefix = 0;
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) prefix = 2;
  hex.remove_prefix(prefix);
  if (hex.size() % 2 != 0) {
    return Error{"bad_hex", "hex string has an odd number of digits (" +
                                std::to_string(hex.size()) + ")"};
  }
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]);
    int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      size_t bad = hi < 0 ? i : i + 1;
      return Error{"bad_hex", "not a hex digit at position " + std::to_string(prefix + bad)};
    }
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

}  // namespace cacheon

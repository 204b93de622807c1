#include "ledger/keys.h"

#include <mutex>

#include <sodium.h>

#include "core/sha256.h"

namespace cacheon::ledger {
namespace {

// sodium_init() is itself idempotent; call_once keeps the first call race-free and lets a
// failure (no entropy source) stop the process before a key is made from nothing.
void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] { CACHEON_ASSERT(sodium_init() >= 0); });
}

}  // namespace

std::string Keypair::address() const {
  return "0x" + hex_encode(std::string_view(reinterpret_cast<const char*>(public_key.data()),
                                            public_key.size()));
}

Keypair generate_keypair() {
  ensure_sodium();
  std::array<uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  Keypair k = keypair_from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return k;
}

Keypair keypair_from_seed(const std::array<uint8_t, 32>& seed) {
  ensure_sodium();
  Keypair k;
  crypto_sign_seed_keypair(k.public_key.data(), k.secret_key.data(), seed.data());
  return k;
}

std::string sign(const Keypair& key, std::string_view message) {
  ensure_sodium();
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       key.secret_key.data());
  return sig;
}

bool verify(std::string_view address, std::string_view message, std::string_view signature) {
  ensure_sodium();
  auto pk = parse_address(address);
  if (!pk.ok() || signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), pk->data()) == 0;
}

Result<std::array<uint8_t, 32>> parse_address(std::string_view address) {
  auto bad = [&] {
    return Error{"bad_address", "an address is \"0x\" followed by 64 lowercase hex digits, got \"" +
                                    std::string(address.substr(0, 80)) + "\""};
  };
  if (address.size() != 66 || address[0] != '0' || address[1] != 'x') return bad();
  for (char c : address.substr(2))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return bad();
  auto bytes = hex_decode(address);
  if (!bytes.ok() || bytes->size() != 32) return bad();
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>((*bytes)[i]);
  return out;
}

std::string seed_of(const Keypair& key) {
  return std::string(reinterpret_cast<const char*>(key.secret_key.data()), 32);
}

}  // namespace cacheon::ledger

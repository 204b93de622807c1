// Ed25519 keypairs (libsodium) and the wallet directory that stores them: one coldkey and any
// number of hotkeys per wallet, like a Bittensor wallet (~/.bittensor/wallets/NAME/...).
// Public keys travel as "0x" + 64 lowercase hex.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cacheon::ledger {

struct Keypair {
  std::array<uint8_t, 32> public_key{};
  std::array<uint8_t, 64> secret_key{};  // libsodium layout: seed || public key
  std::string address() const;           // "0x" + hex(public_key)
};

// A fresh random keypair; or a deterministic one from a 32-byte seed (tests, demos).
Keypair generate_keypair();
Keypair keypair_from_seed(const std::array<uint8_t, 32>& seed);

// Detached Ed25519 signature over message: 64 bytes.
std::string sign(const Keypair& key, std::string_view message);
bool verify(std::string_view address, std::string_view message, std::string_view signature);
// "bad_address" unless "0x" + 64 lowercase hex (the one spelling, so addresses compare as text).
Result<std::array<uint8_t, 32>> parse_address(std::string_view address);
// The 32-byte seed the keypair was made from (what a wallet file stores).
std::string seed_of(const Keypair& key);

}  // namespace cacheon::ledger

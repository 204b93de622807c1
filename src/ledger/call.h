// Signed calls: the only way state changes on the embedded ledger. A call is encoded into one
// canonical byte string (below), signed with Ed25519 by its signer, and verified by the ledger
// before it is applied; the encoding, signature(s) and signer are stored with the block that
// includes the call, so the whole chain can be re-verified later (LocalLedger::verify_chain).
//
// Encoding (big-endian integers, every length checked on decode, no trailing bytes):
//   "cacheon-call/1" | genesis hash (32) | kind (u8) | signer (32) | nonce (u64) | body
//   transfer:    to (32) | amount_rao (u64) | remark (u32 length + bytes)
//   register:    netuid (u16) | hotkey (32)         (the hotkey co-signs the same bytes)
//   commit:      netuid (u16) | data (u32 length + bytes)
//   set_weights: netuid (u16) | count (u32) | count x (uid u16, weight u16)
// The genesis hash binds a call to one chain and the per-signer nonce makes each call usable
// once (a replayed call fails with "bad_nonce").
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "ledger/keys.h"
#include "ledger/ledger.h"

namespace cacheon::ledger {

enum class CallKind : uint8_t { kTransfer = 1, kRegister = 2, kCommit = 3, kSetWeights = 4 };
const char* call_kind_name(CallKind kind);

inline constexpr size_t kMaxWeights = 65535;

struct Call {
  CallKind kind = CallKind::kTransfer;
  std::string genesis_hash;  // "0x" + 64 hex
  std::string signer;        // address of the key that signs (coldkey or hotkey)
  uint64_t nonce = 0;
  // transfer
  std::string to;
  int64_t amount_rao = 0;
  std::string remark;
  // register, commit, set_weights
  int netuid = 0;
  std::string hotkey;  // register: the hotkey being registered (co-signer)
  std::string data;    // commit
  std::vector<UidWeight> weights;
};

// "bad_call" when a field is out of range (negative amount, netuid beyond u16, bad address).
Result<std::string> encode_call(const Call& call);
// Strict inverse of encode_call; "bad_call" on any malformed input. Bounds are the encoding's;
// the ledger applies its own policy bounds (remark, data, weights) when applying.
Result<Call> decode_call(std::string_view bytes);

struct SignedCall {
  std::string encoded;      // encode_call bytes
  std::string signature;    // 64 bytes by Call::signer
  std::string cosignature;  // register only: 64 bytes by Call::hotkey over the same bytes
};

// Encodes and signs. For register, `cosigner` must be the hotkey's keypair.
Result<SignedCall> sign_call(const Call& call, const Keypair& signer,
                             const Keypair* cosigner = nullptr);
// Decodes and checks the signature(s): "bad_call" or "bad_signature".
Result<Call> verify_signed_call(const SignedCall& signed_call);
// "0x" + sha256(encoded): the call's id (a transfer's id is its call id).
std::string call_id(std::string_view encoded);

}  // namespace cacheon::ledger

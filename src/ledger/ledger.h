// The chain seen as a ledger: blocks with hashes, accounts (coldkeys with balances, hotkeys they
// own), a metagraph per subnet (UIDs <-> hotkeys), transfers with remarks, one commitment per
// hotkey per subnet (the latest wins), and weights set by validators under a rate limit. Every
// read can be made at a past block. Shaped for Bittensor's subtensor so that backend can come
// later behind the same interface; `LocalLedger` (SQLite) is the embedded default for private
// arenas and tests.
//
// Every write is signed by the key that authorizes it (a coldkey pays and registers, a hotkey
// commits and sets weights) and the ledger verifies the signature before applying it: a write
// with a wrong or missing signature is rejected ("bad_signature"), never applied.
//
// Amounts are integers in rao (1 TAO = 1e9 rao), as on chain. Keys and hashes are text:
// "0x" + lowercase hex (32-byte Ed25519 public keys; 32-byte block hashes; transfer ids).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "ledger/keys.h"

namespace cacheon::ledger {

using BlockNumber = int64_t;
inline constexpr int64_t kRaoPerTao = 1'000'000'000;

struct BlockInfo {
  BlockNumber number = 0;
  std::string hash;          // "0x" + 64 hex
  std::string parent_hash;   // "0x" + 64 zeros for block 0
  int64_t timestamp_ms = 0;  // wall clock when the block was produced
};

struct Neuron {
  int uid = -1;
  std::string hotkey;
  std::string coldkey;  // the owner that registered it
  BlockNumber registered_at = 0;
};

struct Transfer {
  std::string id;  // "0x" + hex; stable, unique (hash of the signed call)
  BlockNumber block = 0;
  std::string from;  // coldkey
  std::string to;    // coldkey
  int64_t amount_rao = 0;
  std::string remark;
};

struct Commitment {
  std::string hotkey;
  int netuid = 0;
  BlockNumber block = 0;  // the block that included it
  std::string data;       // bounded (kMaxCommitmentBytes)
};

struct UidWeight {
  int uid = 0;
  uint16_t weight = 0;  // u16-normalized, as on chain
};

struct WeightsSet {
  std::string validator_hotkey;
  int netuid = 0;
  BlockNumber block = 0;
  std::vector<UidWeight> weights;
};

inline constexpr size_t kMaxCommitmentBytes = 1024;
inline constexpr size_t kMaxRemarkBytes = 256;

class Ledger {
 public:
  virtual ~Ledger() = default;

  // Chain position. finalized() <= head(); reads for decisions use finalized blocks.
  virtual Result<BlockInfo> head() = 0;
  virtual Result<BlockInfo> finalized() = 0;
  virtual Result<BlockInfo> block(BlockNumber number) = 0;  // "unknown_block" past head

  // Reads at a block (the state after that block was applied).
  virtual Result<int64_t> balance(std::string_view coldkey, BlockNumber at) = 0;
  virtual Result<std::vector<Neuron>> metagraph(int netuid, BlockNumber at) = 0;
  // Every commitment included in (from_exclusive, to_inclusive], in block order.
  virtual Result<std::vector<Commitment>> commitments(int netuid, BlockNumber from_exclusive,
                                                      BlockNumber to_inclusive) = 0;
  // The hotkey's latest commitment at `at`, if any.
  virtual Result<std::optional<Commitment>> commitment(int netuid, std::string_view hotkey,
                                                       BlockNumber at) = 0;
  virtual Result<std::optional<Transfer>> find_transfer(std::string_view id) = 0;
  // The latest weights this validator set at or before `at`.
  virtual Result<std::optional<WeightsSet>> weights(int netuid, std::string_view validator_hotkey,
                                                    BlockNumber at) = 0;
  // Blocks a validator must wait between two set_weights (the chain's rate limit).
  virtual Result<int64_t> weights_rate_limit(int netuid) = 0;

  // Signed writes; each is included in the next block (LocalLedger) and returns what it wrote.
  virtual Result<Transfer> transfer(const Keypair& from_coldkey, std::string_view to_coldkey,
                                    int64_t amount_rao, std::string_view remark) = 0;
  // Registers a hotkey owned by coldkey on the subnet; returns its UID. A full subnet recycles
  // the UID of the oldest registration (deregistering that hotkey), as subtensor prunes.
  virtual Result<Neuron> register_hotkey(const Keypair& coldkey, const Keypair& hotkey,
                                         int netuid) = 0;
  virtual Result<Commitment> commit(const Keypair& hotkey, int netuid, std::string_view data) = 0;
  // "rate_limited" when called again within weights_rate_limit blocks.
  virtual Result<WeightsSet> set_weights(const Keypair& validator_hotkey, int netuid,
                                         const std::vector<UidWeight>& weights) = 0;
};

}  // namespace cacheon::ledger

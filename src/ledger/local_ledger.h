// LocalLedger: the embedded chain on one SQLite file (WAL). A faithful stand-in for subtensor for
// private arenas and tests: every write is a signed call verified before it is applied, blocks
// are hash-chained over the calls they include, and every read can be made at a past block.
// Design notes (data model, clock, finality, UID recycling): src/ledger/README.md.
//
// Inclusion: a write is applied to the pending block (head + 1) inside one BEGIN IMMEDIATE
// transaction and returns that block number; reads only see sealed blocks (at <= head). The
// pending block is sealed
//   - kClock:    lazily, by whichever call (any process) first sees its slot time has passed;
//                block n's timestamp is genesis + n * block_time, so no daemon is needed and
//                catching up produces the same empty blocks whoever does it;
//   - kOnDemand: by produce_block() (tests, `cacheon ledger produce-block`);
//   - kInstant:  by the write itself, before it returns (one call per block; demos, scripts).
// Several processes may share the file: writes serialize on SQLite's lock (busy timeout).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sqlite.h"
#include "core/status.h"
#include "ledger/call.h"
#include "ledger/ledger.h"

namespace cacheon::ledger {

enum class BlockMode { kClock, kOnDemand, kInstant };

struct SubnetConfig {
  int netuid = 1;
  int max_uids = 256;
  int64_t immunity_period = 4096;    // blocks a new registration cannot be recycled
  int64_t weights_rate_limit = 100;  // blocks between two set_weights of one validator
  int64_t registration_burn_rao = 0;
};

struct ChainConfig {
  BlockMode mode = BlockMode::kClock;
  int64_t block_time_ms = 12'000;  // kClock only
  int64_t finality_depth = 0;      // finalized = head - finality_depth
  int64_t faucet_balance_rao = 1'000'000 * kRaoPerTao;
  std::optional<std::array<uint8_t, 32>> faucet_seed;  // default: random, kept in the file
  std::vector<SubnetConfig> subnets = {SubnetConfig{}};
};

// "12s", "500ms", "2.5s" (kClock), "on-demand", "instant". "bad_block_time" otherwise.
Status parse_block_time(std::string_view text, ChainConfig& config);
std::string block_time_text(const ChainConfig& config);

struct Receipt {
  std::string call_id;
  BlockNumber block = 0;  // the block that includes (or will include) the call
  CallKind kind = CallKind::kTransfer;
};

// A stored call as a block lists it.
struct CallRecord {
  std::string id;
  BlockNumber block = 0;
  int seq = 0;
  std::string kind;
  std::string signer;
  SignedCall signed_call;
};

class LocalLedger final : public Ledger {
 public:
  struct Options {
    std::function<int64_t()> now_ms;  // wall clock in ms; default cacheon::wall_ms
    int busy_timeout_ms = 10'000;
  };

  // A new chain at `path` ("ledger_exists" if the file already holds one; ":memory:" works).
  static Result<std::unique_ptr<LocalLedger>> create(const std::string& path,
                                                     const ChainConfig& config, Options options);
  static Result<std::unique_ptr<LocalLedger>> create(const std::string& path,
                                                     const ChainConfig& config) {
    return create(path, config, Options{});
  }
  // An existing chain ("not_a_ledger" when the file is missing or holds something else).
  static Result<std::unique_ptr<LocalLedger>> open(const std::string& path, Options options);
  static Result<std::unique_ptr<LocalLedger>> open(const std::string& path) {
    return open(path, Options{});
  }

  // Ledger
  Result<BlockInfo> head() override;
  Result<BlockInfo> finalized() override;
  Result<BlockInfo> block(BlockNumber number) override;
  Result<int64_t> balance(std::string_view coldkey, BlockNumber at) override;
  Result<std::vector<Neuron>> metagraph(int netuid, BlockNumber at) override;
  Result<std::vector<Commitment>> commitments(int netuid, BlockNumber from_exclusive,
                                              BlockNumber to_inclusive) override;
  Result<std::optional<Commitment>> commitment(int netuid, std::string_view hotkey,
                                               BlockNumber at) override;
  Result<std::optional<Transfer>> find_transfer(std::string_view id) override;
  Result<std::optional<WeightsSet>> weights(int netuid, std::string_view validator_hotkey,
                                            BlockNumber at) override;
  Result<int64_t> weights_rate_limit(int netuid) override;
  Result<Transfer> transfer(const Keypair& from_coldkey, std::string_view to_coldkey,
                            int64_t amount_rao, std::string_view remark) override;
  Result<Neuron> register_hotkey(const Keypair& coldkey, const Keypair& hotkey,
                                 int netuid) override;
  Result<Commitment> commit(const Keypair& hotkey, int netuid, std::string_view data) override;
  Result<WeightsSet> set_weights(const Keypair& validator_hotkey, int netuid,
                                 const std::vector<UidWeight>& weights) override;

  // The embedded chain's own surface.
  const ChainConfig& config() const { return config_; }
  const std::string& genesis_hash() const { return genesis_hash_; }
  Keypair faucet() const;  // the dev chain's funded key (like Alice); its seed is in the file
  Result<Transfer> fund(std::string_view to_coldkey, int64_t amount_rao);
  // Seals the pending block (empty if nothing is pending). "not_on_demand" on kClock chains.
  Result<BlockInfo> produce_block();
  // Applies a call signed elsewhere (the typed writes above come through here too).
  Result<Receipt> submit(const SignedCall& signed_call);
  Result<uint64_t> next_nonce(std::string_view address);
  Result<SubnetConfig> subnet(int netuid);

  // Inspection. Blocks in [from, to] (clamped to the chain); a block's calls in order.
  Result<std::vector<BlockInfo>> blocks(BlockNumber from, BlockNumber to);
  Result<std::vector<CallRecord>> calls_in_block(BlockNumber number);
  // Transfers from `from_coldkey` with exactly `remark`, pending ones included (block > head),
  // oldest first: how `cacheon commit` finds a fee it already paid.
  Result<std::vector<Transfer>> find_transfers(std::string_view from_coldkey,
                                               std::string_view remark);
  Result<std::optional<Transfer>> find_transfer_any(std::string_view id);  // pending included
  // Every commitment of one hotkey, pending included, oldest first.
  Result<std::vector<Commitment>> commitment_history(int netuid, std::string_view hotkey);
  // The latest weights of every validator at `at`.
  Result<std::vector<WeightsSet>> all_weights(int netuid, BlockNumber at);
  // Re-derives every block hash from its parent and calls and re-verifies every signature:
  // "chain_corrupt" naming the first block that does not check out.
  Status verify_chain();

 private:
  LocalLedger(SqliteDb db, Options options) : db_(std::move(db)), options_(std::move(options)) {}
  Status load_config();
  int64_t now() const;
  Status sync();             // seals due clock blocks (own transaction when needed)
  Status catch_up_locked();  // inside a write transaction
  Result<BlockInfo> seal_locked(BlockNumber number, int64_t timestamp_ms);
  Result<BlockInfo> head_locked();
  Status check_at(BlockNumber at);
  Result<Receipt> apply_locked(const SignedCall& signed_call);
  Result<Receipt> sign_and_submit(Call call, const Keypair& signer, const Keypair* cosigner);

  SqliteDb db_;
  Options options_;
  ChainConfig config_;
  std::string genesis_hash_;
  int64_t genesis_ms_ = 0;
  Keypair faucet_;
};

}  // namespace cacheon::ledger

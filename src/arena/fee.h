// The fee: a submission's payment proof is a ledger transfer id. The transfer must pay at least
// the fee, to the arena's payment account, from the coldkey that owns the submitting hotkey, with
// the remark `cacheon:<hotkey>:<digest>`; and no other submission may have used it. Pure: the
// validator looks the transfer and the hotkey's owner up on the ledger and hands them here.
//
// Decisions (see README.md):
// - Ledger unreachable, or the transfer lies beyond the block the validator reads at (not final
//   yet for it): DEFER, never reject. The submission is checked again at a later scan.
// - The payment need not precede the commitment: the remark binds it to (hotkey, digest) and a
//   proof pays for one submission only, so a miner who commits first and pays second gains
//   nothing. It must be at or before the block the validator reads at.
// - A transfer id the ledger does not know (at a read block at or after the commit) is a reject:
//   the commitment names a payment that does not exist.
// - Checks in order, the first failure is reported: proof format, lookup (defer / not found),
//   finality (defer), payee, payer, remark, amount, reuse.
// - "Used" proofs are those of ACCEPTED submissions only: a rejected submission does not burn
//   its proof. Re-verifying the submission that owns a proof accepts again (idempotent after a
//   crash).
// - An invalid fee configuration (negative fee, empty payee) defers: arena-side, never the
//   miner's fault.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "arena/types.h"

namespace cacheon::arena {

namespace fee_code {
inline constexpr std::string_view kBadProof = "bad_payment_proof";
inline constexpr std::string_view kNotFound = "payment_not_found";
inline constexpr std::string_view kWrongPayee = "payment_wrong_payee";
inline constexpr std::string_view kWrongPayer = "payment_wrong_payer";
inline constexpr std::string_view kHotkeyUnregistered = "payment_hotkey_unregistered";
inline constexpr std::string_view kWrongRemark = "payment_wrong_remark";
inline constexpr std::string_view kTooSmall = "payment_too_small";
inline constexpr std::string_view kReused = "payment_proof_reused";
// defer reasons
inline constexpr std::string_view kLedgerUnreachable = "ledger_unreachable";
inline constexpr std::string_view kNotFinal = "payment_not_final";
inline constexpr std::string_view kFeeConfigInvalid = "fee_config_invalid";
}  // namespace fee_code

// "cacheon:<hotkey>:<digest>"
std::string fee_remark(std::string_view hotkey, std::string_view digest);

// A transfer as read from the ledger (mirrors ledger::Transfer without the dependency).
struct TransferRecord {
  std::string id;
  BlockNumber block = 0;
  std::string from;  // payer coldkey
  std::string to;    // payee coldkey
  int64_t amount_rao = 0;
  std::string remark;
};

// What looking the proof up on the ledger gave.
struct TransferLookup {
  enum class Kind { found, not_found, unreachable };
  Kind kind = Kind::unreachable;
  std::optional<TransferRecord> transfer;  // set when found
  std::string detail;                      // e.g. the ledger's error message when unreachable
  static TransferLookup found(TransferRecord t) { return {Kind::found, std::move(t), {}}; }
  static TransferLookup not_found() { return {Kind::not_found, std::nullopt, {}}; }
  static TransferLookup unreachable(std::string why) {
    return {Kind::unreachable, std::nullopt, std::move(why)};
  }
};

struct FeeRules {
  std::string payee;           // the arena's payment coldkey
  int64_t fee_rao = 0;         // minimum amount
  BlockNumber read_block = 0;  // the (finalized) block the validator reads the ledger at
};

// A proof consumed by an accepted submission.
struct ProofUse {
  std::string proof;
  std::string hotkey;
  BlockNumber commit_block = 0;
};

struct PaymentOutcome {
  enum class Decision { accept, reject, defer };
  Decision decision = Decision::defer;
  std::string code;     // "" on accept; a fee_code otherwise
  std::string message;  // one human line
  bool accepted() const { return decision == Decision::accept; }
};
std::string_view to_string(PaymentOutcome::Decision d);

// owner_coldkey: the coldkey that owns s.hotkey on the ledger (nullopt: not registered).
PaymentOutcome verify_payment(const Submission& s, const TransferLookup& lookup,
                              const std::optional<std::string>& owner_coldkey,
                              const FeeRules& rules, std::span<const ProofUse> used);

// A batch in the given order (the caller passes (commit_block, hotkey) order, so the earliest
// submission wins a contested proof). Each accepted submission's proof joins `used` before the
// next is checked. lookups[i] and owners[i] belong to submissions[i]; equal sizes are an
// invariant (CACHEON_ASSERT), not an input check.
std::vector<PaymentOutcome> verify_payments(std::span<const Submission> submissions,
                                            std::span<const TransferLookup> lookups,
                                            std::span<const std::optional<std::string>> owners,
                                            const FeeRules& rules, std::vector<ProofUse>& used);

}  // namespace cacheon::arena

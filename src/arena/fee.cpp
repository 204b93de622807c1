#include "arena/fee.h"

#include <utility>

#include "arena/image_ref.h"
#include "core/status.h"

namespace cacheon::arena {
namespace {

using Decision = PaymentOutcome::Decision;

PaymentOutcome reject(std::string_view code, std::string message) {
  return {Decision::reject, std::string(code), std::move(message)};
}
PaymentOutcome defer(std::string_view code, std::string message) {
  return {Decision::defer, std::string(code), std::move(message)};
}

std::string rao(int64_t amount) { return std::to_string(amount) + " rao"; }

}  // namespace

std::string fee_remark(std::string_view hotkey, std::string_view digest) {
  return "cacheon:" + std::string(hotkey) + ":" + std::string(digest);
}

std::string_view to_string(PaymentOutcome::Decision d) {
  switch (d) {
    case Decision::accept:
      return "accept";
    case Decision::reject:
      return "reject";
    case Decision::defer:
      return "defer";
  }
  return "defer";
}

PaymentOutcome verify_payment(const Submission& s, const TransferLookup& lookup,
                              const std::optional<std::string>& owner_coldkey,
                              const FeeRules& rules, std::span<const ProofUse> used) {
  if (rules.fee_rao < 0 || rules.payee.empty())
    return defer(fee_code::kFeeConfigInvalid,
                 "the arena's fee configuration is invalid (negative fee or no payment account)");
  if (Status st = validate_transfer_id(s.payment_proof); !st)
    return reject(fee_code::kBadProof, st.error().message);

  switch (lookup.kind) {
    case TransferLookup::Kind::unreachable:
      return defer(fee_code::kLedgerUnreachable,
                   "could not look the payment up (ledger unreachable" +
                       (lookup.detail.empty() ? std::string() : ": " + lookup.detail) +
                       "); will retry");
    case TransferLookup::Kind::not_found:
      return reject(fee_code::kNotFound,
                    "no transfer " + s.payment_proof + " on the ledger: pay the fee first");
    case TransferLookup::Kind::found:
      break;
  }
  if (!lookup.transfer || lookup.transfer->id != s.payment_proof)
    return reject(fee_code::kNotFound,
                  "no transfer " + s.payment_proof + " on the ledger: pay the fee first");
  const TransferRecord& t = *lookup.transfer;

  if (t.block > rules.read_block)
    return defer(fee_code::kNotFinal, "payment at block " + std::to_string(t.block) +
                                          " is past the block read (" +
                                          std::to_string(rules.read_block) + "); will retry");
  if (t.to != rules.payee)
    return reject(fee_code::kWrongPayee,
                  "payment went to " + t.to + ", not the arena's account " + rules.payee);
  if (!owner_coldkey)
    return reject(fee_code::kHotkeyUnregistered,
                  "hotkey " + s.hotkey + " is not registered, so no coldkey can have paid for it");
  if (t.from != *owner_coldkey)
    return reject(fee_code::kWrongPayer, "payment was signed by " + t.from +
                                             ", not by the hotkey's coldkey " + *owner_coldkey);
  const std::string expected = fee_remark(s.hotkey, s.digest);
  if (t.remark != expected)
    return reject(fee_code::kWrongRemark,
                  "payment remark must be exactly \"" + expected + "\" (binds hotkey and digest)");
  if (t.amount_rao < rules.fee_rao)
    return reject(fee_code::kTooSmall,
                  "payment of " + rao(t.amount_rao) + " is below the fee of " + rao(rules.fee_rao));
  for (const ProofUse& u : used) {
    if (u.proof != s.payment_proof) continue;
    if (u.hotkey == s.hotkey && u.commit_block == s.commit_block) continue;  // itself
    return reject(fee_code::kReused, "payment " + s.payment_proof +
                                         " already paid for the submission of " + u.hotkey +
                                         " at block " + std::to_string(u.commit_block));
  }
  return {Decision::accept, "",
          "fee of " + rao(t.amount_rao) + " paid at block " + std::to_string(t.block)};
}

std::vector<PaymentOutcome> verify_payments(std::span<const Submission> submissions,
                                            std::span<const TransferLookup> lookups,
                                            std::span<const std::optional<std::string>> owners,
                                            const FeeRules& rules, std::vector<ProofUse>& used) {
  CACHEON_ASSERT(lookups.size() == submissions.size() && owners.size() == submissions.size());
  std::vector<PaymentOutcome> out;
  out.reserve(submissions.size());
  for (size_t i = 0; i < submissions.size(); ++i) {
    const Submission& s = submissions[i];
    out.push_back(verify_payment(s, lookups[i], owners[i], rules, used));
    if (!out.back().accepted()) continue;
    bool known = false;
    for (const ProofUse& u : used)
      known = known || (u.proof == s.payment_proof && u.hotkey == s.hotkey &&
                        u.commit_block == s.commit_block);
    if (!known) used.push_back({s.payment_proof, s.hotkey, s.commit_block});
  }
  return out;
}

}  // namespace cacheon::arena

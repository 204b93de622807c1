// Fee verification: every payment outcome (arena/fee.h).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "arena/fee.h"

namespace cacheon::arena {
namespace {

using Decision = PaymentOutcome::Decision;

const std::string kHotkey = "0x" + std::string(64, '1');
const std::string kColdkey = "0x" + std::string(64, '2');
const std::string kArena = "0x" + std::string(64, '3');
const std::string kStranger = "0x" + std::string(64, '4');
const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kProof = "0x" + std::string(64, 'c');
constexpr int64_t kFee = 100'000'000;  // 0.1 TAO

Submission submission() { return {kHotkey, 100, "ghcr.io/a/b", kDigest, kProof}; }
TransferRecord good_transfer() {
  return {kProof, 95, kColdkey, kArena, kFee, "cacheon:" + kHotkey + ":" + kDigest};
}
FeeRules rules() { return {kArena, kFee, 120}; }

struct FeeCase {
  std::string name;
  Submission s = submission();
  TransferLookup lookup = TransferLookup::found(good_transfer());
  std::optional<std::string> owner = kColdkey;
  FeeRules rules = ::cacheon::arena::rules();
  std::vector<ProofUse> used;
  Decision decision = Decision::accept;
  std::string code;
};

FeeCase with_transfer(std::string name, auto&& edit, Decision d, std::string_view code) {
  TransferRecord t = good_transfer();
  edit(t);
  FeeCase c;
  c.name = std::move(name);
  c.lookup = TransferLookup::found(t);
  c.decision = d;
  c.code = std::string(code);
  return c;
}

FeeCase with_rules(std::string name, FeeRules r, Decision d, std::string_view code) {
  FeeCase c;
  c.name = std::move(name);
  c.rules = std::move(r);
  c.decision = d;
  c.code = std::string(code);
  return c;
}

TEST(ArenaFee, RemarkFormat) {
  EXPECT_EQ(fee_remark("0xabc", "sha256:00"), "cacheon:0xabc:sha256:00");
}

TEST(ArenaFee, OutcomeTable) {
  std::vector<FeeCase> cases;
  cases.push_back({.name = "valid"});
  cases.push_back(with_transfer(
      "overpaid is fine", [](TransferRecord& t) { t.amount_rao *= 3; }, Decision::accept, ""));
  cases.push_back(with_transfer(
      "paid after the commit, before the read block", [](TransferRecord& t) { t.block = 110; },
      Decision::accept, ""));
  cases.push_back(with_transfer(
      "paid exactly at the read block", [](TransferRecord& t) { t.block = 120; }, Decision::accept,
      ""));
  cases.push_back(with_transfer(
      "paid past the read block: not final for us", [](TransferRecord& t) { t.block = 121; },
      Decision::defer, fee_code::kNotFinal));
  cases.push_back(with_transfer(
      "wrong payee", [](TransferRecord& t) { t.to = kStranger; }, Decision::reject,
      fee_code::kWrongPayee));
  cases.push_back(with_transfer(
      "too small by one rao", [](TransferRecord& t) { --t.amount_rao; }, Decision::reject,
      fee_code::kTooSmall));
  cases.push_back(with_transfer(
      "negative amount", [](TransferRecord& t) { t.amount_rao = -1; }, Decision::reject,
      fee_code::kTooSmall));
  cases.push_back(with_transfer(
      "wrong payer (not the hotkey's coldkey)", [](TransferRecord& t) { t.from = kStranger; },
      Decision::reject, fee_code::kWrongPayer));
  cases.push_back(with_transfer(
      "remark names another digest",
      [](TransferRecord& t) {
        t.remark = "cacheon:" + kHotkey + ":sha256:" + std::string(64, 'b');
      },
      Decision::reject, fee_code::kWrongRemark));
  cases.push_back(with_transfer(
      "remark names another hotkey",
      [](TransferRecord& t) { t.remark = "cacheon:" + kStranger + ":" + kDigest; },
      Decision::reject, fee_code::kWrongRemark));
  cases.push_back(with_transfer(
      "remark with trailing space", [](TransferRecord& t) { t.remark += " "; }, Decision::reject,
      fee_code::kWrongRemark));
  cases.push_back(with_transfer(
      "empty remark", [](TransferRecord& t) { t.remark.clear(); }, Decision::reject,
      fee_code::kWrongRemark));
  cases.push_back(with_transfer(
      "lookup returned another transfer",
      [](TransferRecord& t) { t.id = "0x" + std::string(64, 'e'); }, Decision::reject,
      fee_code::kNotFound));
  cases.push_back({.name = "unknown transfer",
                   .lookup = TransferLookup::not_found(),
                   .decision = Decision::reject,
                   .code = std::string(fee_code::kNotFound)});
  cases.push_back({.name = "ledger unreachable",
                   .lookup = TransferLookup::unreachable("connection refused"),
                   .decision = Decision::defer,
                   .code = std::string(fee_code::kLedgerUnreachable)});
  cases.push_back({.name = "hotkey not registered",
                   .owner = std::nullopt,
                   .decision = Decision::reject,
                   .code = std::string(fee_code::kHotkeyUnregistered)});
  cases.push_back({.name = "malformed proof",
                   .s = {kHotkey, 100, "a/b", kDigest, "0x12"},
                   .decision = Decision::reject,
                   .code = std::string(fee_code::kBadProof)});
  cases.push_back({.name = "proof used by another hotkey",
                   .used = {{kProof, kStranger, 90}},
                   .decision = Decision::reject,
                   .code = std::string(fee_code::kReused)});
  cases.push_back({.name = "proof used by the same hotkey's earlier submission",
                   .used = {{kProof, kHotkey, 50}},
                   .decision = Decision::reject,
                   .code = std::string(fee_code::kReused)});
  cases.push_back({.name = "the same submission re-verified",
                   .used = {{kProof, kHotkey, 100}},
                   .decision = Decision::accept});
  cases.push_back({.name = "other proofs used: irrelevant",
                   .used = {{"0x" + std::string(64, 'f'), kStranger, 90}},
                   .decision = Decision::accept});
  cases.push_back(with_rules("negative fee configured", FeeRules{kArena, -1, 120}, Decision::defer,
                             fee_code::kFeeConfigInvalid));
  cases.push_back(with_rules("no payment account configured", FeeRules{"", kFee, 120},
                             Decision::defer, fee_code::kFeeConfigInvalid));
  cases.push_back(with_rules("zero fee accepts a zero transfer", FeeRules{kArena, 0, 120},
                             Decision::accept, ""));
  cases.back().lookup.transfer->amount_rao = 0;
  // Several faults: the first in the documented order is reported.
  cases.push_back(with_transfer(
      "wrong payee and too small: payee first",
      [](TransferRecord& t) {
        t.to = kStranger;
        t.amount_rao = 1;
      },
      Decision::reject, fee_code::kWrongPayee));
  cases.push_back(with_transfer(
      "wrong remark and too small: remark first",
      [](TransferRecord& t) {
        t.remark = "x";
        t.amount_rao = 1;
      },
      Decision::reject, fee_code::kWrongRemark));

  for (const FeeCase& c : cases) {
    SCOPED_TRACE(c.name);
    PaymentOutcome o = verify_payment(c.s, c.lookup, c.owner, c.rules, c.used);
    EXPECT_EQ(to_string(o.decision), to_string(c.decision)) << o.code << ": " << o.message;
    EXPECT_EQ(o.code, c.code) << o.message;
    EXPECT_FALSE(o.message.empty());
  }
}

TEST(ArenaFee, BatchEarliestSubmissionWinsAContestedProof) {
  const std::string other_hotkey = "0x" + std::string(64, '9');
  const std::string other_cold = "0x" + std::string(64, '8');
  Submission a = submission();  // block 100
  Submission b = {other_hotkey, 101, "b/c", kDigest, kProof};
  TransferRecord t = good_transfer();
  // The remark can only match one hotkey, so a copied proof fails on the payer or the remark
  // before reuse; a proof used twice by the SAME hotkey (two commits) is where reuse bites.
  Submission a2 = a;
  a2.commit_block = 110;
  std::vector<Submission> subs = {a, a2, b};
  std::vector<TransferLookup> lookups(3, TransferLookup::found(t));
  std::vector<std::optional<std::string>> owners = {kColdkey, kColdkey, other_cold};
  std::vector<ProofUse> used;
  std::vector<PaymentOutcome> out = verify_payments(subs, lookups, owners, rules(), used);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].accepted());
  EXPECT_EQ(out[1].code, fee_code::kReused);
  EXPECT_EQ(out[2].code, fee_code::kWrongPayer);
  ASSERT_EQ(used.size(), 1u);
  EXPECT_EQ(used[0].commit_block, 100);

  // Re-running the batch (after a crash) gives the same answers and does not grow `used`.
  std::vector<PaymentOutcome> again = verify_payments(subs, lookups, owners, rules(), used);
  EXPECT_TRUE(again[0].accepted());
  EXPECT_EQ(again[1].code, fee_code::kReused);
  EXPECT_EQ(used.size(), 1u);

  // A deferred or rejected submission does not consume its proof.
  std::vector<ProofUse> fresh;
  std::vector<TransferLookup> down = {TransferLookup::unreachable("down"), TransferLookup::found(t),
                                      TransferLookup::found(t)};
  std::vector<PaymentOutcome> d = verify_payments(subs, down, owners, rules(), fresh);
  EXPECT_EQ(d[0].decision, Decision::defer);
  EXPECT_TRUE(d[1].accepted());  // a2 now owns the proof
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].commit_block, 110);
}

}  // namespace
}  // namespace cacheon::arena

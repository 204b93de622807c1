// `cacheon commit`: a miner publishes a submission on the embedded ledger. Order matters: every
// check that can fail runs BEFORE the fee is paid (registration, image, digest, payload size),
// the fee is paid at most once (an earlier matching payment is found and reused), and the
// transfer id is printed as soon as it exists, so a commit that fails after paying is retried
// with --proof (or simply re-run: the payment is found again) without paying twice.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "arena/fee.h"
#include "arena/image_ref.h"
#include "arena/submission.h"
#include "cli/commands.h"
#include "cli/ledger_cli.h"
#include "ledger/units.h"
#include "ledger/wallet.h"

namespace cacheon::cli {
namespace {

using ledger::LocalLedger;
using nlohmann::json;

struct CommitOpts {
  LedgerCliOptions common;
  std::string image, digest, fee = "0.1", wallet, hotkey = "default", arena_account, proof;
  int netuid = 1;
};

// What the validator will check of a payment (arena/fee.h), applied to one transfer now.
arena::PaymentOutcome check_payment(const ledger::Transfer& t, const std::string& hotkey,
                                    const std::string& coldkey, const CommitOpts& o,
                                    const std::string& payee, int64_t fee) {
  arena::Submission s{hotkey, t.block, o.image, o.digest, t.id};
  arena::TransferRecord r{t.id, t.block, t.from, t.to, t.amount_rao, t.remark};
  arena::FeeRules rules{payee, fee, t.block};
  return arena::verify_payment(s, arena::TransferLookup::found(r), coldkey, rules, {});
}

int run_commit(const CommitOpts& o) {
  const bool js = o.common.json;
  // 1. Everything checkable offline.
  if (auto r = arena::parse_image_reference(o.image); !r.ok()) return report_error(r.error(), js);
  if (Status s = arena::validate_digest(o.digest); !s) return report_error(s.error(), js);
  if (!o.proof.empty())
    if (Status s = arena::validate_transfer_id(o.proof); !s) return report_error(s.error(), js);
  auto fee = ledger::parse_tao(o.fee);
  if (!fee.ok()) return report_error(fee.error(), js);
  auto payee = resolve_account(o.common, o.arena_account);
  if (!payee.ok()) return report_error(payee.error(), js);
  // The payload must be publishable whatever the proof: checked with a placeholder id.
  std::string placeholder = "0x" + std::string(64, '0');
  if (auto p =
          arena::serialize_commitment({arena::kCommitmentVersion, o.image, o.digest, placeholder});
      !p.ok())
    return report_error(p.error(), js);
  auto cold = ledger::load_coldkey(o.common.wallets, o.wallet);
  if (!cold.ok()) return report_error(cold.error(), js);
  auto hot = ledger::load_hotkey(o.common.wallets, o.wallet, o.hotkey);
  if (!hot.ok()) return report_error(hot.error(), js);
  const std::string hk = hot->address(), ck = cold->address();

  auto opened = open_ledger(o.common);
  if (!opened.ok()) return report_error(opened.error(), js);
  LocalLedger& l = **opened;

  // 2. Registration, before any payment.
  auto head = l.head();
  if (!head.ok()) return report_error(head.error(), js);
  auto mg = l.metagraph(o.netuid, head->number);
  if (!mg.ok()) return report_error(mg.error(), js);
  auto me =
      std::find_if(mg->begin(), mg->end(), [&](const ledger::Neuron& n) { return n.hotkey == hk; });
  if (me == mg->end())
    return report_error(
        {"not_registered", fmt::format("hotkey {} ({}) is not registered on subnet {} at block {}; "
                                       "nothing was paid (register first: `cacheon ledger "
                                       "register`, then wait for the next block)",
                                       o.hotkey, hk, o.netuid, head->number)},
        js);
  if (me->coldkey != ck)
    return report_error({"wrong_coldkey", fmt::format("hotkey {} belongs to coldkey {}, not to "
                                                      "wallet {}'s; nothing was paid",
                                                      hk, me->coldkey, o.wallet)},
                        js);

  // 3. The payment: an explicit proof, an earlier unused matching payment, or a new one.
  std::string remark = arena::fee_remark(hk, o.digest);
  auto history = l.commitment_history(o.netuid, hk);
  if (!history.ok()) return report_error(history.error(), js);
  std::set<std::string> used;
  std::optional<arena::CommitmentPayload> latest;
  for (const auto& c : *history)
    if (auto p = arena::parse_commitment(c.data); p.ok()) {
      used.insert(p->payment_proof);
      latest = *p;
    }
  std::optional<ledger::Transfer> payment;
  bool paid_now = false;
  if (!o.proof.empty()) {
    auto t = l.find_transfer_any(o.proof);
    if (!t.ok()) return report_error(t.error(), js);
    if (!*t)
      return report_error(
          {"payment_not_found", fmt::format("no transfer {} on this ledger", o.proof)}, js);
    auto ok = check_payment(**t, hk, ck, o, *payee, *fee);
    if (!ok.accepted()) return report_error({ok.code, ok.message}, js);
    payment = **t;
  } else {
    auto earlier = l.find_transfers(ck, remark);
    if (!earlier.ok()) return report_error(earlier.error(), js);
    for (const auto& t : *earlier) {
      // The proof of the identical current commitment counts as available: re-running a commit
      // that already went through is then a no-op below.
      bool is_latest = latest && latest->payment_proof == t.id && latest->image == o.image &&
                       latest->digest == o.digest;
      if ((used.count(t.id) && !is_latest) || !check_payment(t, hk, ck, o, *payee, *fee).accepted())
        continue;
      payment = t;
      break;
    }
    if (!payment) {
      auto t = l.transfer(*cold, *payee, *fee, remark);
      if (!t.ok()) return report_error(t.error(), js);
      payment = *t;
      paid_now = true;
      fmt::print(stderr, "paid {} TAO to {} (block {}); proof {}\n", ledger::format_tao(*fee),
                 *payee, t->block, t->id);
    }
  }

  // 4. The commitment (skipped when the identical one is already the latest).
  auto payload =
      arena::serialize_commitment({arena::kCommitmentVersion, o.image, o.digest, payment->id});
  if (!payload.ok()) return report_error(payload.error(), js);
  json out = {{"hotkey", hk},
              {"netuid", o.netuid},
              {"proof", payment->id},
              {"paid_now", paid_now},
              {"fee_tao", ledger::format_tao(payment->amount_rao)},
              {"payment_block", payment->block},
              {"payload", *payload}};
  if (!history->empty() && history->back().data == *payload) {
    out["already_committed"] = true;
    out["commitment_block"] = history->back().block;
  } else {
    auto c = l.commit(*hot, o.netuid, *payload);
    if (!c.ok()) {
      Error e = c.error();
      e.message += fmt::format(" (the fee is paid: retry with --proof {})", payment->id);
      return report_error(e, js);
    }
    out["already_committed"] = false;
    out["commitment_block"] = c->block;
  }
  if (js) {
    print_json(out);
  } else {
    fmt::print("{} {}@{} for hotkey {} in block {}\n  proof {} ({} TAO, block {}{})\n",
               out["already_committed"].get<bool>() ? "already committed" : "committed", o.image,
               o.digest, hk, out["commitment_block"].get<int64_t>(), payment->id,
               ledger::format_tao(payment->amount_rao), payment->block,
               paid_now ? ", paid now" : ", reused");
  }
  return 0;
}

}  // namespace

void add_commit_command(CLI::App& app, SubcommandRuns& runs) {
  auto o = std::make_shared<CommitOpts>();
  CLI::App* sub = app.add_subcommand(
      "commit",
      "Publish a submission on the embedded ledger: pay the fee once (transfer to the arena "
      "with remark cacheon:<hotkey>:<digest>) and commit {image, digest, payment proof}. "
      "Registration is checked before paying; a retry reuses the earlier payment.");
  sub->add_option("--image", o->image, "Image reference, e.g. ghcr.io/me/server:v1")->required();
  sub->add_option("--digest", o->digest, "Image digest, sha256:<64 hex>")->required();
  sub->add_option("--fee", o->fee, "Fee in TAO")->capture_default_str();
  sub->add_option("--wallet", o->wallet, "Wallet whose coldkey pays")->required();
  sub->add_option("--hotkey", o->hotkey, "Hotkey (in the wallet) that commits")
      ->capture_default_str();
  sub->add_option("--arena-account", o->arena_account,
                  "The arena's payment account: 0x address or wallet name")
      ->required();
  sub->add_option("--netuid", o->netuid, "Subnet id")->capture_default_str();
  sub->add_option("--proof", o->proof,
                  "Transfer id of a fee already paid (printed by an earlier commit)");
  add_ledger_options(sub, o->common);
  runs.emplace_back(sub, [o] { return run_commit(*o); });
}

}  // namespace cacheon::cli

// Intake: new commitments become submissions, then paid, deduplicated and queued ones.
#include <map>

#include <fmt/format.h>

#include "arena/copies.h"
#include "arena/fee.h"
#include "arena/submission.h"
#include "validator/validator.h"

namespace cacheon::validator {

using store::SubmissionState;

Status Validator::intake(const ledger::BlockInfo& fin, PassReport& rep) {
  if (Status s = scan(fin, rep); !s) return s;
  if (Status s = supersede(rep); !s) return s;
  if (Status s = verify_payments(fin, rep); !s) return s;
  return dedupe_and_queue(rep);
}

Status Validator::scan(const ledger::BlockInfo& fin, PassReport& rep) {
  for (;;) {
    auto cursor = store_.scan_cursor();
    if (!cursor.ok()) return cursor.error();
    if (*cursor >= fin.number) return {};
    const arena::BlockNumber to = std::min(fin.number, *cursor + config_.max_scan_blocks);
    auto commits = ledger_.commitments(config_.netuid, *cursor, to);
    if (!commits.ok()) return commits.error();
    std::vector<arena::CommitmentRecord> records;
    std::map<std::pair<std::string, arena::BlockNumber>, std::string> raw;
    for (const auto& c : *commits) {
      records.push_back({c.hotkey, c.block, c.data});
      raw[{c.hotkey, c.block}] = c.data;  // the last one per key, as the arena rule collapses
    }
    arena::SubmissionScan found = arena::submissions_from_commitments(records);
    std::vector<store::SubmissionRow> rows;
    for (const auto& s : found.submissions) {
      store::SubmissionRow r;
      r.sub = s;
      r.raw = raw[{s.hotkey, s.commit_block}];
      r.state = SubmissionState::seen;
      r.seen_block = fin.number;
      rows.push_back(std::move(r));
    }
    for (const auto& j : found.rejections) {
      store::SubmissionRow r;
      r.sub.hotkey = j.hotkey;
      r.sub.commit_block = j.commit_block;
      r.raw = raw[{j.hotkey, j.commit_block}];
      r.state = SubmissionState::rejected;
      r.reason = j.code;
      r.message = j.message;
      r.seen_block = fin.number;
      rows.push_back(std::move(r));
      ++rep.rejected;
    }
    if (Status s = store_.record_scan(rows, to); !s) return s;
    rep.scanned += static_cast<int>(rows.size());
    crash_.hit("scan.recorded");
  }
}

// The latest commitment of a hotkey is its current one: older ones still waiting are dropped.
Status Validator::supersede(PassReport& rep) {
  auto all = store_.all_submissions();
  if (!all.ok()) return all.error();
  std::map<std::string, arena::BlockNumber> latest;
  for (const auto& r : *all) {
    auto& b = latest[r.sub.hotkey];
    b = std::max(b, r.sub.commit_block);
  }
  const std::vector<SubmissionState> waiting = {SubmissionState::seen, SubmissionState::deferred,
                                                SubmissionState::payment_ok,
                                                SubmissionState::queued};
  for (const auto& r : *all) {
    if (r.sub.commit_block >= latest[r.sub.hotkey]) continue;
    if (std::find(waiting.begin(), waiting.end(), r.state) == waiting.end()) continue;
    Status s = store_.transition(r.key(), waiting, SubmissionState::rejected, "superseded",
                                 fmt::format("a later commitment of this hotkey (block {}) "
                                             "replaces it",
                                             latest[r.sub.hotkey]));
    if (!s) return s;
    ++rep.rejected;
    crash_.hit("intake.marked");
  }
  return {};
}

Status Validator::verify_payments(const ledger::BlockInfo& fin, PassReport& rep) {
  auto pending = store_.submissions({SubmissionState::seen, SubmissionState::deferred});
  if (!pending.ok()) return pending.error();
  if (pending->empty()) return {};
  // Owners from the metagraph at the block we read at; a failure defers everyone.
  auto graph = ledger_.metagraph(config_.netuid, fin.number);
  std::map<std::string, std::string> owner;
  if (graph.ok())
    for (const auto& n : *graph) owner[n.hotkey] = n.coldkey;
  auto used_rows = store_.used_proofs();
  if (!used_rows.ok()) return used_rows.error();
  std::vector<arena::ProofUse> used;
  for (const auto& [proof, key] : *used_rows) used.push_back({proof, key.hotkey, key.commit_block});
  arena::FeeRules rules{config_.payment_account, config_.fee_rao, fin.number};

  for (const auto& row : *pending) {
    arena::TransferLookup lookup;
    std::optional<std::string> who;
    if (!graph.ok()) {
      lookup = arena::TransferLookup::unreachable(graph.error().message);
    } else {
      if (auto it = owner.find(row.sub.hotkey); it != owner.end()) who = it->second;
      auto t = ledger_.find_transfer(row.sub.payment_proof);
      if (!t.ok())
        lookup = arena::TransferLookup::unreachable(t.error().message);
      else if (!t->has_value())
        lookup = arena::TransferLookup::not_found();
      else
        lookup = arena::TransferLookup::found({(*t)->id, (*t)->block, (*t)->from, (*t)->to,
                                               (*t)->amount_rao, (*t)->remark});
    }
    arena::PaymentOutcome out = arena::verify_payment(row.sub, lookup, who, rules, used);
    const std::vector<SubmissionState> from = {SubmissionState::seen, SubmissionState::deferred};
    Status s;
    switch (out.decision) {
      case arena::PaymentOutcome::Decision::accept:
        s = store_.accept_payment(row.key());
        used.push_back({row.sub.payment_proof, row.sub.hotkey, row.sub.commit_block});
        ++rep.accepted;
        break;
      case arena::PaymentOutcome::Decision::reject:
        s = store_.transition(row.key(), from, SubmissionState::rejected, out.code, out.message);
        ++rep.rejected;
        break;
      case arena::PaymentOutcome::Decision::defer:
        s = store_.transition(row.key(), from, SubmissionState::deferred, out.code, out.message);
        ++rep.deferred;
        break;
    }
    if (!s) return s;
    crash_.hit("payment.decided");
  }
  return {};
}

Status Validator::dedupe_and_queue(PassReport& rep) {
  auto paid = store_.submissions({SubmissionState::payment_ok, SubmissionState::queued,
                                  SubmissionState::evaluated, SubmissionState::duplicate});
  if (!paid.ok()) return paid.error();
  auto fingerprints = store_.fingerprints();
  if (!fingerprints.ok()) return fingerprints.error();
  std::vector<arena::ContentClaim> claims;
  for (const auto& r : *paid) {
    auto fp = fingerprints->find(fmt::format("{}@{}", r.sub.hotkey, r.sub.commit_block));
    claims.push_back({r.sub.hotkey, r.sub.commit_block, r.sub.digest,
                      fp == fingerprints->end() ? std::nullopt
                                                : std::optional<std::string>(fp->second)});
  }
  arena::CopyJudgement copies = arena::judge_copies(claims);
  for (const auto& r : *paid) {
    if (r.state == SubmissionState::duplicate) continue;
    const arena::Duplicate* d = copies.find(r.sub.hotkey, r.sub.commit_block);
    if (d) {
      Status s = store_.transition(r.key(), {r.state}, SubmissionState::duplicate,
                                   arena::kDuplicateCode, d->message);
      if (!s) return s;
      ++rep.duplicates;
      crash_.hit("intake.marked");
    } else if (r.state == SubmissionState::payment_ok) {
      Status s = store_.transition(r.key(), {SubmissionState::payment_ok}, SubmissionState::queued);
      if (!s) return s;
      ++rep.queued;
      crash_.hit("intake.marked");
    }
  }
  return {};
}

}  // namespace cacheon::validator

// Submissions: the scan (rows + cursor in one transaction), intake transitions, used proofs.
#include <fmt/format.h>

#include "store/arena_store.h"
#include "store/internal.h"
#include "store/queries.h"

namespace cacheon::store {
namespace {

constexpr std::string_view kColumns =
    "hotkey, commit_block, image, digest, proof, raw, state, reason, message, seen_block";

Result<SubmissionRow> read_row(const SqliteStmt& q) {
  SubmissionRow r;
  r.sub.hotkey = q.column_text(0);
  r.sub.commit_block = q.column_int(1);
  r.sub.image = q.column_text(2);
  r.sub.digest = q.column_text(3);
  r.sub.payment_proof = q.column_text(4);
  r.raw = q.column_text(5);
  auto st = parse_submission_state(q.column_text(6));
  if (!st) return Error{"store_corrupt", "unknown submission state " + q.column_text(6)};
  r.state = *st;
  r.reason = q.column_text(7);
  r.message = q.column_text(8);
  r.seen_block = q.column_int(9);
  return r;
}

Result<std::vector<SubmissionRow>> read_all(SqliteStmt& q) {
  std::vector<SubmissionRow> out;
  for (;;) {
    auto row = q.step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    auto r = read_row(q);
    if (!r.ok()) return r.error();
    out.push_back(std::move(*r));
  }
  return out;
}

std::string state_list(const std::vector<SubmissionState>& states) {
  std::string s;
  for (auto st : states) s += (s.empty() ? "'" : ", '") + std::string(to_string(st)) + "'";
  return s;
}

}  // namespace

Status ArenaStore::record_scan(const std::vector<SubmissionRow>& found, BlockNumber scanned_to) {
  auto tx = SqliteTx::begin(db_);
  if (!tx.ok()) return tx.error();
  auto cursor = scan_cursor();
  if (!cursor.ok()) return cursor.error();
  if (scanned_to < *cursor)
    return detail::stale(fmt::format("scan to block {} but already scanned to {}", scanned_to,
                                     *cursor));
  auto ins = db_.prepare(fmt::format(
      "INSERT INTO submissions ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (hotkey, commit_block) DO NOTHING",
      kColumns));
  if (!ins.ok()) return ins.error();
  for (const auto& r : found) {
    ins->reset();
    ins->bind(1, detail::sv(r.sub.hotkey))
        .bind(2, r.sub.commit_block)
        .bind(3, detail::sv(r.sub.image))
        .bind(4, detail::sv(r.sub.digest))
        .bind(5, detail::sv(r.sub.payment_proof))
        .bind(6, detail::sv(r.raw))
        .bind(7, to_string(r.state))
        .bind(8, detail::sv(r.reason))
        .bind(9, detail::sv(r.message))
        .bind(10, r.seen_block);
    STORE_TRY(ins->run());
  }
  STORE_TRY(set_meta("scan_cursor", std::to_string(scanned_to)));
  return tx->commit();
}

Result<std::optional<SubmissionRow>> ArenaStore::submission(const SubmissionKey& key) {
  auto q = db_.prepare(fmt::format(
      "SELECT {} FROM submissions WHERE hotkey = ? AND commit_block = ?", kColumns));
  if (!q.ok()) return q.error();
  q->bind(1, detail::sv(key.hotkey)).bind(2, key.commit_block);
  auto rows = read_all(*q);
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<SubmissionRow>{};
  return std::optional<SubmissionRow>{std::move(rows->front())};
}

Result<std::vector<SubmissionRow>> ArenaStore::submissions(
    const std::vector<SubmissionState>& states) {
  if (states.empty()) return std::vector<SubmissionRow>{};
  auto q = db_.prepare(fmt::format(
      "SELECT {} FROM submissions WHERE state IN ({}) ORDER BY commit_block, hotkey", kColumns,
      state_list(states)));
  if (!q.ok()) return q.error();
  return read_all(*q);
}

Result<std::vector<SubmissionRow>> ArenaStore::all_submissions() {
  auto q = db_.prepare(
      fmt::format("SELECT {} FROM submissions ORDER BY commit_block, hotkey", kColumns));
  if (!q.ok()) return q.error();
  return read_all(*q);
}

Status ArenaStore::transition(const SubmissionKey& key, const std::vector<SubmissionState>& from,
                              SubmissionState to, std::string_view reason,
                              std::string_view message) {
  if (from.empty()) return detail::stale("transition from no state");
  auto q = db_.prepare(fmt::format(
      "UPDATE submissions SET state = ?, reason = ?, message = ? "
      "WHERE hotkey = ? AND commit_block = ? AND state IN ({})",
      state_list(from)));
  if (!q.ok()) return q.error();
  STORE_TRY(q->bind(1, to_string(to))
                .bind(2, detail::text(reason))
                .bind(3, detail::text(message))
                .bind(4, detail::sv(key.hotkey))
                .bind(5, key.commit_block)
                .run());
  if (db_.changes() != 1)
    return detail::stale(fmt::format("submission {}@{} is not in state {}", key.hotkey,
                                     key.commit_block, state_list(from)));
  return {};
}

Status ArenaStore::accept_payment(const SubmissionKey& key) {
  auto tx = SqliteTx::begin(db_);
  if (!tx.ok()) return tx.error();
  auto row = submission(key);
  if (!row.ok()) return row.error();
  if (!row->has_value() || ((*row)->state != SubmissionState::seen &&
                            (*row)->state != SubmissionState::deferred))
    return detail::stale(fmt::format("submission {}@{} is not awaiting payment", key.hotkey,
                                     key.commit_block));
  const std::string& proof = (*row)->sub.payment_proof;
  auto used = proof_used(proof);
  if (!used.ok()) return used.error();
  if (*used) {
    STORE_TRY(transition(key, {SubmissionState::seen, SubmissionState::deferred},
                         SubmissionState::rejected, "proof_reused",
                         "the payment proof " + proof + " already paid for another submission"));
  } else {
    auto ins = db_.prepare("INSERT INTO used_proofs (proof, hotkey, commit_block) VALUES (?, ?, ?)");
    if (!ins.ok()) return ins.error();
    STORE_TRY(ins->bind(1, detail::sv(proof)).bind(2, detail::sv(key.hotkey)).bind(3, key.commit_block).run());
    STORE_TRY(transition(key, {SubmissionState::seen, SubmissionState::deferred},
                         SubmissionState::payment_ok));
  }
  return tx->commit();
}

Result<bool> ArenaStore::proof_used(std::string_view proof) {
  auto q = db_.prepare("SELECT 1 FROM used_proofs WHERE proof = ?");
  if (!q.ok()) return q.error();
  q->bind(1, proof);
  auto row = q->step();
  if (!row.ok()) return row.error();
  return *row;
}

Result<std::vector<std::pair<std::string, SubmissionKey>>> ArenaStore::used_proofs() {
  auto q = db_.prepare("SELECT proof, hotkey, commit_block FROM used_proofs ORDER BY proof");
  if (!q.ok()) return q.error();
  std::vector<std::pair<std::string, SubmissionKey>> out;
  for (;;) {
    auto row = q->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    out.emplace_back(q->column_text(0), SubmissionKey{q->column_text(1), q->column_int(2)});
  }
  return out;
}

// The dashboard's list (declared in store/queries.h): newest commits first.
Result<SubmissionPage> query_submissions(ArenaStore& store, const SubmissionQuery& query) {
  std::string where;
  if (query.hotkey) where += " WHERE hotkey = ?";
  if (query.state) where += std::string(where.empty() ? " WHERE" : " AND") + " state = ?";
  auto bind = [&](SqliteStmt& q) {
    int i = 1;
    if (query.hotkey) q.bind(i++, std::string_view(*query.hotkey));
    if (query.state) q.bind(i++, to_string(*query.state));
    return i;
  };
  SubmissionPage page;
  auto count = store.db().prepare("SELECT count(*) FROM submissions" + where);
  if (!count.ok()) return count.error();
  bind(*count);
  auto row = count->step();
  if (!row.ok()) return row.error();
  page.total = *row ? count->column_int(0) : 0;
  auto q = store.db().prepare(fmt::format(
      "SELECT {} FROM submissions{} ORDER BY commit_block DESC, hotkey LIMIT ? OFFSET ?",
      kColumns, where));
  if (!q.ok()) return q.error();
  const int next = bind(*q);
  q->bind(next, int64_t{query.limit}).bind(next + 1, query.offset);
  auto rows = read_all(*q);
  if (!rows.ok()) return rows.error();
  page.items = std::move(*rows);
  return page;
}

}  // namespace cacheon::store

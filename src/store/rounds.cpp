// Rounds (one evaluation job each), participants and evaluations with their prompt rows.
#include <fmt/format.h>

#include "store/arena_store.h"
#include "core/clock.h"
#include "store/internal.h"

namespace cacheon::store {
namespace {

Result<std::vector<RoundRow>> read_rounds(SqliteStmt& q) {
  std::vector<RoundRow> out;
  for (;;) {
    auto row = q.step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    RoundRow r;
    r.id = q.column_int(0);
    r.block = q.column_int(1);
    r.block_hash = q.column_text(2);
    auto st = parse_round_state(q.column_text(3));
    if (!st) return Error{"store_corrupt", "unknown round state " + q.column_text(3)};
    r.state = *st;
    r.created_ms = q.column_opt_int(4);
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::optional<RoundRow>> first_round(SqliteStmt& q) {
  auto rows = read_rounds(q);
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<RoundRow>{};
  return std::optional<RoundRow>{std::move(rows->front())};
}

Result<std::vector<PromptRow>> read_prompts(SqliteDb& db, int64_t evaluation_id) {
  auto q = db.prepare(
      "SELECT prompt_index, baseline_tokens, candidate_tokens, baseline_e2e_ms, "
      "candidate_e2e_ms, candidate_ttft_ms, improvement, gates_passed, note "
      "FROM prompt_results WHERE evaluation_id = ? ORDER BY prompt_index");
  if (!q.ok()) return q.error();
  q->bind(1, evaluation_id);
  std::vector<PromptRow> out;
  auto opt_double = [&](int i) -> std::optional<double> {
    if (q->column_is_null(i)) return std::nullopt;
    return q->column_double(i);
  };
  for (;;) {
    auto row = q->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    PromptRow p;
    p.prompt_index = static_cast<int>(q->column_int(0));
    p.baseline_tokens = q->column_int(1);
    p.candidate_tokens = q->column_int(2);
    p.baseline_e2e_ms = opt_double(3);
    p.candidate_e2e_ms = opt_double(4);
    p.candidate_ttft_ms = opt_double(5);
    p.improvement = q->column_double(6);
    p.gates_passed = q->column_int(7) != 0;
    p.note = q->column_text(8);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

namespace detail {

// Evaluations joined with their participant rows; `where` filters, parameters bound by caller.
const std::string_view kEvalSelect =
    "SELECT e.id, e.round_id, p.position, e.hotkey, e.commit_block, p.role, p.image, p.digest, "
    "e.state, e.attempts, e.decided, e.passed, e.score, e.reason_code, e.message, e.blame, "
    "e.report_path, e.logs_path, e.fingerprint, e.started_ms, e.finished_ms "
    "FROM evaluations e JOIN participants p "
    "ON p.round_id = e.round_id AND p.hotkey = e.hotkey AND p.commit_block = e.commit_block ";

Result<std::vector<EvaluationRow>> read_evals(SqliteDb& db, SqliteStmt& q, bool with_prompts) {
  std::vector<std::pair<int64_t, EvaluationRow>> rows;
  for (;;) {
    auto row = q.step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    EvaluationRow e;
    e.round_id = q.column_int(1);
    e.participant.position = static_cast<int>(q.column_int(2));
    e.participant.key = {q.column_text(3), q.column_int(4)};
    auto role = parse_role(q.column_text(5));
    auto st = parse_eval_state(q.column_text(8));
    if (!role || !st) return Error{"store_corrupt", "unknown role or evaluation state"};
    e.participant.role = *role;
    e.participant.image = q.column_text(6);
    e.participant.digest = q.column_text(7);
    e.state = *st;
    e.id = q.column_int(0);
    e.attempts = static_cast<int>(q.column_int(9));
    e.started_ms = q.column_opt_int(19);
    e.finished_ms = q.column_opt_int(20);
    if (e.state == EvalState::done) {
      EvalResult r;
      r.decided = q.column_int(10) != 0;
      r.passed = q.column_int(11) != 0;
      r.score = q.column_double(12);
      r.reason_code = q.column_text(13);
      r.message = q.column_text(14);
      r.blame = q.column_text(15);
      r.report_path = q.column_text(16);
      r.logs_path = q.column_text(17);
      r.fingerprint = q.column_text(18);
      e.result = std::move(r);
    }
    rows.emplace_back(q.column_int(0), std::move(e));
  }
  std::vector<EvaluationRow> out;
  for (auto& [id, e] : rows) {
    if (e.result && with_prompts) {
      auto prompts = read_prompts(db, id);
      if (!prompts.ok()) return prompts.error();
      e.result->prompts = std::move(*prompts);
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace detail

Result<int64_t> ArenaStore::plan_round(BlockNumber block, std::string_view block_hash,
                                       const std::vector<Participant>& participants) {
  auto tx = SqliteTx::begin(db_);
  if (!tx.ok()) return tx.error();
  auto ins = db_.prepare(
      "INSERT INTO rounds (block, block_hash, state, created_ms) VALUES (?, ?, 'planned', ?)");
  if (!ins.ok()) return ins.error();
  STORE_TRY(ins->bind(1, block).bind(2, block_hash).bind(3, wall_ms()).run());
  const int64_t id = db_.last_insert_rowid();
  auto part = db_.prepare(
      "INSERT INTO participants (round_id, position, hotkey, commit_block, role, image, digest) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  auto ev = db_.prepare(
      "INSERT INTO evaluations (round_id, hotkey, commit_block, state) "
      "VALUES (?, ?, ?, 'pending')");
  if (!part.ok()) return part.error();
  if (!ev.ok()) return ev.error();
  for (const auto& p : participants) {
    part->reset();
    ev->reset();
    STORE_TRY(part->bind(1, id)
                  .bind(2, p.position)
                  .bind(3, detail::sv(p.key.hotkey))
                  .bind(4, p.key.commit_block)
                  .bind(5, to_string(p.role))
                  .bind(6, detail::sv(p.image))
                  .bind(7, detail::sv(p.digest))
                  .run());
    STORE_TRY(ev->bind(1, id).bind(2, detail::sv(p.key.hotkey)).bind(3, p.key.commit_block).run());
  }
  STORE_TRY(tx->commit());
  return id;
}

Result<std::optional<RoundRow>> ArenaStore::open_round() {
  auto q = db_.prepare(
      "SELECT id, block, block_hash, state, created_ms FROM rounds WHERE state != 'done' ORDER BY id LIMIT 1");
  if (!q.ok()) return q.error();
  return first_round(*q);
}

Result<std::optional<RoundRow>> ArenaStore::round(int64_t id) {
  auto q = db_.prepare("SELECT id, block, block_hash, state, created_ms FROM rounds WHERE id = ?");
  if (!q.ok()) return q.error();
  q->bind(1, id);
  return first_round(*q);
}

Result<std::vector<RoundRow>> ArenaStore::rounds() {
  auto q = db_.prepare("SELECT id, block, block_hash, state, created_ms FROM rounds ORDER BY id DESC");
  if (!q.ok()) return q.error();
  return read_rounds(*q);
}

Status ArenaStore::set_round_state(int64_t id, RoundState from, RoundState to) {
  auto q = db_.prepare("UPDATE rounds SET state = ? WHERE id = ? AND state = ?");
  if (!q.ok()) return q.error();
  STORE_TRY(q->bind(1, to_string(to)).bind(2, id).bind(3, to_string(from)).run());
  if (db_.changes() != 1)
    return detail::stale(fmt::format("round {} is not {}", id, to_string(from)));
  return {};
}

Result<std::vector<EvaluationRow>> ArenaStore::evaluations(int64_t round_id) {
  auto q = db_.prepare(std::string(detail::kEvalSelect) + "WHERE e.round_id = ? ORDER BY p.position");
  if (!q.ok()) return q.error();
  q->bind(1, round_id);
  return detail::read_evals(db_, *q, true);
}

Result<std::vector<EvaluationRow>> ArenaStore::evaluations_of(const SubmissionKey& key) {
  auto q = db_.prepare(std::string(detail::kEvalSelect) +
                       "WHERE e.hotkey = ? AND e.commit_block = ? ORDER BY e.round_id");
  if (!q.ok()) return q.error();
  q->bind(1, detail::sv(key.hotkey)).bind(2, key.commit_block);
  return detail::read_evals(db_, *q, true);
}

Result<std::map<std::string, std::string>> ArenaStore::fingerprints() {
  auto q = db_.prepare(
      "SELECT hotkey, commit_block, fingerprint FROM evaluations WHERE fingerprint != '' "
      "ORDER BY round_id");
  if (!q.ok()) return q.error();
  std::map<std::string, std::string> out;
  for (;;) {
    auto row = q->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    out[fmt::format("{}@{}", q->column_text(0), q->column_int(1))] = q->column_text(2);
  }
  return out;
}

Result<bool> ArenaStore::claim_evaluation(int64_t round_id, const SubmissionKey& key) {
  auto q = db_.prepare(
      "UPDATE evaluations SET state = 'running', attempts = attempts + 1, started_ms = ? "
      "WHERE round_id = ? AND hotkey = ? AND commit_block = ? AND state = 'pending'");
  if (!q.ok()) return q.error();
  STORE_TRY(q->bind(1, wall_ms())
                .bind(2, round_id)
                .bind(3, detail::sv(key.hotkey))
                .bind(4, key.commit_block)
                .run());
  return db_.changes() == 1;
}

Status ArenaStore::record_evaluation(int64_t round_id, const SubmissionKey& key,
                                     const EvalResult& r) {
  auto tx = SqliteTx::begin(db_);
  if (!tx.ok()) return tx.error();
  auto q = db_.prepare(
      "UPDATE evaluations SET state = 'done', decided = ?, passed = ?, score = ?, "
      "reason_code = ?, message = ?, blame = ?, report_path = ?, logs_path = ?, "
      "fingerprint = ?, finished_ms = ? WHERE round_id = ? AND hotkey = ? AND commit_block = ? "
      "AND state = 'running' RETURNING id");
  if (!q.ok()) return q.error();
  q->bind(1, int64_t{r.decided})
      .bind(2, int64_t{r.passed})
      .bind(3, r.score)
      .bind(4, detail::sv(r.reason_code))
      .bind(5, detail::sv(r.message))
      .bind(6, detail::sv(r.blame))
      .bind(7, detail::sv(r.report_path))
      .bind(8, detail::sv(r.logs_path))
      .bind(9, detail::sv(r.fingerprint))
      .bind(10, wall_ms())
      .bind(11, round_id)
      .bind(12, detail::sv(key.hotkey))
      .bind(13, key.commit_block);
  auto row = q->step();
  if (!row.ok()) return row.error();
  if (!*row)
    return detail::stale(fmt::format("evaluation of {}@{} in round {} is not running",
                                     key.hotkey, key.commit_block, round_id));
  const int64_t eval_id = q->column_int(0);
  STORE_TRY(q->step());  // finish the statement before the next one
  auto ins = db_.prepare(
      "INSERT INTO prompt_results (evaluation_id, prompt_index, baseline_tokens, "
      "candidate_tokens, baseline_e2e_ms, candidate_e2e_ms, candidate_ttft_ms, improvement, "
      "gates_passed, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins.ok()) return ins.error();
  auto bind_opt = [&](int i, const std::optional<double>& v) {
    if (v)
      ins->bind(i, *v);
    else
      ins->bind_null(i);
  };
  for (const auto& p : r.prompts) {
    ins->reset();
    ins->bind(1, eval_id)
        .bind(2, p.prompt_index)
        .bind(3, p.baseline_tokens)
        .bind(4, p.candidate_tokens);
    bind_opt(5, p.baseline_e2e_ms);
    bind_opt(6, p.candidate_e2e_ms);
    bind_opt(7, p.candidate_ttft_ms);
    ins->bind(8, p.improvement).bind(9, int64_t{p.gates_passed}).bind(10, detail::sv(p.note));
    STORE_TRY(ins->run());
  }
  return tx->commit();
}

}  // namespace cacheon::store

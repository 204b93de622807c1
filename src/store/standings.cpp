// Standings history and the weights the validator set (intent first, then the outcome).
#include <nlohmann/json.hpp>

#include "store/arena_store.h"
#include "core/clock.h"
#include "store/internal.h"
#include "store/queries.h"

namespace cacheon::store {
namespace {

constexpr std::string_view kStandingsSelect =
    "SELECT id, round_id, block, leader_hotkey, leader_commit_block, leader_uid, leader_score, "
    "leader_crowned_block, runner_up_hotkey, runner_up_commit_block, runner_up_uid, "
    "runner_up_score, runner_up_crowned_block, detail_json, recorded_ms FROM standings ";

Result<std::vector<StandingsRow>> read_standings(SqliteStmt& q) {
  std::vector<StandingsRow> out;
  for (;;) {
    auto row = q.step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    StandingsRow s;
    s.id = q.column_int(0);
    s.round_id = q.column_opt_int(1);
    s.block = q.column_int(2);
    if (!q.column_is_null(3))
      s.leader = StandingEntry{{q.column_text(3), q.column_int(4)},
                               static_cast<int>(q.column_int(5)), q.column_double(6),
                               q.column_int(7)};
    if (!q.column_is_null(8))
      s.runner_up = StandingEntry{{q.column_text(8), q.column_int(9)},
                                  static_cast<int>(q.column_int(10)), q.column_double(11),
                                  q.column_int(12)};
    s.detail_json = q.column_text(13);
    s.recorded_ms = q.column_opt_int(14);
    out.push_back(std::move(s));
  }
  return out;
}

Result<int64_t> insert_standings(SqliteDb& db, std::optional<int64_t> round_id,
                                 const StandingsRow& s) {
  auto q = db.prepare(
      "INSERT INTO standings (round_id, block, leader_hotkey, leader_commit_block, leader_uid, "
      "leader_score, leader_crowned_block, runner_up_hotkey, runner_up_commit_block, "
      "runner_up_uid, runner_up_score, runner_up_crowned_block, detail_json, recorded_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!q.ok()) return q.error();
  q->bind(1, round_id).bind(2, s.block);
  auto bind_entry = [&](int first, const std::optional<StandingEntry>& e) {
    if (!e) {
      for (int i = 0; i < 5; ++i) q->bind_null(first + i);
      return;
    }
    q->bind(first, detail::sv(e->key.hotkey))
        .bind(first + 1, e->key.commit_block)
        .bind(first + 2, e->uid)
        .bind(first + 3, e->score)
        .bind(first + 4, e->crowned_block);
  };
  bind_entry(3, s.leader);
  bind_entry(8, s.runner_up);
  q->bind(13, s.detail_json.empty() ? std::string_view("{}") : std::string_view(s.detail_json));
  q->bind(14, wall_ms());
  STORE_TRY(q->run());
  return db.last_insert_rowid();
}

std::string vector_json(const std::vector<UidWeightRow>& w) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& x : w) j.push_back({x.uid, x.weight});
  return j.dump();
}

Result<std::vector<WeightsRow>> read_weights(SqliteStmt& q) {
  std::vector<WeightsRow> out;
  for (;;) {
    auto row = q.step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    WeightsRow w;
    w.id = q.column_int(0);
    w.round_id = q.column_opt_int(1);
    w.intent_block = q.column_int(2);
    w.set_block = q.column_opt_int(3);
    std::string st = q.column_text(4);
    w.state = st == "set" ? WeightsState::set
              : st == "failed" ? WeightsState::failed
                               : WeightsState::pending;
    auto j = nlohmann::json::parse(q.column_text(5), nullptr, false);
    if (!j.is_array()) return Error{"store_corrupt", "weights.vector_json is not an array"};
    for (const auto& e : j) {
      if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer() ||
          !e[1].is_number_integer())
        return Error{"store_corrupt", "weights.vector_json entry is not [uid, weight]"};
      w.weights.push_back({e[0].get<int>(), e[1].get<int>()});
    }
    w.reason = q.column_text(6);
    out.push_back(std::move(w));
  }
  return out;
}

constexpr std::string_view kWeightsSelect =
    "SELECT id, round_id, intent_block, set_block, state, vector_json, reason FROM weights ";

Result<std::optional<WeightsRow>> first_weights(SqliteStmt& q) {
  auto rows = read_weights(q);
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<WeightsRow>{};
  return std::optional<WeightsRow>{std::move(rows->front())};
}

}  // namespace

Result<int64_t> ArenaStore::record_standings(int64_t round_id, const StandingsRow& standings,
                                             const std::vector<SubmissionKey>& retry) {
  auto tx = SqliteTx::begin(db_);
  if (!tx.ok()) return tx.error();
  STORE_TRY(set_round_state(round_id, RoundState::running, RoundState::scored));
  auto id = insert_standings(db_, round_id, standings);
  if (!id.ok()) return id.error();
  auto q = db_.prepare(
      "UPDATE submissions SET state = 'evaluated' WHERE state = 'queued' AND "
      "(hotkey, commit_block) IN (SELECT hotkey, commit_block FROM participants "
      "WHERE round_id = ?)");
  if (!q.ok()) return q.error();
  STORE_TRY(q->bind(1, round_id).run());
  // Arena-side failures: back to the queue for a later round (evaluated -> queued).
  for (const auto& k : retry) {
    Status st = transition(k, {SubmissionState::evaluated}, SubmissionState::queued);
    if (!st.ok() && st.error().code != "stale_transition") return st.error();
  }
  STORE_TRY(tx->commit());
  return *id;
}

Result<int64_t> ArenaStore::append_standings(const StandingsRow& standings) {
  return insert_standings(db_, std::nullopt, standings);
}

Result<std::optional<StandingsRow>> ArenaStore::latest_standings() {
  auto q = db_.prepare(std::string(kStandingsSelect) + "ORDER BY id DESC LIMIT 1");
  if (!q.ok()) return q.error();
  auto rows = read_standings(*q);
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<StandingsRow>{};
  return std::optional<StandingsRow>{std::move(rows->front())};
}

Result<std::vector<StandingsRow>> ArenaStore::standings_history(int limit) {
  auto q = db_.prepare(std::string(kStandingsSelect) + "ORDER BY id DESC LIMIT ?");
  if (!q.ok()) return q.error();
  q->bind(1, limit);
  return read_standings(*q);
}

// The dashboard's reads (declared in store/queries.h).
Result<std::optional<StandingsRow>> standings_of_round(ArenaStore& store, int64_t round_id) {
  auto q = store.db().prepare(std::string(kStandingsSelect) + "WHERE round_id = ?");
  if (!q.ok()) return q.error();
  q->bind(1, round_id);
  auto rows = read_standings(*q);
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<StandingsRow>{};
  return std::optional<StandingsRow>{std::move(rows->front())};
}

Result<int64_t> standings_count(ArenaStore& store) {
  auto q = store.db().prepare("SELECT count(*) FROM standings");
  if (!q.ok()) return q.error();
  auto row = q->step();
  if (!row.ok()) return row.error();
  return *row ? q->column_int(0) : 0;
}

Result<std::vector<StandingsRow>> standings_page(ArenaStore& store, int limit, int64_t offset) {
  auto q = store.db().prepare(std::string(kStandingsSelect) + "ORDER BY id DESC LIMIT ? OFFSET ?");
  if (!q.ok()) return q.error();
  q->bind(1, int64_t{limit}).bind(2, offset);
  return read_standings(*q);
}

Result<int64_t> ArenaStore::begin_weights(std::optional<int64_t> round_id,
                                          BlockNumber intent_block,
                                          const std::vector<UidWeightRow>& weights,
                                          std::string_view reason) {
  auto q = db_.prepare(
      "INSERT INTO weights (round_id, intent_block, state, vector_json, reason) "
      "VALUES (?, ?, 'pending', ?, ?)");
  if (!q.ok()) return q.error();
  Status st = q->bind(1, round_id)
                  .bind(2, intent_block)
                  .bind(3, std::string_view(vector_json(weights)))
                  .bind(4, detail::text(reason))
                  .run();
  if (!st.ok()) {
    if (st.error().code == "sqlite_constraint")
      return detail::stale("a weights intent is already pending");
    return st.error();
  }
  return db_.last_insert_rowid();
}

Status ArenaStore::finish_weights(int64_t id, WeightsState to, std::optional<BlockNumber> set_block,
                                  std::string_view reason) {
  if (to == WeightsState::pending) return detail::stale("finish_weights to pending");
  auto q = db_.prepare(
      "UPDATE weights SET state = ?, set_block = ?, reason = CASE WHEN ? = '' THEN reason "
      "ELSE ? END WHERE id = ? AND state = 'pending'");
  if (!q.ok()) return q.error();
  STORE_TRY(q->bind(1, to_string(to))
                .bind(2, set_block)
                .bind(3, detail::text(reason))
                .bind(4, detail::text(reason))
                .bind(5, id)
                .run());
  if (db_.changes() != 1) return detail::stale("weights intent is not pending");
  return {};
}

Result<std::optional<WeightsRow>> ArenaStore::pending_weights() {
  auto q = db_.prepare(std::string(kWeightsSelect) + "WHERE state = 'pending' LIMIT 1");
  if (!q.ok()) return q.error();
  return first_weights(*q);
}

Result<std::optional<WeightsRow>> ArenaStore::last_weights_set() {
  auto q = db_.prepare(std::string(kWeightsSelect) + "WHERE state = 'set' ORDER BY id DESC LIMIT 1");
  if (!q.ok()) return q.error();
  return first_weights(*q);
}

Result<std::vector<WeightsRow>> ArenaStore::weights_history(int limit) {
  auto q = db_.prepare(std::string(kWeightsSelect) + "ORDER BY id DESC LIMIT ?");
  if (!q.ok()) return q.error();
  q->bind(1, limit);
  return read_weights(*q);
}

}  // namespace cacheon::store

// Read-side queries for the dashboard (store/queries.h). Every parameter is bound; sort columns
// come from a fixed table, never from the caller's text.
#include "store/queries.h"

#include <variant>

#include <fmt/format.h>

#include "store/internal.h"

namespace cacheon::store {
namespace {

std::string_view sort_column(EvalSort s) {
  switch (s) {
    case EvalSort::score: return "e.score";
    case EvalSort::round: return "e.round_id";
    case EvalSort::hotkey: return "e.hotkey";
    case EvalSort::duration: return "(e.finished_ms - e.started_ms)";
    case EvalSort::finished: break;
  }
  return "e.finished_ms";
}

// The filter as SQL with '?' placeholders and the values in order (text or integer).
struct Filter {
  std::string sql;
  std::vector<std::variant<std::string, int64_t>> args;
  void add(std::string_view clause) {
    sql += sql.empty() ? "WHERE " : " AND ";
    sql += clause;
  }
};

Filter eval_filter(const EvalQuery& q) {
  Filter f;
  if (q.hotkey) {
    f.add("e.hotkey = ?");
    f.args.emplace_back(*q.hotkey);
  }
  if (q.round_id) {
    f.add("e.round_id = ?");
    f.args.emplace_back(*q.round_id);
  }
  if (q.state) {
    f.add("e.state = ?");
    f.args.emplace_back(std::string(to_string(*q.state)));
  }
  if (q.outcome) {
    switch (*q.outcome) {
      case Outcome::passed: f.add("e.state = 'done' AND e.passed = 1"); break;
      case Outcome::failed: f.add("e.state = 'done' AND e.decided = 1 AND e.passed = 0"); break;
      case Outcome::undecided: f.add("e.state = 'done' AND e.decided = 0"); break;
    }
  }
  if (q.reason) {
    f.add("e.reason_code = ?");
    f.args.emplace_back(*q.reason);
  }
  return f;
}

void bind_args(SqliteStmt& s, const Filter& f, int first = 1) {
  int i = first;
  for (const auto& a : f.args) {
    if (const auto* t = std::get_if<std::string>(&a))
      s.bind(i++, std::string_view(*t));
    else
      s.bind(i++, std::get<int64_t>(a));
  }
}

Result<int64_t> count(SqliteDb& db, const std::string& sql, const Filter* f = nullptr) {
  auto q = db.prepare(sql);
  if (!q.ok()) return q.error();
  if (f) bind_args(*q, *f);
  auto row = q->step();
  if (!row.ok()) return row.error();
  return *row ? q->column_int(0) : 0;
}

// "SELECT key, count(*) ... GROUP BY key" into a map.
Result<std::map<std::string, int64_t>> grouped(SqliteDb& db, const std::string& sql) {
  auto q = db.prepare(sql);
  if (!q.ok()) return q.error();
  std::map<std::string, int64_t> out;
  for (;;) {
    auto row = q->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    out[q->column_text(0)] = q->column_int(1);
  }
  return out;
}

constexpr std::string_view kRoundSummarySelect =
    "SELECT r.id, r.block, r.block_hash, r.state, r.created_ms, count(e.id), "
    "coalesce(sum(e.state = 'done' AND e.passed = 1), 0), "
    "coalesce(sum(e.state = 'done' AND e.decided = 1 AND e.passed = 0), 0), "
    "coalesce(sum(e.state = 'done' AND e.decided = 0), 0), "
    "coalesce(sum(e.state != 'done'), 0) "
    "FROM rounds r LEFT JOIN evaluations e ON e.round_id = r.id ";

Result<std::vector<RoundSummary>> read_round_summaries(SqliteStmt& q) {
  std::vector<RoundSummary> out;
  for (;;) {
    auto row = q.step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    RoundSummary s;
    s.round.id = q.column_int(0);
    s.round.block = q.column_int(1);
    s.round.block_hash = q.column_text(2);
    auto st = parse_round_state(q.column_text(3));
    if (!st) return Error{"store_corrupt", "unknown round state " + q.column_text(3)};
    s.round.state = *st;
    s.round.created_ms = q.column_opt_int(4);
    s.participants = static_cast<int>(q.column_int(5));
    s.passed = static_cast<int>(q.column_int(6));
    s.failed = static_cast<int>(q.column_int(7));
    s.undecided = static_cast<int>(q.column_int(8));
    s.pending = static_cast<int>(q.column_int(9));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Result<EvalPage> query_evaluations(ArenaStore& store, const EvalQuery& query) {
  SqliteDb& db = store.db();
  const Filter f = eval_filter(query);
  EvalPage page;
  auto total = count(db, "SELECT count(*) FROM evaluations e " + f.sql, &f);
  if (!total.ok()) return total.error();
  page.total = *total;
  const std::string_view dir = query.descending ? "DESC" : "ASC";
  std::string sql = fmt::format("{}{} ORDER BY {} {} NULLS LAST, e.id {} LIMIT ? OFFSET ?",
                                detail::kEvalSelect, f.sql, sort_column(query.sort), dir, dir);
  auto q = db.prepare(sql);
  if (!q.ok()) return q.error();
  bind_args(*q, f);
  const int n = static_cast<int>(f.args.size());
  q->bind(n + 1, int64_t{query.limit}).bind(n + 2, query.offset);
  auto rows = detail::read_evals(db, *q, false);
  if (!rows.ok()) return rows.error();
  page.items = std::move(*rows);
  return page;
}

Result<std::optional<EvaluationRow>> evaluation_by_id(ArenaStore& store, int64_t id) {
  auto q = store.db().prepare(std::string(detail::kEvalSelect) + "WHERE e.id = ?");
  if (!q.ok()) return q.error();
  q->bind(1, id);
  auto rows = detail::read_evals(store.db(), *q, true);
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<EvaluationRow>{};
  return std::optional<EvaluationRow>{std::move(rows->front())};
}

Result<RoundPage> round_summaries(ArenaStore& store, int limit, int64_t offset) {
  RoundPage page;
  auto total = count(store.db(), "SELECT count(*) FROM rounds");
  if (!total.ok()) return total.error();
  page.total = *total;
  auto q = store.db().prepare(std::string(kRoundSummarySelect) +
                              "GROUP BY r.id ORDER BY r.id DESC LIMIT ? OFFSET ?");
  if (!q.ok()) return q.error();
  q->bind(1, int64_t{limit}).bind(2, offset);
  auto rows = read_round_summaries(*q);
  if (!rows.ok()) return rows.error();
  page.items = std::move(*rows);
  return page;
}

Result<std::optional<RoundSummary>> round_summary(ArenaStore& store, int64_t id) {
  auto q = store.db().prepare(std::string(kRoundSummarySelect) + "WHERE r.id = ? GROUP BY r.id");
  if (!q.ok()) return q.error();
  q->bind(1, id);
  auto rows = read_round_summaries(*q);
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<RoundSummary>{};
  return std::optional<RoundSummary>{std::move(rows->front())};
}

Result<ArenaCounts> arena_counts(ArenaStore& store) {
  SqliteDb& db = store.db();
  ArenaCounts c;
  auto subs = grouped(db, "SELECT state, count(*) FROM submissions GROUP BY state");
  auto evals = grouped(db, "SELECT state, count(*) FROM evaluations GROUP BY state");
  auto rounds = grouped(db, "SELECT state, count(*) FROM rounds GROUP BY state");
  auto fails = grouped(db,
                       "SELECT reason_code, count(*) FROM evaluations "
                       "WHERE state = 'done' AND passed = 0 GROUP BY reason_code");
  auto outcomes = grouped(db,
                          "SELECT CASE WHEN passed = 1 THEN 'passed' WHEN decided = 1 THEN "
                          "'failed' ELSE 'undecided' END, count(*) FROM evaluations "
                          "WHERE state = 'done' GROUP BY 1");
  for (const auto* r : {&subs, &evals, &rounds, &fails, &outcomes})
    if (!r->ok()) return r->error();
  c.submissions = std::move(*subs);
  c.evaluations = std::move(*evals);
  c.rounds = std::move(*rounds);
  c.failures = std::move(*fails);
  c.passed = (*outcomes)["passed"];
  c.failed = (*outcomes)["failed"];
  c.undecided = (*outcomes)["undecided"];
  // The latest decided evaluation of each submission; disqualified when it failed on the
  // candidate's side.
  auto dq = count(db,
                  "SELECT count(*) FROM evaluations e WHERE e.state = 'done' AND e.decided = 1 "
                  "AND e.passed = 0 AND e.blame = 'candidate' AND e.round_id = "
                  "(SELECT max(x.round_id) FROM evaluations x WHERE x.hotkey = e.hotkey AND "
                  "x.commit_block = e.commit_block AND x.state = 'done' AND x.decided = 1)");
  if (!dq.ok()) return dq.error();
  c.disqualified = *dq;
  auto last = db.prepare("SELECT max(finished_ms) FROM evaluations");
  if (!last.ok()) return last.error();
  if (auto row = last->step(); !row.ok()) return row.error();
  c.last_finished_ms = last->column_opt_int(0);
  auto dur = db.prepare(
      "SELECT (finished_ms - started_ms) / 1000.0 FROM evaluations WHERE state = 'done' AND "
      "finished_ms IS NOT NULL AND started_ms IS NOT NULL ORDER BY finished_ms DESC LIMIT 1000");
  if (!dur.ok()) return dur.error();
  for (;;) {
    auto row = dur->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    c.recent_durations_s.push_back(dur->column_double(0));
  }
  return c;
}

}  // namespace cacheon::store

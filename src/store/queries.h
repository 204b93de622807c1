// Read-side queries for the dashboard and metrics: filtered, sorted, paged evaluation lists,
// one evaluation by id, round summaries and counts. Read-only; work on a store opened with
// ArenaStore::open_read_only next to a running validator.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/arena_store.h"

namespace cacheon::store {

enum class Outcome { passed, failed, undecided };
enum class EvalSort { finished, score, round, hotkey, duration };

struct EvalQuery {
  std::optional<std::string> hotkey;
  std::optional<int64_t> round_id;
  std::optional<EvalState> state;
  std::optional<Outcome> outcome;  // done evaluations only
  std::optional<std::string> reason;
  EvalSort sort = EvalSort::finished;
  bool descending = true;
  int limit = 50;   // callers bound it (the API: 1..500)
  int64_t offset = 0;
};

struct EvalPage {
  int64_t total = 0;  // matching rows, before limit/offset
  std::vector<EvaluationRow> items;  // without prompt rows
};

Result<EvalPage> query_evaluations(ArenaStore& store, const EvalQuery& query);
// With its prompt rows; nullopt when there is no such evaluation.
Result<std::optional<EvaluationRow>> evaluation_by_id(ArenaStore& store, int64_t id);

struct SubmissionQuery {
  std::optional<std::string> hotkey;
  std::optional<SubmissionState> state;
  int limit = 50;
  int64_t offset = 0;
};
struct SubmissionPage {
  int64_t total = 0;
  std::vector<SubmissionRow> items;  // newest commit first
};
Result<SubmissionPage> query_submissions(ArenaStore& store, const SubmissionQuery& query);

struct RoundSummary {
  RoundRow round;
  int participants = 0, passed = 0, failed = 0, undecided = 0, pending = 0;
};
struct RoundPage {
  int64_t total = 0;
  std::vector<RoundSummary> items;  // newest first
};
Result<RoundPage> round_summaries(ArenaStore& store, int limit, int64_t offset);
Result<std::optional<RoundSummary>> round_summary(ArenaStore& store, int64_t id);
Result<std::optional<StandingsRow>> standings_of_round(ArenaStore& store, int64_t round_id);
Result<int64_t> standings_count(ArenaStore& store);
Result<std::vector<StandingsRow>> standings_page(ArenaStore& store, int limit, int64_t offset);

struct ArenaCounts {
  std::map<std::string, int64_t> submissions;  // by state
  std::map<std::string, int64_t> evaluations;  // by state
  std::map<std::string, int64_t> rounds;       // by state
  std::map<std::string, int64_t> failures;     // done and not passed, by reason code
  int64_t passed = 0, failed = 0, undecided = 0;
  // Submissions whose latest decided evaluation failed with the candidate to blame.
  int64_t disqualified = 0;
  std::optional<int64_t> last_finished_ms;
  std::vector<double> recent_durations_s;  // the newest 1000 timed evaluations
};
Result<ArenaCounts> arena_counts(ArenaStore& store);

}  // namespace cacheon::store

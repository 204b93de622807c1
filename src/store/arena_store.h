// The validator's durable state in one SQLite file (WAL): submissions and their intake states,
// rounds (one evaluation job each: the block hash that seeds the prompts and the participants in
// order), evaluations per participant per round with per-prompt results, standings history and
// the weights the validator set. Schema changes are numbered migrations (schema.cpp).
//
// Crash safety is the point of this class. Every transition below is one transaction, and the
// validator writes it BEFORE the side effect it stands for (launching a server, setting
// weights). Transitions are conditional ("from" states), so repeating one after a crash is
// harmless: a stale transition reports code "stale_transition" and changes nothing. An
// evaluation is recorded exactly once: UNIQUE(round, hotkey, commit_block) and the
// running -> done transition; a row left 'running' by a crash goes back to 'pending' on open
// (recover()) and its partial per-prompt rows are deleted, so it is re-run from scratch.
//
// Not in scope: deciding anything (arena/ rules, validator/ loop), reading the chain.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arena/types.h"
#include "core/sqlite.h"
#include "core/status.h"

namespace cacheon::store {

using arena::BlockNumber;

inline constexpr int kSchemaVersion = 3;

// Intake: seen -> payment_ok -> queued -> evaluated, or -> rejected / deferred (payment not yet
// verifiable, retried) / duplicate (a copy of an earlier commit).
enum class SubmissionState { seen, payment_ok, rejected, deferred, duplicate, queued, evaluated };
enum class RoundState { planned, running, scored, weights_set, done };
enum class EvalState { pending, running, done };
enum class Role { leader, runner_up, challenger };

std::string_view to_string(SubmissionState s);
std::string_view to_string(RoundState s);
std::string_view to_string(EvalState s);
std::string_view to_string(Role r);
std::optional<SubmissionState> parse_submission_state(std::string_view s);
std::optional<RoundState> parse_round_state(std::string_view s);
std::optional<EvalState> parse_eval_state(std::string_view s);
std::optional<Role> parse_role(std::string_view s);

struct SubmissionKey {
  std::string hotkey;
  BlockNumber commit_block = 0;
  bool operator==(const SubmissionKey&) const = default;
};

struct SubmissionRow {
  arena::Submission sub;   // image/digest/proof empty when the payload did not parse
  std::string raw;         // the commitment data as read from the ledger (bounded there)
  SubmissionState state = SubmissionState::seen;
  std::string reason;      // machine code for rejected/deferred/duplicate ("" otherwise)
  std::string message;     // one human line
  BlockNumber seen_block = 0;  // the finalized block of the scan that found it
  SubmissionKey key() const { return {sub.hotkey, sub.commit_block}; }
};

struct RoundRow {
  int64_t id = 0;
  BlockNumber block = 0;   // the finalized block the job was written at
  std::string block_hash;  // seeds the prompts
  RoundState state = RoundState::planned;
  std::optional<int64_t> created_ms;  // wall clock (unix ms); null for rows before schema v3
};

struct Participant {
  int position = 0;  // evaluation order
  SubmissionKey key;
  Role role = Role::challenger;
  std::string image;
  std::string digest;
};

// One scored prompt of an evaluation, for reports and the dashboard.
struct PromptRow {
  int prompt_index = 0;
  int64_t baseline_tokens = 0;
  int64_t candidate_tokens = 0;
  std::optional<double> baseline_e2e_ms;
  std::optional<double> candidate_e2e_ms;
  std::optional<double> candidate_ttft_ms;
  double improvement = 0;
  bool gates_passed = true;
  std::string note;  // why the prompt earned nothing / the failing gate ("" when fine)
  bool operator==(const PromptRow&) const = default;
};

// What the worker found. decided = false: an arena-side failure, nothing said about the miner.
struct EvalResult {
  bool decided = false;
  bool passed = false;
  double score = 0;
  std::string reason_code;
  std::string message;
  std::string blame;  // "none" | "candidate" | "arena" (harness::Blame)
  std::string report_path;
  std::string logs_path;
  std::string fingerprint;  // the server's content fingerprint ("" when not taken)
  std::vector<PromptRow> prompts;
};

struct EvaluationRow {
  int64_t id = 0;  // the store's row id (stable; the dashboard's evaluation id)
  int64_t round_id = 0;
  Participant participant;
  EvalState state = EvalState::pending;
  int attempts = 0;  // claims so far (a crash mid-run makes this > 1)
  std::optional<int64_t> started_ms;   // wall clock of the latest claim (unix ms)
  std::optional<int64_t> finished_ms;  // wall clock when recorded
  std::optional<EvalResult> result;  // set when done
};

// One standings entry in the history: who leads after a round (or after a UID loss).
struct StandingEntry {
  SubmissionKey key;
  int uid = -1;
  double score = 0;
  BlockNumber crowned_block = 0;  // the block it took this place (margin decay for a leader)
};

struct StandingsRow {
  int64_t id = 0;
  std::optional<int64_t> round_id;
  BlockNumber block = 0;
  std::optional<StandingEntry> leader;
  std::optional<StandingEntry> runner_up;
  std::string detail_json;  // the full ranking with reasons, for the dashboard
  std::optional<int64_t> recorded_ms;  // wall clock when written (set by the store)
};

enum class WeightsState { pending, set, failed };
std::string_view to_string(WeightsState s);

struct UidWeightRow {
  int uid = 0;
  int weight = 0;  // u16
  bool operator==(const UidWeightRow&) const = default;
};

struct WeightsRow {
  int64_t id = 0;
  std::optional<int64_t> round_id;
  BlockNumber intent_block = 0;   // the finalized block when the validator decided
  std::optional<BlockNumber> set_block;  // the ledger's block once set
  WeightsState state = WeightsState::pending;
  std::vector<UidWeightRow> weights;
  std::string reason;  // why set ("changed", "tempo") or why failed (error code)
};

class ArenaStore {
 public:
  // Opens (creating when missing) and migrates to kSchemaVersion. A file with a newer schema
  // than this build knows is refused ("store_too_new"). Then recover() runs.
  static Result<ArenaStore> open(const std::string& path);

  // For readers next to a running validator (the dashboard): no migration, no recovery, every
  // write fails. The file must be at exactly kSchemaVersion ("store_too_old" / "store_too_new").
  static Result<ArenaStore> open_read_only(const std::string& path);

  int schema_version() const { return version_; }
  // Puts evaluations left 'running' back to 'pending' and deletes their partial results.
  // Returns how many were reset.
  Result<int> recover();

  // --- scan cursor and small settings
  Result<BlockNumber> scan_cursor();  // last ledger block fully scanned (-1: none yet)
  Result<std::optional<std::string>> meta(std::string_view key);
  Status set_meta(std::string_view key, std::string_view value);

  // --- submissions
  // One transaction: inserts the new rows (an existing (hotkey, commit_block) is kept as is)
  // and moves the cursor to scanned_to. Fails "stale_transition" if scanned_to < the cursor.
  Status record_scan(const std::vector<SubmissionRow>& found, BlockNumber scanned_to);
  Result<std::optional<SubmissionRow>> submission(const SubmissionKey& key);
  // In (commit_block, hotkey) order.
  Result<std::vector<SubmissionRow>> submissions(const std::vector<SubmissionState>& states);
  Result<std::vector<SubmissionRow>> all_submissions();
  // Conditional transition: only from one of `from`; else "stale_transition".
  Status transition(const SubmissionKey& key, const std::vector<SubmissionState>& from,
                    SubmissionState to, std::string_view reason = {},
                    std::string_view message = {});
  // seen/deferred -> payment_ok, consuming the proof in the same transaction. A proof already
  // consumed by another submission makes this submission 'rejected' (reason proof_reused).
  Status accept_payment(const SubmissionKey& key);
  Result<bool> proof_used(std::string_view proof);
  // Every consumed proof with the submission it paid for.
  Result<std::vector<std::pair<std::string, SubmissionKey>>> used_proofs();

  // --- rounds and evaluations
  // One transaction: the round (planned), its participants in order and one pending
  // evaluation each. Participants must be distinct (UNIQUE per round).
  Result<int64_t> plan_round(BlockNumber block, std::string_view block_hash,
                             const std::vector<Participant>& participants);
  // The oldest round that is not done, if any (the loop finishes it before planning another).
  Result<std::optional<RoundRow>> open_round();
  Result<std::optional<RoundRow>> round(int64_t id);
  Result<std::vector<RoundRow>> rounds();  // newest first
  Status set_round_state(int64_t id, RoundState from, RoundState to);
  Result<std::vector<EvaluationRow>> evaluations(int64_t round_id);  // in participant order
  // Every evaluation of a submission across rounds, oldest first.
  Result<std::vector<EvaluationRow>> evaluations_of(const SubmissionKey& key);
  // The content fingerprint of each submission whose server was fingerprinted (the latest
  // evaluation that took one), keyed "hotkey@commit_block" (the copy rule's input).
  Result<std::map<std::string, std::string>> fingerprints();
  // pending -> running (attempts + 1). false when it is not pending (already running or done).
  Result<bool> claim_evaluation(int64_t round_id, const SubmissionKey& key);
  // running -> done with the result and its prompt rows, in one transaction. Recording twice,
  // or recording an evaluation that is not running, fails "stale_transition".
  Status record_evaluation(int64_t round_id, const SubmissionKey& key, const EvalResult& result);

  // --- standings and weights
  // One transaction: the standings row, the round -> scored (from running), and the round's
  // challengers queued -> evaluated, except those in `retry` (no judgement because the arena
  // failed), which stay queued for a later round.
  Result<int64_t> record_standings(int64_t round_id, const StandingsRow& standings,
                                   const std::vector<SubmissionKey>& retry = {});
  // Standings outside a round (e.g. a leader lost its UID).
  Result<int64_t> append_standings(const StandingsRow& standings);
  Result<std::optional<StandingsRow>> latest_standings();
  Result<std::vector<StandingsRow>> standings_history(int limit);  // newest first

  // The intent to set weights, written before calling the ledger.
  Result<int64_t> begin_weights(std::optional<int64_t> round_id, BlockNumber intent_block,
                                const std::vector<UidWeightRow>& weights,
                                std::string_view reason);
  // pending -> set / failed.
  Status finish_weights(int64_t id, WeightsState to, std::optional<BlockNumber> set_block,
                        std::string_view reason = {});
  Result<std::optional<WeightsRow>> pending_weights();
  Result<std::optional<WeightsRow>> last_weights_set();
  Result<std::vector<WeightsRow>> weights_history(int limit);  // newest first

  SqliteDb& db() { return db_; }

 private:
  explicit ArenaStore(SqliteDb db) : db_(std::move(db)) {}
  SqliteDb db_;
  int version_ = 0;
};

// Exposed for tests: the migrations and the version they bring the file to.
Result<int> migrate(SqliteDb& db);

}  // namespace cacheon::store

// The validator loop. One pass (run_once) at the ledger's finalized block:
//   intake   scan new commitments -> parse (arena/submission.h) -> drop superseded ones (the
//            latest commitment per hotkey is current) -> verify payments (arena/fee.h; defer
//            while the ledger cannot answer) -> dedupe (arena/copies.h) -> queue
//   round    with queued challengers and no open round: write a round (the finalized block's
//            hash seeds the prompts; participants leader, runner-up, challengers) -> run each
//            evaluation through the worker (claim before, record after) -> re-rank
//            (arena/standings.h) -> weights
//   weights  desired vector from the standings (arena/weights.h); set when should_set_weights
//            says so (changed, or a tempo since the last set, within the chain's rate limit);
//            intent stored before the signed ledger call. No challengers: no evaluation, the
//            weights are re-affirmed when due.
//   status   a JSON status file for the dashboard (written atomically).
// An open round (left by a crash or a stop) is finished before anything new is planned; the
// store's conditional transitions make every step safe to repeat (see store/arena_store.h and
// the crash points in crash_points.h).
//
// Not in scope: the rules themselves (arena/), measuring (harness/), running servers
// (ServerLauncher), the chain's internals (Ledger).
#pragma once
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "arena/standings.h"
#include "harness/progress.h"
#include "ledger/keys.h"
#include "ledger/ledger.h"
#include "store/arena_store.h"
#include "validator/config.h"
#include "core/log_file.h"
#include "validator/crash_points.h"
#include "validator/live_status.h"
#include "runner/launcher.h"
#include "validator/worker.h"

namespace cacheon::validator {

// What one pass did, for logs and tests.
struct PassReport {
  arena::BlockNumber block = -1;  // the finalized block it read at
  int scanned = 0;                // new submissions stored
  int accepted = 0, rejected = 0, deferred = 0, duplicates = 0, queued = 0;
  std::optional<int64_t> round_id;  // the round it worked on
  bool round_finished = false;
  int evaluations = 0;  // evaluations run in this pass
  std::string weights;  // "" untouched; else the decision reason ("changed", "rate_limited", ..)
  bool stopped = false;  // a stop request cut the pass short
};

class Validator {
 public:
  // Everything is borrowed and must outlive the Validator. The hotkey signs set_weights.
  Validator(const ValidatorConfig& config, ledger::Ledger& ledger, store::ArenaStore& store,
            runner::ServerLauncher& launcher, ledger::Keypair hotkey, harness::Progress& progress,
            CrashPoints crash = {});
  // The same with evaluations run by `executor` (a remote GPU worker) instead of an
  // in-process Worker over a launcher.
  Validator(const ValidatorConfig& config, ledger::Ledger& ledger, store::ArenaStore& store,
            EvalExecutor& executor, ledger::Keypair hotkey, harness::Progress& progress,
            CrashPoints crash = {});

  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  // One pass; an error means nothing further could be done in this pass (e.g. the ledger is
  // unreachable); the next pass resumes from the store.
  Result<PassReport> run_once();
  // Passes every poll interval until `stop` becomes true (checked between evaluations and
  // while sleeping). Returns the number of passes.
  int run(const std::atomic<bool>& stop);

  // The status document (also written to config.status_path after each pass).
  nlohmann::json status_json();

 private:
  Status intake(const ledger::BlockInfo& fin, PassReport& rep);
  Status scan(const ledger::BlockInfo& fin, PassReport& rep);
  Status supersede(PassReport& rep);
  Status verify_payments(const ledger::BlockInfo& fin, PassReport& rep);
  Status dedupe_and_queue(PassReport& rep);
  Result<std::optional<int64_t>> plan_round(const ledger::BlockInfo& fin);
  Status run_round(const store::RoundRow& round, PassReport& rep, const std::atomic<bool>* stop);
  Status score_round(const store::RoundRow& round);
  Status refresh_standings(const ledger::BlockInfo& fin);
  Status weights_step(std::optional<int64_t> round_id, PassReport& rep);
  Status publish_status(const std::string& error = {});

  Result<arena::Standings> current_standings();
  Result<std::vector<arena::MetagraphEntry>> metagraph_at(arena::BlockNumber block);

  const ValidatorConfig& config_;
  ledger::Ledger& ledger_;
  store::ArenaStore& store_;
  ledger::Keypair hotkey_;
  harness::Progress& progress_;
  CrashPoints crash_;
  std::unique_ptr<Worker> own_worker_;  // when built over a launcher
  EvalExecutor& worker_;
  const std::atomic<bool>* stop_ = nullptr;
  std::string last_error_;
  LiveStatus live_;               // live.json for the dashboard
  std::unique_ptr<LogFile> log_;  // the validator's log file (null when off)
};

// Conversions between the arena's standings and the store's rows (pure).
arena::Standings standings_from_row(const std::optional<store::StandingsRow>& row);
store::StandingsRow row_from_standings(const arena::Standings& s, arena::BlockNumber block,
                                       const nlohmann::json& detail);

}  // namespace cacheon::validator

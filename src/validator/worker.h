// The worker: runs the evaluations of one job (a round) against the round's baseline. The
// baseline server is started on first use and kept for the whole job (one baseline per round,
// shared by every participant); each participant's server is started, evaluated with the
// harness (prompts seeded by the round's block hash, the same for everyone) and stopped.
//
// The worker writes files only (each evaluation's JSON report and server log under
// <logs_dir>/round-<id>/); the store is the validator's business, so the validator can claim an
// evaluation before the worker runs it and record the result after.
//
// Blame: a baseline that cannot start makes every evaluation of the job arena-blamed
// (baseline_failed, undecided); a submission whose server cannot start is the candidate's
// failure (image_unavailable, startup_timeout, candidate_unreachable).
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arena/types.h"
#include "harness/eval.h"
#include "store/arena_store.h"
#include "validator/config.h"
#include "validator/executor.h"
#include "runner/launcher.h"

namespace cacheon::validator {

class Worker final : public EvalExecutor {
 public:
  // config: model, workload, timeouts, baseline command, logs_dir (from ValidatorConfig).
  Worker(const ValidatorConfig& config, runner::ServerLauncher& launcher, harness::Progress& progress);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // EvalExecutor (executor.h). finish_job() is also done by the destructor or a job change.
  store::EvalResult evaluate(const EvalJob& job, const store::Participant& p, int attempt,
                             const std::function<void()>& on_launched = {}) override;
  void finish_job() override;

  // The harness configuration used for a job (exposed for `cacheon check` and tests).
  harness::EvalConfig eval_config(const EvalJob& job) const;

 private:
  Result<const Url*> baseline_for(const EvalJob& job);

  const ValidatorConfig& config_;
  runner::ServerLauncher& launcher_;
  harness::Progress& progress_;
  std::optional<int64_t> baseline_round_;
  std::unique_ptr<runner::ServerHandle> baseline_;
  std::optional<Error> baseline_error_;
};

// Where an evaluation's files go: <logs_dir>/round-<id>/<stem> (append ".json" for the report,
// ".log" for the server log). Also used by the remote executor for the files it receives.
std::string eval_files_stem(const ValidatorConfig& config, int64_t round_id,
                            const store::Participant& p, int attempt);

// The store's per-prompt rows and result fields from a harness outcome (pure).
store::EvalResult result_from_outcome(const harness::EvalOutcome& outcome);

}  // namespace cacheon::validator

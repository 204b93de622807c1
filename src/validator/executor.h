// The seam between the validator loop and whoever runs evaluations: the in-process Worker
// (worker.h, the default on a single host) or a remote GPU worker reached over HTTPS
// (remote/remote_executor.h). The loop claims an evaluation in the store, calls evaluate(), and
// records what comes back; an executor never touches the store.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "arena/types.h"
#include "store/arena_store.h"

namespace cacheon::validator {

struct EvalJob {
  int64_t round_id = 0;
  arena::BlockNumber block = 0;
  std::string block_hash;  // seeds the prompts
  std::vector<store::Participant> participants;  // in order
};

class EvalExecutor {
 public:
  virtual ~EvalExecutor() = default;
  // Runs one participant of `job` end to end; never throws; every failure is a result with a
  // reason code and a blame. `attempt` names its files so a re-run after a crash never
  // overwrites the logs of the attempt that died. on_launched: called once the candidate's
  // server is up, before measuring (a crash point).
  virtual store::EvalResult evaluate(const EvalJob& job, const store::Participant& p, int attempt,
                                     const std::function<void()>& on_launched = {}) = 0;
  // The job is over: stop its baseline server (the next job starts its own).
  virtual void finish_job() = 0;
};

}  // namespace cacheon::validator

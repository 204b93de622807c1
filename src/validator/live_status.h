// The running round's progress for the dashboard: a small JSON file (live.json) rewritten
// atomically on every participant change and at most once a second on progress steps. When no
// round runs it says {"active": false}. The dashboard marks it stale when a running round stops
// updating (the validator may have died), so a dead validator never looks busy forever.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/progress.h"
#include "store/arena_store.h"

namespace cacheon::validator {

class LiveStatus {
 public:
  // path "" disables it (every call is then a no-op).
  explicit LiveStatus(std::string path, int64_t min_interval_ms = 1000);

  void begin_round(int64_t round_id, const std::vector<store::EvaluationRow>& evaluations);
  void evaluating(const store::SubmissionKey& key);
  void evaluated(const store::SubmissionKey& key, const store::EvalResult& result);
  void end_round();
  void on_progress(const harness::ProgressUpdate& update);

  nlohmann::json snapshot() const;

 private:
  void write_locked(bool force);
  std::string path_;
  int64_t min_interval_ms_;
  mutable std::mutex mu_;
  nlohmann::json doc_;
  int64_t last_write_ms_ = 0;
};

}  // namespace cacheon::validator

// The validator's side of remote workers: an EvalExecutor (validator/executor.h) that sends each
// evaluation to a `cacheon worker` over HTTPS and returns its result, with the worker's report and
// server log written to the validator's own files (the names validator::Worker uses).
//
// Every failure of the remote path is arena-side (blame "arena", decided = false, a
// remote::reason code): the validator re-queues the challenger (max_arena_retries) and says
// nothing about the miner. A result is only trusted with a valid proof from the worker
// (auth.h): a worker or a man in the middle without the token cannot make one.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "harness/progress.h"
#include "remote/auth.h"
#include "remote/pod_provider.h"
#include "validator/config.h"
#include "validator/executor.h"

namespace cacheon::remote {

// Slack over an evaluation's own limits before a deadline further out gives up on it.
inline constexpr std::chrono::minutes kDeadlineMargin{10};

// What the validator's config says about its remote workers (the lead maps TOML keys to these).
struct RemoteWorkerOptions {
  std::vector<std::string> urls;  // static provider: "https://HOST:PORT", tried in order
  std::string token_file;         // the shared secret (mode 0600)
  std::string ca_file;            // PEM: the worker certificate(s) or their CA, and nothing else
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds health_timeout{10'000};     // a whole GET /v1/health
  std::chrono::milliseconds read_idle_timeout{60'000};  // silence mid-evaluation (heartbeat: 10 s)
  // One evaluation, request to result; 0: the config's [timeouts] evaluation_s + startup_s (the
  // baseline's start) + kDeadlineMargin, so the worker's own deadline answers first.
  std::chrono::milliseconds eval_timeout{0};
  size_t max_response_bytes = 96u << 20;                   // one evaluation's whole stream
};

class RemoteExecutor final : public validator::EvalExecutor {
 public:
  // Loads the token and the CA file now (so a bad config fails at start, not at the first
  // evaluation); a static provider over options.urls unless `pods` is given.
  // Error codes: token_*, tls_config, bad_url, no_workers.
  static Result<std::unique_ptr<RemoteExecutor>> create(
      const validator::ValidatorConfig& config, const RemoteWorkerOptions& options,
      harness::Progress& progress, std::unique_ptr<PodProvider> pods = nullptr);
  ~RemoteExecutor() override;

  store::EvalResult evaluate(const validator::EvalJob& job, const store::Participant& p,
                             int attempt, const std::function<void()>& on_launched = {}) override;
  // Tells every worker this job used to stop its baseline (best effort).
  void finish_job() override;

 private:
  RemoteExecutor(const validator::ValidatorConfig& config, RemoteWorkerOptions options,
                 harness::Progress& progress, std::unique_ptr<PodProvider> pods, Token token,
                 std::shared_ptr<boost::asio::ssl::context> tls);
  // busy: the worker answered 409 (or says so on /v1/health): try the next one.
  struct Attempt {
    std::optional<store::EvalResult> result;
    bool busy = false;
  };
  Attempt evaluate_on(const WorkerEndpoint& w, const validator::EvalJob& job,
                      const store::Participant& p, int attempt,
                      const std::function<void()>& on_launched);
  Result<bool> healthy_and_busy(const WorkerEndpoint& w);
  void store_files(const WorkerEndpoint& w, const validator::EvalJob& job,
                   const store::Participant& p, int attempt, const nlohmann::json& report,
                   const std::optional<std::string>& log, store::EvalResult& r);

  // One pass over the workers; `code` is the failure's reason code ("" when a worker answered).
  store::EvalResult try_workers(const validator::EvalJob& job, const store::Participant& p,
                                int attempt, const std::function<void()>& on_launched,
                                std::string_view& code);

  const validator::ValidatorConfig& config_;
  RemoteWorkerOptions options_;
  harness::Progress& progress_;
  std::unique_ptr<PodProvider> pods_;
  Token token_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::optional<int64_t> job_round_;
  std::map<std::string, WorkerEndpoint> used_;  // workers that ran part of the current job
};

// The worker's hard deadline for one evaluation by default: the in-process Worker's own limits
// ([timeouts] evaluation_s, and startup_s for the baseline) plus kDeadlineMargin.
std::chrono::milliseconds worker_deadline_for(const validator::ValidatorConfig& config);

// An arena-side failure of the remote path (pure; exposed for tests).
store::EvalResult remote_failure(std::string_view code, std::string message);

}  // namespace cacheon::remote

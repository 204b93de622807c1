#include "validator/worker.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace cacheon::validator {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEvaluationTimeout = "evaluation_timeout";

// Only [A-Za-z0-9], at most 18 characters: hotkeys come from the chain.
std::string file_safe(std::string_view s) {
  std::string out;
  for (char c : s)
    if (((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) &&
        out.size() < 18)
      out += c;
  return out.empty() ? "x" : out;
}

std::string round_dir(const ValidatorConfig& c, int64_t round_id) {
  return (fs::path(c.logs_dir) / fmt::format("round-{}", round_id)).string();
}

std::string file_stem(const store::Participant& p, int attempt) {
  return fmt::format("{:02d}-{}-{}.a{}", p.position, file_safe(p.key.hotkey), p.key.commit_block,
                     attempt);
}

// Atomic: a reader (the dashboard) never sees half a report.
void write_json(const std::string& path, const nlohmann::json& j) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    if (!f) return;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
}

store::EvalResult early(std::string_view code, std::string_view blame, bool decided,
                        std::string message) {
  store::EvalResult r;
  r.decided = decided;
  r.passed = false;
  r.score = 0;
  r.reason_code = std::string(code);
  r.blame = std::string(blame);
  r.message = std::move(message);
  return r;
}

// Runs on_expiry once if still armed at the deadline; the destructor disarms and joins. The
// whole-evaluation bound: stopping the candidate's server makes the harness's requests fail at
// once, so run_eval returns soon after.
class Watchdog {
 public:
  Watchdog(std::chrono::steady_clock::time_point deadline, std::function<void()> on_expiry)
      : thread_([this, deadline, f = std::move(on_expiry)] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_until(lock, deadline, [this] { return disarmed_; })) {
            fired_ = true;
            f();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      disarmed_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool fired() const { return fired_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  std::atomic<bool> fired_{false};
  std::thread thread_;  // last: started once the members above exist
};

// A server that could not be started: the submission's fault unless the arena's side failed.
store::EvalResult launch_failure(const Error& e) {
  namespace lc = runner::launch_code;
  if (e.code == lc::kStartupTimeout)
    return early(harness::reason::kStartupTimeout, "candidate", true, e.message);
  if (e.code == lc::kServerExited)  // the message has the exit code and the log tail
    return early(harness::reason::kCandidateUnreachable, "candidate", true, e.message);
  if (e.code == lc::kImageUnavailable || e.code == lc::kImagePullFailed ||
      e.code == lc::kImageTooLarge || e.code == lc::kImageDigestMismatch)
    return early(e.code, "candidate", true, e.message);
  return early(lc::kLaunchFailed, "arena", false, e.message);
}

}  // namespace

std::string eval_files_stem(const ValidatorConfig& config, int64_t round_id,
                            const store::Participant& p, int attempt) {
  return (fs::path(round_dir(config, round_id)) / file_stem(p, attempt)).string();
}

store::EvalResult result_from_outcome(const harness::EvalOutcome& outcome) {
  const harness::Verdict& v = outcome.verdict;
  store::EvalResult r;
  r.decided = v.decided;
  r.passed = v.passed;
  r.score = v.score;
  r.reason_code = v.reason_code;
  r.message = v.message;
  // No speed-up is claimed inside the baseline's own noise (harness/verdict.h): a server equal
  // to the baseline must not earn a paid place from noise. The measured score stays in the report.
  if (v.passed && v.confidence == harness::Confidence::within_noise && r.score > 0) {
    r.message += fmt::format(" (score {:.4f} is within the noise floor {:.4f}: counted as 0)",
                             v.score, v.noise_floor);
    r.score = 0;
  }
  r.blame = std::string(harness::to_string(v.blame));
  if (v.scoring) {
    for (const auto& p : v.scoring->prompts) {
      store::PromptRow row;
      row.prompt_index = p.prompt_index;
      row.baseline_tokens = p.baseline_tokens;
      row.candidate_tokens = p.candidate_tokens;
      row.baseline_e2e_ms = p.baseline_e2e_ms;
      row.candidate_e2e_ms = p.candidate_e2e_ms;
      row.candidate_ttft_ms = p.candidate_ttft_ms;
      row.improvement = p.improvement;
      row.note = p.note;
      for (const auto& g : v.gates)
        if (g.prompt_index == p.prompt_index && !g.passed()) {
          row.gates_passed = false;
          row.note = g.gate + ":" + g.reason_code;
          break;
        }
      r.prompts.push_back(std::move(row));
    }
  }
  return r;
}

Worker::Worker(const ValidatorConfig& config, runner::ServerLauncher& launcher,
               harness::Progress& progress)
    : config_(config), launcher_(launcher), progress_(progress) {}

Worker::~Worker() { finish_job(); }

void Worker::finish_job() {
  if (baseline_) baseline_->stop();
  baseline_.reset();
  baseline_round_.reset();
  baseline_error_.reset();
}

harness::EvalConfig Worker::eval_config(const EvalJob& job) const {
  return eval_config_for(config_, job.block_hash);
}

Result<const Url*> Worker::baseline_for(const EvalJob& job) {
  if (baseline_round_ != job.round_id) {
    finish_job();
    baseline_round_ = job.round_id;
    runner::LaunchSpec spec;
    spec.name = "baseline";
    spec.argv = config_.baseline.argv;
    spec.image = config_.baseline_image;
    spec.digest = config_.baseline_digest;
    spec.logs_path = (fs::path(round_dir(config_, job.round_id)) / "baseline.log").string();
    spec.startup_timeout = config_.startup_timeout;
    spec.on_progress = [this](const std::string& line) { progress_.message(line); };
    progress_.message(fmt::format("round {}: starting the baseline", job.round_id));
    auto h = launcher_.start(spec);
    if (h.ok())
      baseline_ = std::move(*h);
    else
      baseline_error_ = h.error();
  }
  if (baseline_error_) return *baseline_error_;
  return &baseline_->url();
}

store::EvalResult Worker::evaluate(const EvalJob& job, const store::Participant& p, int attempt,
                                   const std::function<void()>& on_launched) {
  const std::string dir = round_dir(config_, job.round_id);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string stem = (fs::path(dir) / file_stem(p, attempt)).string();
  const std::string name = fmt::format("{}@{}", p.key.hotkey, p.key.commit_block);

  auto base = baseline_for(job);
  // The candidate's budget starts once the arena's own server is up.
  const auto deadline = std::chrono::steady_clock::now() + config_.evaluation_timeout;
  if (!base.ok())
    return early(harness::reason::kBaselineFailed, "arena", false,
                 "the baseline did not start: " + base.error().message);

  runner::LaunchSpec spec;
  spec.name = name;
  spec.image = p.image;
  spec.digest = p.digest;
  spec.logs_path = stem + ".log";
  spec.startup_timeout = config_.startup_timeout;
  spec.on_progress = [this](const std::string& line) { progress_.message(line); };
  progress_.message(fmt::format("round {}: evaluating {} ({})", job.round_id, name,
                                store::to_string(p.role)));
  auto server = launcher_.start(spec);
  if (!server.ok()) {
    store::EvalResult r = launch_failure(server.error());
    r.logs_path = spec.logs_path;
    return r;
  }
  if (on_launched) on_launched();

  harness::EvalConfig cfg = eval_config(job);
  cfg.baseline = **base;
  cfg.candidate = (*server)->url();
  if (config_.baseline_is_scorer) cfg.scorer = **base;
  harness::EvalOutcome outcome;
  bool timed_out = false;
  {
    runner::ServerHandle* handle = server->get();
    Watchdog watchdog(deadline, [handle] { handle->stop(); });
    outcome = harness::run_eval(cfg, progress_);
    timed_out = watchdog.fired();
  }
  const std::string fingerprint = (*server)->fingerprint();
  (*server)->stop();

  store::EvalResult r = result_from_outcome(outcome);
  r.fingerprint = fingerprint;
  if (timed_out) {
    const std::string measured = r.reason_code;
    r = early(kEvaluationTimeout, "candidate", true,
              fmt::format("the evaluation ran past {} s and the server was stopped (the harness "
                          "then saw: {})",
                          config_.evaluation_timeout.count() / 1000.0, measured));
    r.fingerprint = fingerprint;
  }
  r.logs_path = spec.logs_path;
  r.report_path = stem + ".json";
  outcome.report["arena"] = {{"round", job.round_id},
                             {"block", job.block},
                             {"block_hash", job.block_hash},
                             {"hotkey", p.key.hotkey},
                             {"commit_block", p.key.commit_block},
                             {"role", store::to_string(p.role)},
                             {"image", p.image},
                             {"digest", p.digest},
                             {"fingerprint", fingerprint},
                             {"attempt", attempt},
                             {"logs", spec.logs_path}};
  write_json(r.report_path, outcome.report);
  return r;
}

}  // namespace cacheon::validator

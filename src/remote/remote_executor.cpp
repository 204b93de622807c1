#include "remote/remote_executor.h"

#include <thread>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "remote/protocol.h"
#include "remote/tls.h"
#include "validator/worker.h"

namespace cacheon::remote {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A worker's progress text goes to the validator's terminal: no control characters.
std::string printable(std::string_view s) {
  std::string out(s.substr(0, std::min(s.size(), kMaxProgressLine)));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

// Atomic: a reader (the dashboard) never sees half a file.
bool write_file(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << data;
    if (!f) return false;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return !ec;
}

}  // namespace

std::chrono::milliseconds worker_deadline_for(const validator::ValidatorConfig& config) {
  return config.evaluation_timeout + config.startup_timeout + kDeadlineMargin;
}

store::EvalResult remote_failure(std::string_view code, std::string message) {
  store::EvalResult r;
  r.decided = false;
  r.passed = false;
  r.reason_code = std::string(code);
  r.blame = "arena";
  r.message = std::move(message);
  return r;
}

Result<std::unique_ptr<RemoteExecutor>> RemoteExecutor::create(
    const validator::ValidatorConfig& config, const RemoteWorkerOptions& options,
    harness::Progress& progress, std::unique_ptr<PodProvider> pods) {
  auto token = Token::load(options.token_file);
  if (!token.ok()) return token.error();
  auto tls = make_client_tls(options.ca_file);
  if (!tls.ok()) return tls.error();
  if (!pods) {
    auto st = StaticPodProvider::from_urls(options.urls);
    if (!st.ok()) return st.error();
    if (options.urls.empty()) return Error{"no_workers", "no remote worker URLs are configured"};
    pods = std::make_unique<StaticPodProvider>(std::move(*st));
  }
  return std::unique_ptr<RemoteExecutor>(new RemoteExecutor(
      config, options, progress, std::move(pods), std::move(*token), std::move(*tls)));
}

RemoteExecutor::RemoteExecutor(const validator::ValidatorConfig& config,
                               RemoteWorkerOptions options, harness::Progress& progress,
                               std::unique_ptr<PodProvider> pods, Token token,
                               std::shared_ptr<boost::asio::ssl::context> tls)
    : config_(config),
      options_(std::move(options)),
      progress_(progress),
      pods_(std::move(pods)),
      token_(std::move(token)),
      tls_(std::move(tls)) {
  if (options_.eval_timeout.count() <= 0)
    options_.eval_timeout = worker_deadline_for(config_) + kDeadlineMargin;
}

RemoteExecutor::~RemoteExecutor() = default;

Result<bool> RemoteExecutor::healthy_and_busy(const WorkerEndpoint& w) {
  HttpsTimeouts t{options_.connect_timeout, options_.handshake_timeout, options_.health_timeout,
                  options_.health_timeout};
  auto r = https_fetch(*tls_, w.url, {"GET", std::string(kHealthPath), {}, {}}, t);
  if (!r.ok()) return r.error();
  json j = json::parse(r->second, nullptr, false);
  if (r->first != 200 || !j.is_object() || j.value("ok", false) != true)
    return Error{"worker_unhealthy", fmt::format("{}: /v1/health answered {}", w.name, r->first)};
  if (j.value("protocol", 0) != kProtocolVersion)
    return Error{"worker_protocol",
                 fmt::format("{} speaks protocol {}, not {}", w.name, j.value("protocol", 0),
                             kProtocolVersion)};
  return j.value("busy", false);
}

store::EvalResult RemoteExecutor::evaluate(const validator::EvalJob& job,
                                           const store::Participant& p, int attempt,
                                           const std::function<void()>& on_launched) {
  if (job_round_ != job.round_id) {
    finish_job();
    job_round_ = job.round_id;
  }
  // Every worker busy (e.g. still finishing an evaluation a restarted validator abandoned):
  // wait for one, bounded by the deadline any evaluation on it has, instead of recording an
  // arena failure that would use up the challenger's retries without measuring it.
  const auto busy_until = std::chrono::steady_clock::now() + options_.eval_timeout;
  for (int round = 0;; ++round) {
    std::string_view code;
    store::EvalResult r = try_workers(job, p, attempt, on_launched, code);
    if (code != reason::kWorkerBusy || std::chrono::steady_clock::now() >= busy_until) return r;
    if (round % 12 == 0) progress_.message("every remote worker is busy; waiting for one");
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
}

store::EvalResult RemoteExecutor::try_workers(const validator::EvalJob& job,
                                              const store::Participant& p, int attempt,
                                              const std::function<void()>& on_launched,
                                              std::string_view& code) {
  code = {};
  auto workers = pods_->workers();
  if (!workers.ok()) return remote_failure(reason::kWorkerUnreachable, workers.error().message);
  // Skipped workers: unreachable, failing TLS, speaking another protocol, or busy.
  std::vector<std::string> why;
  code = reason::kWorkerUnreachable;
  for (const auto& w : *workers) {
    auto h = healthy_and_busy(w);
    if (!h.ok()) {
      why.push_back(h.error().message);
      if (h.error().code == "tls_failed") code = reason::kWorkerTlsFailed;
      if (h.error().code == "worker_protocol") code = reason::kWorkerProtocolError;
      continue;
    }
    if (*h) {
      why.push_back(w.name + " is busy");
      code = reason::kWorkerBusy;
      continue;
    }
    progress_.message(fmt::format("round {}: evaluating {}@{} on {}", job.round_id, p.key.hotkey,
                                  p.key.commit_block, w.name));
    Attempt a = evaluate_on(w, job, p, attempt, on_launched);
    if (a.busy) {
      why.push_back(w.name + " is busy");
      code = reason::kWorkerBusy;
      continue;
    }
    code = {};
    return std::move(*a.result);
  }
  std::string msg = "no remote worker could take the evaluation:";
  for (const auto& m : why) msg += " " + m + ";";
  if (!msg.empty() && msg.back() == ';') msg.pop_back();
  return remote_failure(code, msg);
}

RemoteExecutor::Attempt RemoteExecutor::evaluate_on(const WorkerEndpoint& w,
                                                    const validator::EvalJob& job,
                                                    const store::Participant& p, int attempt,
                                                    const std::function<void()>& on_launched) {
  const std::string body = evaluate_body({job, p, attempt});
  const RequestAuth auth = sign_request(token_, "POST", kEvaluatePath, body, unix_now());
  HttpsRequest req{"POST", std::string(kEvaluatePath),
                   {{std::string(kNonceHeader), auth.nonce},
                    {std::string(kTimeHeader), std::to_string(auth.time)},
                    {std::string(kAuthHeader), auth.hmac}},
                   body};
  used_[w.name] = w;

  int status = 0;
  std::string error_text;
  std::optional<std::string> result_line, proof;
  bool launched = false;
  LineSplitter lines(options_.max_response_bytes, options_.max_response_bytes);
  auto on_line = [&](std::string_view line) -> Status {
    if (proof) return Error{"protocol", "a record after the proof"};
    auto rec = parse_record(line);
    if (!rec.ok()) return Error{"protocol", rec.error().message};
    switch (rec->type) {
      case StreamRecord::Type::progress:
        progress_.message(fmt::format("  [{}] {}", w.name, printable(rec->message)));
        break;
      case StreamRecord::Type::launched:
        if (!launched && on_launched) on_launched();
        launched = true;
        break;
      case StreamRecord::Type::result:
        if (result_line) return Error{"protocol", "two result records"};
        result_line = std::string(line);
        break;
      case StreamRecord::Type::proof:
        if (!result_line) return Error{"protocol", "a proof before the result"};
        proof = rec->proof;
        break;
      case StreamRecord::Type::heartbeat:
      case StreamRecord::Type::unknown:  // newer workers may say more
        break;
    }
    return {};
  };
  HttpsHandlers h;
  h.on_status = [&](int s) -> Status {
    status = s;
    return {};
  };
  h.on_body = [&](std::string_view d) -> Status {
    if (status != 200) {
      if (error_text.size() < 64 * 1024) error_text.append(d.substr(0, 64 * 1024));
      return {};
    }
    return lines.feed(d, on_line);
  };
  HttpsTimeouts t{options_.connect_timeout, options_.handshake_timeout, options_.read_idle_timeout,
                  options_.eval_timeout};
  Status st = https_exchange(*tls_, w.url, req, t, options_.max_response_bytes, h);

  auto fail = [&](std::string_view code, std::string msg) {
    return Attempt{remote_failure(code, fmt::format("{}: {}", w.name, msg)), false};
  };
  if (!st.ok()) {
    const std::string& c = st.error().code;
    if (c == "connect_failed") return fail(reason::kWorkerUnreachable, st.error().message);
    if (c == "tls_failed") return fail(reason::kWorkerTlsFailed, st.error().message);
    if (c == "timeout" || c == "disconnected")
      return fail(reason::kWorkerLost, "lost the worker mid-evaluation: " + st.error().message);
    return fail(reason::kWorkerProtocolError, st.error().message);
  }
  if (status == 409) return {std::nullopt, true};
  if (status == 401 || status == 503) {
    Error e = error_from_body(error_text, "unauthorized");
    return fail(reason::kWorkerAuthFailed,
                fmt::format("the worker refused our request ({}: {})", e.code, e.message));
  }
  if (status != 200) {
    Error e = error_from_body(error_text, "http_error");
    return fail(reason::kWorkerProtocolError,
                fmt::format("HTTP {} ({}: {})", status, e.code, e.message));
  }
  if (!result_line || !proof || lines.pending() > 0)
    return fail(reason::kWorkerLost, "the evaluation stream ended without a proven result");
  if (!verify_result_proof(token_, auth.nonce, *result_line, *proof))
    return fail(reason::kWorkerAuthFailed,
                "the worker's result proof is invalid (a different token, or not our worker)");
  auto rec = parse_record(*result_line);
  auto payload = rec.ok() ? parse_result_payload(rec->body) : Result<ResultPayload>(rec.error());
  if (!payload.ok()) return fail(reason::kWorkerProtocolError, payload.error().message);
  store::EvalResult r = std::move(payload->result);
  store_files(w, job, p, attempt, payload->report, payload->log, r);
  return {std::move(r), false};
}

void RemoteExecutor::store_files(const WorkerEndpoint& w, const validator::EvalJob& job,
                                 const store::Participant& p, int attempt, const json& report,
                                 const std::optional<std::string>& log, store::EvalResult& r) {
  // The worker's paths mean nothing here: only files written on this machine are named.
  r.report_path.clear();
  r.logs_path.clear();
  const std::string stem = validator::eval_files_stem(config_, job.round_id, p, attempt);
  std::error_code ec;
  fs::create_directories(fs::path(stem).parent_path(), ec);
  if (log && write_file(stem + ".log", *log)) r.logs_path = stem + ".log";
  if (report.is_object()) {
    json rep = report;
    if (!rep.contains("arena") || !rep["arena"].is_object()) rep["arena"] = json::object();
    rep["arena"]["logs"] = r.logs_path;
    rep["arena"]["worker"] = w.name;
    if (write_file(stem + ".json",
                   rep.dump(1, ' ', false, json::error_handler_t::replace) + "\n"))
      r.report_path = stem + ".json";
  }
}

void RemoteExecutor::finish_job() {
  for (const auto& [name, w] : used_) {
    const RequestAuth auth = sign_request(token_, "POST", kFinishJobPath, "", unix_now());
    HttpsRequest req{"POST", std::string(kFinishJobPath),
                     {{std::string(kNonceHeader), auth.nonce},
                      {std::string(kTimeHeader), std::to_string(auth.time)},
                      {std::string(kAuthHeader), auth.hmac}},
                     ""};
    HttpsTimeouts t{options_.connect_timeout, options_.handshake_timeout,
                    std::chrono::seconds(90), std::chrono::seconds(90)};
    auto r = https_fetch(*tls_, w.url, req, t);
    if (!r.ok() || r->first != 200)
      progress_.message(fmt::format("{}: finish-job failed: {}", name,
                                    r.ok() ? fmt::format("HTTP {}", r->first)
                                           : r.error().message));
  }
  used_.clear();
  job_round_.reset();
}

}  // namespace cacheon::remote

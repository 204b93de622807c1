// The remote worker protocol, version 1 (README.md "Protocol"): JSON bodies, and the evaluation's
// streamed answer as NDJSON records. Pure: conversions, validation and framing, no sockets.
//
// Everything read here may be hostile (a worker or a man in the middle on the validator's side, a
// request on the worker's side): every field is type- and range-checked, every string bounded.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "store/arena_store.h"
#include "validator/executor.h"

namespace cacheon::remote {

inline constexpr int kProtocolVersion = 1;
inline constexpr std::string_view kHealthPath = "/v1/health";
inline constexpr std::string_view kEvaluatePath = "/v1/evaluate";
inline constexpr std::string_view kFinishJobPath = "/v1/finish-job";

// Bounds (the worker's and the validator's side).
inline constexpr size_t kMaxRequestBody = 1 << 20;           // an evaluate request
inline constexpr size_t kMaxLogBytes = 4 << 20;              // server log sent back (its tail)
inline constexpr size_t kMaxProgressLine = 2000;             // one progress message
inline constexpr size_t kMaxParticipants = 64;

// The arena-side reason codes of a RemoteExecutor failure (blame "arena", decided = false).
namespace reason {
inline constexpr std::string_view kWorkerUnreachable = "worker_unreachable";
inline constexpr std::string_view kWorkerTlsFailed = "worker_tls_failed";
inline constexpr std::string_view kWorkerAuthFailed = "worker_auth_failed";
inline constexpr std::string_view kWorkerProtocolError = "worker_protocol_error";
inline constexpr std::string_view kWorkerBusy = "worker_busy";
inline constexpr std::string_view kWorkerLost = "worker_lost";          // died / went silent
inline constexpr std::string_view kWorkerDeadline = "worker_deadline";  // the worker gave up
}  // namespace reason

nlohmann::json to_json(const store::Participant& p);
Result<store::Participant> participant_from_json(const nlohmann::json& j);
nlohmann::json to_json(const validator::EvalJob& job);
Result<validator::EvalJob> job_from_json(const nlohmann::json& j);
nlohmann::json to_json(const store::EvalResult& r);
Result<store::EvalResult> result_from_json(const nlohmann::json& j);

struct EvaluateRequest {
  validator::EvalJob job;
  store::Participant participant;
  int attempt = 1;
};
std::string evaluate_body(const EvaluateRequest& r);
// Error code "bad_request" with the offending field named.
Result<EvaluateRequest> parse_evaluate_body(std::string_view body);

// One record of the evaluation stream, as the validator reads it.
struct StreamRecord {
  enum class Type { progress, launched, heartbeat, result, proof, unknown } type = Type::unknown;
  std::string message;  // progress
  std::string proof;    // proof (hex)
  nlohmann::json body;  // result: the whole parsed record
};
// Error code "bad_record". A record of an unknown type parses (forward compatibility).
Result<StreamRecord> parse_record(std::string_view line);

// The worker's records (each one line, no newline).
std::string progress_record(std::string_view message);
std::string launched_record();
std::string heartbeat_record();
// `report`: null when the evaluation wrote none; `log`: the server log (its last kMaxLogBytes).
std::string result_record(const store::EvalResult& r, const nlohmann::json& report,
                          const std::optional<std::string>& log);
std::string proof_record(std::string_view proof_hex);

// What a validated result record carries.
struct ResultPayload {
  store::EvalResult result;
  nlohmann::json report;           // null if none
  std::optional<std::string> log;  // nullopt if none
};
// Error code "bad_record".
Result<ResultPayload> parse_result_payload(const nlohmann::json& record);

// The last `max` bytes of a file, with a marker line when cut; nullopt if it cannot be read.
std::optional<std::string> read_tail(const std::string& path, size_t max = kMaxLogBytes);

// Splits a byte stream into lines, bounded: a line longer than max_line, or more than max_total
// bytes in all, is an error (code "record_too_large" / "response_too_large").
class LineSplitter {
 public:
  LineSplitter(size_t max_line, size_t max_total) : max_line_(max_line), max_total_(max_total) {}
  // Calls on_line for each complete line ('\n' removed, a trailing '\r' too); stops at the
  // first error or when on_line returns an error.
  Status feed(std::string_view data, const std::function<Status(std::string_view)>& on_line);
  // Bytes of an unfinished last line (the stream must end on a newline).
  size_t pending() const { return buf_.size(); }

 private:
  size_t max_line_, max_total_, total_ = 0;
  std::string buf_;
};

// A JSON error body {"error":{"code","message"}}, and its reader (bounded message).
std::string error_body(std::string_view code, std::string_view message);
Error error_from_body(std::string_view body, std::string_view fallback_code);

}  // namespace cacheon::remote

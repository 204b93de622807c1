// Latency and throughput metrics: pure functions of RequestRecords (harness/record.h).
//
// Definitions (times in milliseconds, doubles; rates per second):
// - ttft_ms                 first_token_ns - sent_ns (first event carrying a token, or content
//                           when no logprobs were asked)
// - ttft_from_scheduled_ms  first_token_ns - scheduled_ns (includes the harness's lateness)
// - first_byte_ms           first_byte_ns - sent_ns
// - e2e_ms                  done_ns - sent_ns;  e2e_from_scheduled_ms: done_ns - scheduled_ns
// - dispatch_lateness_ms    sent_ns - scheduled_ns (harness overhead)
// - tokens                  number of TokenRecords (logprobs.content[] entries). When the request
//                           carried no token records, tokens = usage.completion_tokens (0 if
//                           absent) and tokens_from_usage = true: per-token times are unknown.
// - decode_ms               last token arrival - first token arrival. Without token records the
//                           last content event's arrival stands in for the last token and
//                           first_token_ns for the first (an approximation, flagged by
//                           tokens_from_usage).
// - tpot_ms                 decode_ms / (tokens - 1), tokens >= 2
// - output_tps              tokens / (e2e_ms / 1000): what a user sees per request
// - decode_tps              (tokens - 1) / (decode_ms / 1000), tokens >= 2, decode_ms > 0
// - itl_ms (per token)      gaps between consecutive token arrivals; tokens delivered in the same
//                           SSE event have gap 0 and the zeros are kept. Empty without records.
// - chunk_gap_ms            gaps between consecutive content-carrying event arrivals.
// - parse_delay_ms          per event parsed_ns - arrival_ns (harness overhead).
// A value that cannot be computed (a missing timestamp, too few tokens) is std::nullopt and
// JSON null; nothing here yields NaN or inf.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "harness/record.h"
#include "harness/stats.h"

namespace cacheon::harness {

struct RequestMetrics {
  int prompt_index = -1;
  bool warmup = false;
  bool ok = false;
  std::string error_code;

  std::optional<double> ttft_ms;
  std::optional<double> ttft_from_scheduled_ms;
  std::optional<double> first_byte_ms;
  std::optional<double> e2e_ms;
  std::optional<double> e2e_from_scheduled_ms;
  std::optional<double> dispatch_lateness_ms;

  int64_t tokens = 0;
  bool tokens_from_usage = false;  // no token records: count from usage, token times unknown
  std::optional<double> decode_ms;
  std::optional<double> tpot_ms;
  std::optional<double> output_tps;
  std::optional<double> decode_tps;

  std::vector<double> itl_ms;        // per token, size tokens-1 when token times are known
  std::vector<double> chunk_gap_ms;  // per content event, size events-1
  std::vector<double> parse_delay_ms;
};

RequestMetrics request_metrics(const RequestRecord& r);

// Tokens the request produced: token records, else usage.completion_tokens, else 0.
int64_t token_count(const RequestRecord& r);

// Sent -> arrival of the k-th token (1-based) in ms. nullopt when k is out of range, the
// request has no token records (usage-only counts carry no per-token times) or a time is missing.
std::optional<double> time_to_kth_token_ms(const RequestRecord& r, int64_t k);

// (to_ns - from_ns) in ms; nullopt when either is -1 ("did not happen").
std::optional<double> interval_ms(int64_t from_ns, int64_t to_ns);

struct RunMetricsOptions {
  bool include_warmup = false;         // warm-up requests are normally left out
  double steady_trim_fraction = 0.10;  // see SteadyState; clamped to [0, 0.49]
};

// Summaries over a set of completed requests.
struct LatencySummaries {
  int64_t requests = 0;  // completed requests in the set
  Summary ttft_ms;
  Summary ttft_from_scheduled_ms;
  Summary first_byte_ms;
  Summary itl_ms;        // all per-token gaps of all requests, pooled
  Summary chunk_gap_ms;  // all per-event gaps, pooled
  Summary tpot_ms;       // one value per request
  Summary e2e_ms;
  Summary output_tps;  // per request tokens / e2e
  Summary decode_tps;  // per request
  int64_t output_tokens = 0;
  // Span from the earliest sent_ns to the latest done_ns of the set (0 when unknown).
  double wall_ms = 0;
  double output_tokens_per_s = 0;  // output_tokens / wall; 0 when wall is 0
  double requests_per_s = 0;       // requests / wall; 0 when wall is 0
};

// Steady state: with run span [T0, T1] (earliest sent, latest done over the selection) and
// f = steady_trim_fraction, the window is [T0 + f*(T1-T0), T1 - f*(T1-T0)]; a completed request
// belongs to it when it was sent at or after the window start and finished at or before its
// end. Ramp-up and drain are left out; with few sequential requests the window may be empty.
struct SteadyState {
  double trim_fraction = 0.10;
  double window_start_ms = 0;  // relative to T0
  double window_end_ms = 0;
  LatencySummaries summaries;
};

struct HarnessOverhead {
  Summary dispatch_lateness_ms;        // sent - scheduled, per request
  Summary parse_delay_ms;              // parsed - arrival, per event
  std::optional<double> client_cpu_s;  // filled by the runner (process_cpu_ns); not computed here
};

struct RunMetrics {
  int64_t selected = 0;   // requests considered (warm-ups dropped unless included)
  int64_t completed = 0;  // error_code empty
  int64_t failed = 0;
  std::map<std::string, int64_t> failed_by_code;
  bool any_tokens_from_usage = false;
  LatencySummaries all;  // over the completed requests
  SteadyState steady;
  HarnessOverhead overhead;
};

LatencySummaries summarize_requests(std::span<const RequestRecord> completed);
RunMetrics run_metrics(std::span<const RequestRecord> records, const RunMetricsOptions& opt = {});

nlohmann::json to_json(const RequestMetrics& m);
nlohmann::json to_json(const LatencySummaries& s);
nlohmann::json to_json(const RunMetrics& m);

}  // namespace cacheon::harness

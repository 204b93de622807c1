// The load runner: sends chat-completion requests to one server under a workload and records,
// per request, the scheduled, sent, first-byte, first-token and every token's arrival time.
//
// One event loop on the calling thread drives every stream (no thread per request), so 1024
// concurrent streams cost one core. Bytes are timestamped when the socket read completes, before
// the SSE and JSON parsing (core/http_client.h); parse completion is recorded too, so the report
// can show the harness's own delay.
//
// Not in scope: choosing prompts (harness/prompts.h), judging (metrics, gates, scoring).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/http_client.h"
#include "core/sse.h"
#include "core/status.h"
#include "harness/record.h"
#include "openai/chat_request.h"

namespace cacheon::harness {

// How requests are issued.
//   sequential       one at a time, in prompt order (V1 scoring)
//   concurrency:N    N in flight; each slot takes the next prompt when its request ends
//   rate:R[:SEED]    Poisson arrivals at R requests/s from a schedule precomputed from SEED,
//                    issued against absolute times (late dispatch is visible, never absorbed)
struct Workload {
  enum class Kind { sequential, concurrency, rate };
  Kind kind = Kind::sequential;
  int concurrency = 1;
  double rate_per_s = 0;
  uint64_t seed = 0;
  int max_in_flight = 4096;  // rate workloads: bound on open streams

  static Result<Workload> parse(std::string_view spec);
  std::string str() const;
};

struct RequestSpec {
  int prompt_index = -1;
  bool warmup = false;
  std::vector<openai::ChatMessage> messages;
  int max_tokens = 512;
};

struct RunOptions {
  std::string model = "Qwen2.5-72B-Instruct";
  bool logprobs = true;
  int top_logprobs = 5;
  double temperature = 0;
  std::optional<int64_t> seed;
  bool include_usage = true;
  bool ignore_eos = false;
  HttpTimeouts timeouts;
  HttpLimits limits{64 * 1024, 64 * 1024 * 1024};
  SseOptions sse;
  // A stream that sends this many tokens past max_tokens is cut off (never-ending streams).
  int overrun_tokens = 64;
  // Spin on the event loop instead of sleeping in epoll: waking a blocked thread costs tens of
  // microseconds, so busy-polling sharpens timestamps at low concurrency at the cost of one
  // busy core for the whole run (see BENCHMARKS.md).
  bool busy_poll = false;
  // Called on the runner's thread after each request ends.
  std::function<void(const RequestRecord&, int done, int total)> on_request_done;
};

struct RunResult {
  std::string server;
  std::string workload;
  int64_t start_ns = -1;  // first warm-up or measured request scheduled
  int64_t measured_start_ns = -1;  // first measured (non-warm-up) request scheduled
  int64_t end_ns = -1;
  int64_t client_cpu_ns = 0;  // process CPU time spent during the run (whole process)
  std::vector<RequestRecord> requests;  // in the order of `specs`
};

// Warm-up specs run first, one at a time; the rest run under `workload`. Never throws; every
// failure lands in its RequestRecord as an error code.
RunResult run_workload(const Url& server, const std::vector<RequestSpec>& specs,
                       const Workload& workload, const RunOptions& options);

// The precomputed Poisson schedule: offsets in ns from the start, deterministic for a seed.
std::vector<int64_t> poisson_schedule(double rate_per_s, size_t count, uint64_t seed);

}  // namespace cacheon::harness

// What the load runner records for each request: raw timestamps and the stream as received.
// Everything downstream (metrics, gates, scoring, reports) is a pure function of these records.
// Times are monotonic nanoseconds (core/clock.h); -1 means "did not happen".
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cacheon::harness {

struct TopLogprob {
  std::string token;
  double logprob = 0;
};

// One generated token, as counted from `logprobs.content[]` (never by re-tokenizing text).
struct TokenRecord {
  std::string token;                  // the `token` string as reported
  std::optional<std::string> bytes;   // raw bytes from `bytes` (decoded), when reported
  double logprob = 0;
  std::vector<TopLogprob> top;        // `top_logprobs`, in the server's order
  int64_t arrival_ns = -1;            // socket arrival of the SSE event that carried it
  int32_t chunk_index = -1;           // index into RequestRecord::chunks
};

// One SSE data event that carried content or tokens.
struct ChunkRecord {
  int64_t arrival_ns = -1;  // socket read completion of the event's last byte
  int64_t parsed_ns = -1;   // when the harness finished parsing it (overhead)
  int32_t tokens = 0;       // logprobs.content[] entries in this event
  int32_t content_bytes = 0;
};

struct RequestRecord {
  int prompt_index = -1;   // index into the prompt set
  bool warmup = false;     // warm-up requests are recorded but never scored
  int64_t scheduled_ns = -1;
  int64_t sent_ns = -1;
  int64_t first_byte_ns = -1;
  int64_t first_token_ns = -1;  // first event with a token (or content when no logprobs)
  int64_t done_ns = -1;
  int http_status = 0;
  std::string response_id;  // the `id` of the first chunk (for matching logs and server truth)

  std::vector<TokenRecord> tokens;
  std::vector<ChunkRecord> chunks;
  std::string content;        // concatenated content deltas
  std::string finish_reason;  // "" when none was sent
  std::optional<int64_t> usage_prompt_tokens;
  std::optional<int64_t> usage_completion_tokens;

  // Stream structure, for the structural gate.
  bool saw_role = false;
  bool saw_done = false;               // `data: [DONE]` arrived
  int events_after_done = 0;           // data events after [DONE]
  int tokens_after_finish = 0;         // tokens in events after the finish_reason event
  int content_events_without_logprobs = 0;  // content deltas with no logprobs.content (when asked)
  int max_tokens_requested = 0;

  // Empty when the request completed; else a reason code (see harness/verdict.h) and a message.
  std::string error_code;
  std::string error_message;

  bool ok() const { return error_code.empty(); }
};

}  // namespace cacheon::harness

// Bounded HTTP exchanges with the server under test, recorded for the checks to judge.
// Every exchange has timeouts on connect, first byte, each read and the whole request, and a
// bound on the bytes kept: the server is hostile until proven boring.
//
// Not in scope: judging what came back (conformance/analysis.h does, as pure functions).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/http_client.h"
#include "core/sse.h"
#include "core/status.h"

namespace cacheon::conformance {

struct ProbeLimits {
  HttpTimeouts timeouts{std::chrono::milliseconds(5'000), std::chrono::milliseconds(60'000),
                        std::chrono::milliseconds(30'000), std::chrono::milliseconds(120'000)};
  size_t max_body_bytes = 8u << 20;  // non-stream bodies
  SseOptions sse{1u << 20, 4u << 20};
};

// A whole (non-stream) exchange. `transport` is the client's status (connect_failed,
// timeout_*, disconnected, body_too_large, ...); the rest is what arrived before it ended.
struct Reply {
  Status transport;
  int status = 0;
  std::string content_type;
  std::string body;
};

Reply http_get(const Url& server, std::string_view path, const ProbeLimits& limits);
Reply http_post_json(const Url& server, std::string_view path, std::string body,
                     const ProbeLimits& limits);

// A streaming exchange, parsed into SSE events as the bytes arrive.
struct StreamCapture {
  Status transport;         // the HTTP client's status; "aborted" when we cut it short
  int status = 0;
  std::string content_type;
  std::string error_body;   // the body of a non-200 answer (first 64 KiB)
  std::vector<SseEvent> events;
  Status sse;               // SSE framing error: sse_line_too_long, sse_event_too_large,
                            // sse_truncated (the body ended inside an event)
  bool overrun = false;     // cut after more than max_events events
};

StreamCapture http_post_stream(const Url& server, std::string_view path, std::string body,
                               size_t max_events, const ProbeLimits& limits);

// The same capture from bytes already received (unit tests feed canned streams through the
// checks' real path).
StreamCapture capture_from_bytes(int status, std::string content_type, std::string_view body,
                                 Status transport = {}, const SseOptions& sse = {});

}  // namespace cacheon::conformance

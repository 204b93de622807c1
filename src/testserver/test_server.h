// The calibrated SSE source: an OpenAI-compatible server that streams scripted tokens with exact
// timing and scripted misbehaviour. A measuring instrument and a red-team fixture for the harness,
// not a stand-in for an LLM (see testserver/script.h for tokens, logprobs, tokenizer and faults).
//
// Timing. t0 = the moment the handler receives the fully read request. Headers and the role event
// go out at t0; the content event j (k = tokens_per_chunk tokens each) is written at the absolute
// deadline t0 + ttft + j*k*itl on a steady_timer (expires_at; never accumulated relative sleeps),
// so lateness never compounds. Non-stream answers go out at t0 + ttft + (n-1)*itl. The event-loop
// threads get 1 ns timer slack. A timer wake-up is typically 40-90 us late on a VM (the platform,
// not the loop); with Script::spin the timer fires kSpinNs early and the thread busy-waits to the
// deadline (writes land ~2 us after it), but only while active streams <= threads, so 1024
// streams never burn a core.
//
// Non-stream requests honour http-500, usage-lie, wrong-top1, logprob-count (one entry missing),
// malformed-json (body cut in half), invalid-utf8, disconnect and stall; the other faults are
// stream-only.
//
// Truth. For calibration every request records its t0 and, per token-bearing event, the deadline,
// the mono_ns() taken right before the bytes are handed to the connection (the write is issued
// inline on the connection's strand), and the time the write completed. Same clock as the
// harness (CLOCK_MONOTONIC), so harness arrival times can be compared with server-side truth.
//
// Endpoints: GET /health (200 once ready; 503 before startup_delay_ms or with never-healthy),
// GET /v1/models, POST /tokenize (toy tokenizer), POST /v1/chat/completions (stream and not).
// Errors are OpenAI error objects: 400 invalid request / context too long, 404 unknown model or
// path, 405 wrong method, 500 (fault http-500), 503 not ready.
//
// Not in scope: sampling parameters (temperature, top_p, stop, seed are accepted and ignored),
// n > 1, tools, TLS.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/http_server.h"
#include "core/status.h"
#include "testserver/script.h"

namespace cacheon::testserver {

// Server-side truth of one chat request. Times are mono_ns(); -1 = did not happen (yet).
struct StreamTruth {
  std::string id;                 // the completion id sent in every chunk
  bool stream = false;
  int64_t request_read_ns = -1;   // t0
  int64_t headers_write_ns = -1;  // response head handed over (stream; slow-headers: last byte)
  // Per token (index = position in the stream): write time of the event that carried it.
  std::vector<int64_t> token_write_ns;
  // Per token-bearing event: its schedule; mono_ns() right before the bytes are handed to the
  // connection (write_ns, the truth the harness is compared with); right after that call returned
  // (handed_ns: core's server sends inline on the strand, so the bytes were in the peer's socket
  // buffer by then; on a VM the loopback send alone takes 20-30 us); and the write completion
  // callback (written_ns, later still: it runs after this event's handler finished).
  std::vector<int64_t> event_deadline_ns;
  std::vector<int64_t> event_write_ns;
  std::vector<int64_t> event_handed_ns;
  std::vector<int64_t> event_written_ns;
  std::vector<int32_t> event_tokens;  // tokens carried by each event
  int64_t end_ns = -1;            // the response ended (finished, closed, or given up)
};

class TestServer {
 public:
  using Truth = StreamTruth;

  TestServer(Script script, HttpServerOptions options);
  ~TestServer();  // stops
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // Validates the script ("bad_script"), then binds and starts ("bind_failed"). Once only.
  Status start();
  // Stops the loops and closes every connection, stalled ones included. Idempotent.
  void stop();
  uint16_t port() const;
  const Script& script() const;

  // Thread-safe copies, in request arrival order; in-flight requests included.
  std::vector<Truth> truths() const;
  void clear_truths();

  // Requests to /v1/chat/completions after startup, any status.
  uint64_t chat_requests() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cacheon::testserver

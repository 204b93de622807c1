// Turns one streaming response into a RequestRecord: SSE events -> chunks -> tokens with their
// socket arrival times, plus the stream-structure facts the structural gate checks. The runner
// feeds it; the parse-throughput benchmark feeds it the same way, so it times this exact code.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/sse.h"
#include "core/status.h"
#include "harness/record.h"
#include "harness/runner.h"
#include "openai/chat_chunk.h"

namespace cacheon::harness {

class StreamRecorder {
 public:
  StreamRecorder(RequestRecord& rec, const RunOptions& opt, openai::ChunkParser& parser)
      : rec_(rec), opt_(opt), parser_(parser), sse_(opt.sse) {}

  void on_headers(int status);
  // Returns false to stop reading (the record then holds the reason).
  bool on_body(std::string_view data, int64_t arrival_ns);
  void on_done(const Status& transport, int64_t end_ns);

 private:
  void set_error(std::string code, std::string message);
  void on_event(SseEvent&& ev);

  RequestRecord& rec_;
  const RunOptions& opt_;
  openai::ChunkParser& parser_;
  SseReader sse_;
  std::optional<std::string> error_body_;
  bool finished_ = false;
};

}  // namespace cacheon::harness

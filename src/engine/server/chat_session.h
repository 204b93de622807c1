// One chat completion's response: turns the scheduler's events into SSE chunks (stream) or one
// chat.completion body (non-stream). Engine events are posted onto the connection's strand, so
// everything else here runs there and needs no lock.
//
// Text: token ids -> IncrementalDecoder (never half a UTF-8 character) -> StopStringFilter
// (server-side `stop`; a match cancels the sequence and finishes with "stop"). Each token's
// logprobs entry goes out with the event that carries its token, even when its text is still
// held back, so the client counts tokens as they are generated.
//
// Backpressure: at most one write in flight; events that arrive meanwhile are coalesced into the
// next write. A failed write means the client left: the sequence is cancelled.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/http_server.h"
#include "engine/scheduler/scheduler.h"
#include "engine/server/server_impl.h"

namespace cacheon::engine {

struct ChatPlan {
  std::string id;
  int64_t created = 0;
  bool stream = false;
  bool logprobs = false;
  bool include_usage = false;
  int64_t prompt_tokens = 0;
  int64_t min_tokens = 0;  // stop strings are looked for from this many tokens on (vLLM)
  std::vector<std::string> stop;
};

class ChatSession {
 public:
  static std::shared_ptr<ChatSession> create(EngineServer::Impl& server,
                                             std::shared_ptr<ResponseStream> res, ChatPlan plan);
  virtual ~ChatSession() = default;
  // Any thread (the engine's): queues the event onto the connection's strand.
  virtual void post(const GenerationEvent& ev) = 0;
  // On the strand, right after a successful submit: starts the response.
  virtual void begin(uint64_t request_id) = 0;
};

}  // namespace cacheon::engine

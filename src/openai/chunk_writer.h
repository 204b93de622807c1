// Server-side serialization of chat-completion responses: the SSE stream chunks
// (chat.completion.chunk) and the non-stream chat.completion body. Shared by the calibrated test
// source and the engine, so it is a hot path: manual appends into a caller-owned, reused
// std::string, no DOM, no allocation when the buffer has capacity.
//
// Every string goes through append_json_string: quotes, backslash and control characters are
// escaped, and invalid UTF-8 is replaced by U+FFFD, so the normal path never emits invalid JSON or
// invalid UTF-8 (the raw bytes of a token still travel exactly in its `bytes` array).
// Non-finite logprobs cannot be JSON: -inf and NaN are written as -9999.0 (vLLM's convention),
// +inf as 0.
//
// Not in scope: parsing (openai/chat_chunk.h), request types, error objects, n > 1 choices,
// tool calls.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cacheon::openai {

// One alternative in `top_logprobs`. `bytes` are the token's raw bytes (any bytes); its `token`
// string is their UTF-8-sanitized form.
struct TopTokenOut {
  std::string_view bytes;
  double logprob = 0;
};

// One generated token: its `logprobs.content[]` entry.
struct TokenOut {
  std::string_view bytes;
  double logprob = 0;
  std::span<const TopTokenOut> top;  // written in this order; empty -> "top_logprobs":[]
};

struct UsageOut {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// Appends `s` as a JSON string literal (with the quotes).
void append_json_string(std::string& out, std::string_view s);
// Appends a JSON number for a logprob (shortest round-trip form; non-finite mapped, see above).
void append_json_logprob(std::string& out, double v);
// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);

// One stream's chunks. The envelope (id, object, created, model) is fixed per stream and
// pre-serialized once. Every append_* writes one complete SSE event ("data: {...}\n\n") at the
// end of `out`, so callers may batch several events into one write.
class ChunkWriter {
 public:
  ChunkWriter(std::string_view id, std::string_view model, int64_t created);

  // {"delta":{"role":"assistant","content":""}}
  void append_role(std::string& out, std::string_view role = "assistant") const;
  // A content delta. `text` is the delta text (sanitized); `tokens` becomes logprobs.content[]
  // when `with_logprobs`, else "logprobs":null. A non-empty `finish_reason` fuses the finish
  // into this event.
  void append_content(std::string& out, std::string_view text, std::span<const TokenOut> tokens,
                      bool with_logprobs, std::string_view finish_reason = {}) const;
  // {"delta":{},"finish_reason":"stop"}
  void append_finish(std::string& out, std::string_view finish_reason) const;
  // {"choices":[],"usage":{...}} (stream_options.include_usage)
  void append_usage(std::string& out, UsageOut usage) const;
  // data: [DONE]
  static void append_done(std::string& out);

  // The bare JSON object of an event (no SSE framing), for callers that frame themselves.
  void append_content_json(std::string& out, std::string_view text,
                           std::span<const TokenOut> tokens, bool with_logprobs,
                           std::string_view finish_reason = {}) const;

  const std::string& id() const { return id_; }

 private:
  std::string id_;
  std::string prefix_;  // {"id":..,"object":"chat.completion.chunk","created":..,"model":..,
};

// The non-stream body: {"object":"chat.completion", one choice with message, logprobs (or null),
// finish_reason, and usage}. Appended to `out` as bare JSON.
void append_chat_completion(std::string& out, std::string_view id, std::string_view model,
                            int64_t created, std::string_view content,
                            std::span<const TokenOut> tokens, bool with_logprobs,
                            std::string_view finish_reason, UsageOut usage);

}  // namespace cacheon::openai

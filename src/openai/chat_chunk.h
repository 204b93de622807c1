// Client-side parsing of chat-completion responses: the streamed chat.completion.chunk payloads
// (the harness's hot path) and the non-stream chat.completion body. Backed by simdjson; the parser
// and its padded input buffer are reused across calls, so a chunk costs no allocation beyond the
// strings and vectors it returns.
//
// Error codes: "stream_malformed_json" (not JSON, not an object, a field of the wrong type,
// `choices` not an array, a number out of range), "stream_invalid_utf8" (the payload's bytes are
// not UTF-8), "stream_error_object" (the payload is an error object; its message is in the Error
// message). Any input is safe: nothing here asserts on peer data.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "openai/error.h"  // ApiErrorBody, parse_error_body

namespace cacheon::openai {

struct TopLogprobEntry {
  std::string token;
  double logprob = 0;
};

struct TokenLogprob {
  std::string token;
  double logprob = 0;
  std::optional<std::string> bytes;  // raw bytes decoded from the int array; nullopt if null/absent
  std::vector<TopLogprobEntry> top_logprobs;
};

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0, total_tokens = 0;
};

struct ChatChunk {
  std::string id;
  std::string model;
  bool has_choice = false;  // choices[0] present
  std::optional<std::string> role;
  std::string content;
  bool has_content = false;   // a content string was present (possibly "")
  bool has_logprobs = false;  // choices[0].logprobs.content present (may be empty)
  std::vector<TokenLogprob> logprobs;
  std::optional<std::string> finish_reason;  // null -> nullopt
  std::optional<Usage> usage;
};

// Not thread-safe: one parser per connection/thread. A moved-from parser must not be used.
class ChunkParser {
 public:
  ChunkParser();
  ~ChunkParser();
  ChunkParser(ChunkParser&&) noexcept;
  ChunkParser& operator=(ChunkParser&&) noexcept;

  // One SSE data payload of a chat.completion.chunk (choices[0].delta). Only choices[0] is read
  // (the contract serves n = 1); later choices are still validated as JSON, not as choices.
  Result<ChatChunk> parse(std::string_view payload);

  // A non-stream chat.completion body (choices[0].message), returned in the same shape.
  Result<ChatChunk> parse_completion(std::string_view body);

 private:
  struct Impl;  // holds simdjson's parser; keeps simdjson.h out of this header
  std::unique_ptr<Impl> impl_;
};

}  // namespace cacheon::openai

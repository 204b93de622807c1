// The chat-completions request: built by the harness (to_json) and parsed strictly by servers
// (parse_chat_request). Fields follow OpenAI; top_k, ignore_eos, min_tokens, add_generation_prompt
// and prompt_logprobs are vLLM extensions.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cacheon::openai {

struct ChatMessage {
  std::string role;  // "system", "developer", "user" or "assistant"
  std::string content;
};

struct ChatRequest {
  std::string model;  // "" when the client sent none (servers pick their default)
  std::vector<ChatMessage> messages;
  bool stream = false;
  std::optional<int64_t> max_tokens;  // max_tokens or max_completion_tokens
  double temperature = 1.0;           // 0 = greedy
  std::optional<double> top_p;        // (0, 1]
  std::optional<int64_t> top_k;       // -1 or 0 = disabled
  std::optional<int64_t> seed;
  std::vector<std::string> stop;      // up to kMaxStop non-empty strings
  bool logprobs = false;
  std::optional<int> top_logprobs;    // 0..20; requires logprobs
  bool include_usage = false;         // stream_options.include_usage
  bool ignore_eos = false;
  int64_t min_tokens = 0;
  int n = 1;                          // only 1 is supported
  bool add_generation_prompt = true;
  std::optional<int> prompt_logprobs;  // 0..20

  static constexpr size_t kMaxStop = 16;
  static constexpr int kMaxTopLogprobs = 20;
  static constexpr int64_t kMaxTokensLimit = (int64_t(1) << 31) - 1;
};

// Client side. Emits only what the request sets: optional fields when present, extensions
// (top_k, ignore_eos, min_tokens, add_generation_prompt=false, prompt_logprobs) when not default,
// stream_options only when include_usage. Never throws (invalid UTF-8 becomes U+FFFD).
std::string to_json(const ChatRequest& req);

// Server side, strict. On failure the Error's code is "invalid_request" and its message names the
// parameter; when `param` is non-null it receives the offending parameter's path (for example
// "top_logprobs", "messages[2].role", "stream_options.include_usage"; "" when the body itself is
// not a JSON object), ready for the OpenAI error object's `param` field. JSON null counts as
// absent for every optional field. Unknown fields are ignored.
Result<ChatRequest> parse_chat_request(std::string_view body, std::string* param = nullptr);

}  // namespace cacheon::openai

// Control-plane calls to a server under test: readiness, served models, token counts.
// Every call is bounded; every answer is validated (the server is hostile until proven boring).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/http_client.h"
#include "core/status.h"
#include "openai/chat_request.h"

namespace cacheon::harness {

// Polls GET /health until it answers 200 or `limit` passes. Errors: "startup_timeout" (it
// answered, but never 200) or "unreachable" (no HTTP answer at all); the message says what was
// seen last.
Status wait_healthy(const Url& server, std::chrono::milliseconds limit,
                    std::chrono::milliseconds poll = std::chrono::milliseconds(200));

// GET /v1/models: the served model ids. Errors: "contract_models" with the reason.
Result<std::vector<std::string>> served_models(const Url& server);

// POST /tokenize (vLLM-compatible) with chat messages: the prompt's token count, and the
// server's max_model_len when it reports one (0 otherwise). Errors: "tokenize_failed".
struct TokenCount {
  int64_t count = 0;
  int64_t max_model_len = 0;
};
Result<TokenCount> count_tokens(const Url& server, const std::string& model,
                                const std::vector<openai::ChatMessage>& messages);

}  // namespace cacheon::harness

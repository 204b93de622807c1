// Qwen2.5-Instruct's chat template (ChatML), rendered without a Jinja engine. It reproduces the
// template's no-tools branch exactly:
//   - a first message with role "system" becomes the system turn; otherwise the default system
//     prompt "You are Qwen, created by Alibaba Cloud. You are a helpful assistant." is used;
//   - every "user" message, every later "system" message and every "assistant" message becomes
//     "<|im_start|>{role}\n{content}<|im_end|>\n";
//   - consecutive "tool" messages are grouped into one user turn of
//     "\n<tool_response>\n{content}\n</tool_response>" blocks;
//   - any other role (e.g. "developer") renders nothing, as in the template (vLLM passes roles
//     through unchanged, so Qwen2.5 behind vLLM ignores developer messages too);
//   - add_generation_prompt appends "<|im_start|>assistant\n".
// Not reproduced: the `tools` branch (function signatures in the system turn) and assistant
// `tool_calls`; the request type carries neither.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/tokenizer/tokenizer.h"
#include "openai/chat_request.h"

namespace cacheon::engine {

inline constexpr std::string_view kQwenDefaultSystemPrompt =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

// Error "invalid_request" for an empty message list (the template itself fails on it).
Result<std::string> render_chat(std::span<const openai::ChatMessage> messages,
                                bool add_generation_prompt);

// render_chat, then encode with special tokens parsed (what vLLM does with the rendered prompt:
// special-token text inside message contents is parsed as those tokens too).
Result<std::vector<int32_t>> encode_chat(const Tokenizer& tokenizer,
                                         std::span<const openai::ChatMessage> messages,
                                         bool add_generation_prompt);

}  // namespace cacheon::engine

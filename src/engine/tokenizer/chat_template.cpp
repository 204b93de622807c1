#include "engine/tokenizer/chat_template.h"

namespace cacheon::engine {

Result<std::string> render_chat(std::span<const openai::ChatMessage> messages,
                                bool add_generation_prompt) {
  if (messages.empty()) return Error{"invalid_request", "messages must not be empty"};
  std::string out = "<|im_start|>system\n";
  out += messages[0].role == "system" ? std::string_view(messages[0].content)
                                      : kQwenDefaultSystemPrompt;
  out += "<|im_end|>\n";
  for (size_t i = 0; i < messages.size(); ++i) {
    const openai::ChatMessage& m = messages[i];
    if (m.role == "user" || (m.role == "system" && i > 0) || m.role == "assistant") {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    } else if (m.role == "tool") {
      if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + m.content + "\n</tool_response>";
      if (i + 1 == messages.size() || messages[i + 1].role != "tool") out += "<|im_end|>\n";
    }
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

Result<std::vector<int32_t>> encode_chat(const Tokenizer& tokenizer,
                                         std::span<const openai::ChatMessage> messages,
                                         bool add_generation_prompt) {
  auto text = render_chat(messages, add_generation_prompt);
  if (!text) return text.error();
  return tokenizer.encode(*text, /*parse_special=*/true);
}

}  // namespace cacheon::engine

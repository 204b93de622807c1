// vLLM-compatible POST /tokenize and POST /detokenize. The harness trims prompts with /tokenize,
// so its messages form must count exactly what a chat completion would prefill.
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/server/server_impl.h"
#include "engine/tokenizer/chat_template.h"
#include "openai/chat_request.h"

namespace cacheon::engine {
namespace {

using nlohmann::json;

constexpr size_t kMaxDetokenizeIds = size_t(1) << 22;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

void EngineServer::Impl::tokenize(const HttpRequest& req, ResponseStream& res) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    return send_error(res, 400, "request body is not a JSON object");
  if (auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return send_error(res, 400, "'model' must be a string", "model");
    if (!check_model(it->get_ref<const std::string&>(), res)) return;
  }
  std::vector<int32_t> ids;
  if (auto it = body.find("prompt"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return send_error(res, 400, "'prompt' must be a string", "prompt");
    // Qwen adds no BOS; special-token text in the prompt is parsed (HF's default).
    ids = tokenizer->encode(it->get_ref<const std::string&>(), /*parse_special=*/true);
  } else {
    // The messages form shares the chat request's strict parser (unknown fields ignored).
    std::string param;
    auto r = openai::parse_chat_request(req.body, &param);
    if (!r) return send_error(res, 400, r.error().message, param);
    if (r->messages.size() > opt.max_messages)
      return send_error(res, 400, fmt::format("at most {} messages are accepted", opt.max_messages),
                        "messages");
    auto enc = encode_chat(*tokenizer, r->messages, r->add_generation_prompt);
    if (!enc) return send_error(res, 400, enc.error().message, "messages");
    ids = std::move(*enc);
  }
  send_json_text(res, dump({{"count", ids.size()},
                            {"max_model_len", max_model_len},
                            {"tokens", ids},
                            {"token_strs", nullptr}}));
}

void EngineServer::Impl::detokenize(const HttpRequest& req, ResponseStream& res) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    return send_error(res, 400, "request body is not a JSON object");
  if (auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return send_error(res, 400, "'model' must be a string", "model");
    if (!check_model(it->get_ref<const std::string&>(), res)) return;
  }
  auto it = body.find("tokens");
  if (it == body.end() || !it->is_array())
    return send_error(res, 400, "'tokens' must be an array of token ids", "tokens");
  if (it->size() > kMaxDetokenizeIds)
    return send_error(res, 400, fmt::format("at most {} tokens", kMaxDetokenizeIds), "tokens");
  std::vector<int32_t> ids;
  ids.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const json& v = (*it)[i];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
        v.get<int64_t>() >= int64_t(tokenizer->vocab_size()))
      return send_error(
          res, 400,
          fmt::format("tokens[{}] is not a token id (0..{})", i, tokenizer->vocab_size() - 1),
          fmt::format("tokens[{}]", i));
    ids.push_back(int32_t(v.get<int64_t>()));
  }
  // Raw bytes; the JSON writer replaces ill-formed UTF-8 with U+FFFD (what vLLM returns).
  send_json_text(res, dump({{"prompt", tokenizer->decode(ids)}}));
}

}  // namespace cacheon::engine

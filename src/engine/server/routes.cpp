// Dispatch by method and path, readiness and draining, /health, /v1/models, error helpers.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "engine/server/server_impl.h"
#include "openai/error.h"

namespace cacheon::engine {

using nlohmann::json;

void send_error(ResponseStream& res, int status, std::string_view message, std::string_view param,
                std::string_view code) {
  res.send(status, "application/json",
           openai::error_json(openai::error_type_for_status(status), message, param, code));
}

void send_json_text(ResponseStream& res, std::string body) {
  res.send(200, "application/json", std::move(body));
}

void send_submit_error(ResponseStream& res, const Error& e) {
  if (e.code == "queue_full") return send_error(res, 429, e.message, {}, "queue_full");
  if (e.code == "prompt_too_long")
    return send_error(res, 400, e.message, "messages", "context_length_exceeded");
  if (e.code == "engine_stopped") return send_error(res, 503, e.message, {}, "engine_stopped");
  if (e.code == "invalid_request") return send_error(res, 400, e.message, {}, "invalid_request");
  send_error(res, 500, e.message, {}, e.code);
}

void send_context_error(ResponseStream& res, int64_t max_model_len, int64_t prompt_tokens,
                        int64_t completion_tokens, std::string_view param) {
  send_error(res, 400,
             fmt::format("This model's maximum context length is {} tokens. However, you "
                         "requested {} tokens ({} in the messages, {} in the completion). "
                         "Please reduce the length of the messages or completion.",
                         max_model_len, prompt_tokens + completion_tokens, prompt_tokens,
                         completion_tokens),
             param, "context_length_exceeded");
}

bool EngineServer::Impl::check_model(std::string_view model, ResponseStream& res) {
  if (model.empty() || model == model_name) return true;
  send_error(res, 404, fmt::format("The model `{}` does not exist.", model), "model",
             "model_not_found");
  return false;
}

void EngineServer::Impl::models(ResponseStream& res) {
  json m = {{"id", model_name},      {"object", "model"},     {"created", wall_ms() / 1000},
            {"owned_by", "cacheon"}, {"root", opt.model_dir}, {"max_model_len", max_model_len}};
  send_json_text(res, json{{"object", "list"}, {"data", json::array({m})}}.dump(
                          -1, ' ', false, json::error_handler_t::replace));
}

void EngineServer::Impl::handle(HttpRequest req, std::shared_ptr<ResponseStream> res) {
  const std::string_view target = req.target;
  const std::string_view path = target.substr(0, target.find('?'));
  const bool is_ready = ready.load(std::memory_order_acquire);

  if (path == "/health") {
    if (req.method != "GET") return send_error(*res, 405, "use GET /health");
    if (draining.load()) return send_error(*res, 503, "server is shutting down");
    if (is_ready) return res->send(200, "application/json", "{}");
    std::lock_guard lk(load_mu);
    if (load == Load::failed)
      return send_error(*res, 503, "model failed to load: " + load_err.message, {}, load_err.code);
    return send_error(*res, 503, "model is loading");
  }
  struct Route {
    std::string_view path, method;
  };
  static constexpr Route kRoutes[] = {{"/v1/models", "GET"},
                                      {"/v1/chat/completions", "POST"},
                                      {"/tokenize", "POST"},
                                      {"/detokenize", "POST"},
                                      {"/cacheon/v1/text_logprobs", "POST"}};
  const Route* route = nullptr;
  for (const Route& r : kRoutes)
    if (r.path == path) route = &r;
  if (!route) return send_error(*res, 404, fmt::format("no route for {} {}", req.method, path));
  if (req.method != route->method)
    return send_error(*res, 405, fmt::format("use {} {}", route->method, route->path));
  if (draining.load()) return send_error(*res, 503, "server is shutting down");
  if (!is_ready) return send_error(*res, 503, "model is loading");

  if (path == "/v1/models") return models(*res);
  if (path == "/v1/chat/completions") return chat(req, res);
  if (path == "/tokenize") return tokenize(req, *res);
  if (path == "/detokenize") return detokenize(req, *res);
  text_logprobs(req, res);
}

}  // namespace cacheon::engine

// Routing and request validation for the calibrated source; the timed response is session.cpp.
#include "testserver/test_server.h"

#include <sys/prctl.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "openai/chat_request.h"
#include "openai/error.h"
#include "testserver/session.h"

namespace cacheon::testserver {
namespace {

using nlohmann::json;

void send_error(ResponseStream& res, int status, std::string_view message,
                std::string_view param = {}, std::string_view code = {}) {
  res.send(status, "application/json",
           openai::error_json(openai::error_type_for_status(status), message, param, code));
}

void send_json(ResponseStream& res, const json& body) {
  res.send(200, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Output length and finish reason for a request (see the header of test_server.h / SPEC §1).
struct Length {
  int64_t n = 0;
  std::string finish;
};
Length output_length(const Script& s, const openai::ChatRequest& r, int64_t prompt_tokens) {
  const int64_t room = s.max_model_len - prompt_tokens;
  Length l;
  if (r.max_tokens && (r.ignore_eos || *r.max_tokens <= s.tokens)) {
    l = {*r.max_tokens, "length"};
  } else if (r.ignore_eos) {
    l = {room, "length"};  // no max_tokens and no EOS: run to the context limit, like vLLM
  } else {
    l = {s.tokens, "stop"};
  }
  if (l.n > room) l = {room, "length"};
  return l;
}

}  // namespace

struct TestServer::Impl {
  std::shared_ptr<ServerState> st = std::make_shared<ServerState>();
  HttpServerOptions options;
  std::unique_ptr<HttpServer> http;
  uint16_t port = 0;
  bool started = false;

  void handle(HttpRequest req, std::shared_ptr<ResponseStream> res);
  void chat(const HttpRequest& req, const std::shared_ptr<ResponseStream>& res, int64_t t0);
  void tokenize(const HttpRequest& req, ResponseStream& res);
  void models(ResponseStream& res);
};

void TestServer::Impl::handle(HttpRequest req, std::shared_ptr<ResponseStream> res) {
  const int64_t t0 = mono_ns();  // first: the request is fully read now
  const std::string_view target = req.target;
  const std::string_view path = target.substr(0, target.find('?'));
  const bool started_up = t0 >= st->ready_at_ns;

  if (path == "/health") {
    if (req.method != "GET") return send_error(*res, 405, "use GET /health");
    if (started_up && st->fault != Fault::kNeverHealthy) {
      return res->send(200, "application/json", "{}");
    }
    return send_error(*res, 503, "server is starting");
  }
  const bool known = path == "/v1/models" || path == "/tokenize" || path == "/v1/chat/completions";
  if (!known) return send_error(*res, 404, fmt::format("no route for {} {}", req.method, path));
  if (!started_up) return send_error(*res, 503, "server is starting");
  if (path == "/v1/models") {
    if (req.method != "GET") return send_error(*res, 405, "use GET /v1/models");
    return models(*res);
  }
  if (req.method != "POST") return send_error(*res, 405, fmt::format("use POST {}", path));
  if (path == "/tokenize") return tokenize(req, *res);
  chat(req, res, t0);
}

void TestServer::Impl::models(ResponseStream& res) {
  const Script& s = st->script;
  json m = {{"id", s.model},          {"object", "model"},
            {"created", wall_ms() / 1000}, {"owned_by", "cacheon-testserver"},
            {"root", s.model},        {"max_model_len", s.max_model_len}};
  send_json(res, {{"object", "list"}, {"data", json::array({m})}});
}

void TestServer::Impl::tokenize(const HttpRequest& req, ResponseStream& res) {
  const Script& s = st->script;
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return send_error(res, 400, "request body is not a JSON object");
  }
  if (auto it = body.find("model"); it != body.end() && it->is_string() && *it != s.model) {
    const std::string name = it->get<std::string>();
    return send_error(res, 404, fmt::format("The model `{}` does not exist.", name), "model",
                      "model_not_found");
  }
  std::vector<int32_t> ids;
  if (auto it = body.find("prompt"); it != body.end()) {
    if (!it->is_string()) return send_error(res, 400, "'prompt' must be a string", "prompt");
    ids = toy_tokenize_prompt(it->get_ref<const std::string&>());
  } else {
    // The messages form shares the chat request's strict parser (unknown fields ignored).
    std::string param;
    auto r = openai::parse_chat_request(req.body, &param);
    if (!r) return send_error(res, 400, r.error().message, param);
    ids = toy_tokenize_messages(r->messages, r->add_generation_prompt);
  }
  send_json(res, {{"count", ids.size()}, {"max_model_len", s.max_model_len}, {"tokens", ids}});
}

void TestServer::Impl::chat(const HttpRequest& req, const std::shared_ptr<ResponseStream>& res,
                            int64_t t0) {
  ++st->chat_requests;
  const Script& s = st->script;
  std::string param;
  auto r = openai::parse_chat_request(req.body, &param);
  if (!r) return send_error(*res, 400, r.error().message, param);
  if (!r->model.empty() && r->model != s.model) {
    return send_error(*res, 404, fmt::format("The model `{}` does not exist.", r->model), "model",
                      "model_not_found");
  }
  Plan p;
  p.prompt_tokens = toy_count_messages(r->messages, r->add_generation_prompt);
  const int64_t needed = p.prompt_tokens + r->max_tokens.value_or(1);
  if (needed > s.max_model_len) {
    return send_error(*res, 400,
                      fmt::format("This model's maximum context length is {} tokens. However, "
                                  "you requested {} tokens ({} in the messages, {} in the "
                                  "completion).",
                                  s.max_model_len, needed, p.prompt_tokens,
                                  r->max_tokens.value_or(1)),
                      r->max_tokens ? "max_tokens" : "messages", "context_length_exceeded");
  }
  if (st->fault == Fault::kHttp500) {
    return send_error(*res, 500, "scripted internal error (fault http-500)", {}, "internal_error");
  }
  const Length len = output_length(s, *r, p.prompt_tokens);
  p.prompt_hash = prompt_hash(r->messages);
  const uint64_t seq = st->seq.fetch_add(1);
  // Deterministic ids: two fresh instances with one seed give byte-identical envelopes too,
  // except `created`.
  p.id = fmt::format("chatcmpl-{:016x}{:06x}", p.prompt_hash ^ (s.seed * 0x9E3779B97F4A7C15ull),
                     seq & 0xFFFFFF);
  p.created = wall_ms() / 1000;
  p.n_tokens = len.n;
  p.finish_reason = len.finish;
  p.stream = r->stream;
  p.logprobs = r->logprobs;
  p.top_n = r->logprobs ? r->top_logprobs.value_or(0) : 0;
  p.include_usage = r->include_usage;
  p.t0 = t0;
  run_completion(st, res, std::move(p));
}

TestServer::TestServer(Script script, HttpServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->st->script = std::move(script);
  impl_->options = std::move(options);
}

TestServer::~TestServer() { stop(); }

Status TestServer::start() {
  auto& im = *impl_;
  if (im.started) return Error{"already_started", "TestServer::start called twice"};
  if (Status v = validate(im.st->script); !v) return v;
  im.st->fault = *parse_fault(im.st->script.fault);
  im.st->threads = std::max(1, im.options.threads);
  im.st->ready_at_ns = mono_ns() + int64_t(im.st->script.startup_delay_ms) * 1'000'000;
  im.http = std::make_unique<HttpServer>(im.options, [&im](HttpRequest req,
                                                           std::shared_ptr<ResponseStream> res) {
    im.handle(std::move(req), std::move(res));
  });
  // Threads inherit the creator's timer slack: 1 ns instead of the default 50 us for any wait
  // with a timeout (asio's timerfd has no slack, its epoll fallback does). Restored for the
  // calling thread afterwards.
  const int old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
  Status s = im.http->start();
  if (old_slack > 0) prctl(PR_SET_TIMERSLACK, old_slack, 0, 0, 0);
  if (!s) return s;
  im.port = im.http->port();
  im.started = true;
  return {};
}

void TestServer::stop() {
  if (!impl_->http) return;
  impl_->http->stop();
  impl_->http.reset();  // destroys the loop: pending sessions (stalls too) and their sockets
}

uint16_t TestServer::port() const { return impl_->port; }
const Script& TestServer::script() const { return impl_->st->script; }

std::vector<TestServer::Truth> TestServer::truths() const {
  std::vector<std::shared_ptr<TruthSlot>> slots;
  {
    std::lock_guard lock(impl_->st->mu);
    slots = impl_->st->truths;
  }
  std::vector<Truth> out;
  out.reserve(slots.size());
  for (const auto& slot : slots) {
    std::lock_guard lock(slot->mu);
    out.push_back(slot->truth);
  }
  return out;
}

void TestServer::clear_truths() {
  std::lock_guard lock(impl_->st->mu);
  impl_->st->truths.clear();
}

uint64_t TestServer::chat_requests() const { return impl_->st->chat_requests.load(); }

}  // namespace cacheon::testserver

#include "harness/server_probe.h"

#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace cacheon::harness {
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {
HttpTimeouts control_timeouts() {
  HttpTimeouts t;
  t.connect = 2s;
  t.first_byte = 10s;
  t.read_idle = 10s;
  t.total = 30s;
  return t;
}
HttpLimits control_limits() { return HttpLimits{64 * 1024, 16 * 1024 * 1024}; }
}  // namespace

Status wait_healthy(const Url& server, std::chrono::milliseconds limit,
                    std::chrono::milliseconds poll) {
  int64_t deadline = mono_ns() + limit.count() * 1'000'000;
  std::string last = "no answer";
  bool answered = false;
  while (true) {
    HttpClientRequest req;
    req.target = server.join("/health");
    HttpTimeouts t = control_timeouts();
    t.total = std::min<std::chrono::milliseconds>(t.total, std::max(limit, 1000ms));
    auto r = http_fetch(server, req, t, control_limits());
    if (r.ok() && r->status == 200) return {};
    answered = answered || r.ok();
    last = r.ok() ? fmt::format("last /health status {}", r->status) : r.error().message;
    if (mono_ns() >= deadline) break;
    std::this_thread::sleep_for(poll);
  }
  return Error{answered ? "startup_timeout" : "unreachable", fmt::format("{} did not become healthy within {} s ({})",
                                              server.str(), limit.count() / 1000.0, last)};
}

Result<std::vector<std::string>> served_models(const Url& server) {
  HttpClientRequest req;
  req.target = server.join("/v1/models");
  auto r = http_fetch(server, req, control_timeouts(), control_limits());
  if (!r.ok()) return Error{"contract_models", "GET /v1/models failed: " + r.error().message};
  if (r->status != 200)
    return Error{"contract_models", fmt::format("GET /v1/models answered {}", r->status)};
  json j = json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
    return Error{"contract_models", "GET /v1/models is not an OpenAI model list"};
  std::vector<std::string> ids;
  for (const auto& m : j["data"]) {
    if (m.is_object() && m.contains("id") && m["id"].is_string())
      ids.push_back(m["id"].get<std::string>());
    if (ids.size() > 1000) break;
  }
  return ids;
}

Result<TokenCount> count_tokens(const Url& server, const std::string& model,
                                const std::vector<openai::ChatMessage>& messages) {
  json body = {{"model", model}, {"add_generation_prompt", true}};
  body["messages"] = json::array();
  for (const auto& m : messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  HttpClientRequest req;
  req.method = "POST";
  req.target = server.join("/tokenize");
  req.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  auto r = http_fetch(server, req, control_timeouts(), control_limits());
  if (!r.ok()) return Error{"tokenize_failed", "POST /tokenize failed: " + r.error().message};
  if (r->status != 200)
    return Error{"tokenize_failed", fmt::format("POST /tokenize answered {}", r->status)};
  json j = json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("count") || !j["count"].is_number_integer())
    return Error{"tokenize_failed", "POST /tokenize answer has no integer 'count'"};
  TokenCount tc;
  tc.count = j["count"].get<int64_t>();
  if (tc.count < 0 || tc.count > (int64_t(1) << 40))
    return Error{"tokenize_failed", "POST /tokenize 'count' is out of range"};
  if (j.contains("max_model_len") && j["max_model_len"].is_number_integer())
    tc.max_model_len = std::max<int64_t>(0, j["max_model_len"].get<int64_t>());
  return tc;
}

}  // namespace cacheon::harness

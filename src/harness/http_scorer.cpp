#include "harness/http_scorer.h"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace cacheon::harness {
using json = nlohmann::json;

Result<std::vector<double>> HttpTrustedScorer::token_logprobs(
    const std::vector<GateMessage>& prompt_messages, std::string_view assistant_text) {
  json body = {{"model", model_}, {"text", std::string(assistant_text)}};
  body["messages"] = json::array();
  for (const auto& m : prompt_messages)
    body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  HttpClientRequest req;
  req.method = "POST";
  req.target = base_.join("/cacheon/v1/text_logprobs");
  req.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  HttpTimeouts t;
  t.first_byte = std::chrono::seconds(300);
  t.total = std::chrono::seconds(600);
  auto r = http_fetch(base_, req, t, HttpLimits{64 * 1024, 64 * 1024 * 1024});
  if (!r.ok()) return Error{"scorer_unavailable", "trusted scorer: " + r.error().message};
  if (r->status != 200)
    return Error{"scorer_unavailable", fmt::format("trusted scorer answered HTTP {}", r->status)};
  json j = json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("token_logprobs") || !j["token_logprobs"].is_array())
    return Error{"scorer_unavailable", "trusted scorer answer has no token_logprobs array"};
  std::vector<double> out;
  out.reserve(j["token_logprobs"].size());
  for (const auto& v : j["token_logprobs"]) {
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      return Error{"scorer_unavailable", "trusted scorer returned a non-numeric logprob"};
    out.push_back(v.get<double>());
  }
  return out;
}

}  // namespace cacheon::harness

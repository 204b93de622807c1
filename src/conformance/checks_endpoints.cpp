// /health, /v1/models and /tokenize.
#include <algorithm>

#include <fmt/format.h>

#include "conformance/checks.h"
#include "harness/server_probe.h"

namespace cacheon::conformance {

using nlohmann::json;

CheckResult check_health(Context& c) {
  Status st = harness::wait_healthy(c.opt.server, c.opt.startup_timeout);
  if (st.ok()) return CheckResult::pass("health");
  const bool unreachable = st.error().code == "unreachable";
  return CheckResult::fail(
      "health", unreachable ? "health_unreachable" : "health_status",
      fmt::format("GET /health answers 200 within {} s", c.opt.startup_timeout.count() / 1000),
      st.error().message,
      unreachable ? "listen on the URL given (port 8000 in the arena) and serve GET /health"
                  : "answer GET /health with 200 once the model is loaded and requests can be "
                    "served");
}

CheckResult check_models(Context& c) {
  const std::string want = c.opt.model;
  Reply r = http_get(c.opt.server, "/v1/models", c.opt.limits);
  const std::string expected =
      fmt::format("HTTP 200 {{\"object\":\"list\",\"data\":[{{\"id\":\"{}\",...}}]}}", want);
  if (!r.transport.ok() || r.status != 200)
    return CheckResult::fail(
        "models", "models_status", expected,
        r.transport.ok() ? fmt::format("HTTP {}: {}", r.status, printable(r.body, 120))
                         : describe(r.transport),
        "serve GET /v1/models");
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("data") || !j["data"].is_array())
    return CheckResult::fail("models", "models_malformed", expected, printable(r.body, 120),
                             "answer GET /v1/models with {\"object\":\"list\",\"data\":[{\"id\":"
                             "NAME,\"object\":\"model\"}]}");
  std::vector<std::string> ids;
  for (const json& m : j["data"])
    if (m.is_object() && m.contains("id") && m["id"].is_string())
      ids.push_back(m["id"].get<std::string>());
  if (std::find(ids.begin(), ids.end(), want) == ids.end()) {
    std::string seen;
    for (const auto& id : ids) seen += (seen.empty() ? "" : ", ") + printable(id, 60);
    return CheckResult::fail("models", "models_missing_name", expected,
                             "served: " + (seen.empty() ? std::string("(none)") : seen),
                             fmt::format("serve the model under the arena's name '{}' (vLLM: "
                                         "--served-model-name {})",
                                         want, want));
  }
  return CheckResult::pass("models");
}

CheckResult check_tokenize(Context& c, const Generation& stream) {
  const char* id = "tokenize";
  json body = {{"model", c.opt.model}, {"messages", c.messages()}};
  Reply r = http_post_json(c.opt.server, "/tokenize", body.dump(), c.opt.limits);
  const std::string expected =
      "POST /tokenize {model, messages} answers HTTP 200 {\"count\": N, \"tokens\": [...], "
      "\"max_model_len\": M} (vLLM-compatible)";
  if (!r.transport.ok() || r.status != 200)
    return CheckResult::fail(
        id, "tokenize_status", expected,
        r.transport.ok() ? fmt::format("HTTP {}: {}", r.status, printable(r.body, 120))
                         : describe(r.transport),
        "serve POST /tokenize like vLLM: the chat template applied to messages, then counted");
  json j = json::parse(r.body, nullptr, false);
  auto malformed = [&](std::string why) {
    return CheckResult::fail(id, "tokenize_malformed", expected, std::move(why),
                             "answer {\"count\": N, \"tokens\": [ids], \"max_model_len\": M}");
  };
  if (j.is_discarded() || !j.is_object()) return malformed(printable(r.body, 120));
  if (!j.contains("count") || !j["count"].is_number_integer() || j["count"].get<int64_t>() < 1)
    return malformed("'count' is missing or not a positive integer");
  const int64_t count = j["count"].get<int64_t>();
  if (j.contains("tokens") && !j["tokens"].is_null() &&
      (!j["tokens"].is_array() || int64_t(j["tokens"].size()) != count))
    return malformed("'tokens' is not an array of 'count' ids");
  if (j.contains("max_model_len") && !j["max_model_len"].is_null() &&
      (!j["max_model_len"].is_number_integer() || j["max_model_len"].get<int64_t>() < 1))
    return malformed("'max_model_len' is not a positive integer");
  // What the validator itself calls to trim prompts must read it too.
  const openai::ChatMessage msg{"user", c.messages()[0]["content"].get<std::string>()};
  if (auto h = harness::count_tokens(c.opt.server, c.opt.model, {msg}); !h.ok())
    return malformed("the harness cannot read it: " + h.error().message);
  if (stream.usage && stream.usage->prompt_tokens != count)
    return CheckResult::fail(
        id, "tokenize_count_mismatch",
        "/tokenize counts the same tokens a chat completion prefills (usage.prompt_tokens)",
        fmt::format("/tokenize count {}, usage.prompt_tokens {}", count,
                    stream.usage->prompt_tokens),
        "apply the same chat template (with the generation prompt) in /tokenize as in "
        "/v1/chat/completions");
  return CheckResult::pass(id, fmt::format("{} tokens", count));
}

}  // namespace cacheon::conformance

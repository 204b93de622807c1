// The non-stream answer: a chat.completion body, then the checks shared with the stream.
#include <fmt/format.h>

#include "conformance/analysis.h"
#include "conformance/generation_checks.h"
#include "openai/chunk_writer.h"

namespace cacheon::conformance {

using nlohmann::json;

namespace {

constexpr const char* kSchemaFix =
    "answer stream: false with HTTP 200 and a chat.completion body: {id, object: "
    "\"chat.completion\", created, model, choices: [{index: 0, message: {role: \"assistant\", "
    "content}, logprobs, finish_reason}], usage}";

std::optional<std::string> body_problem(const json& j) {
  if (!j.contains("id") || !j["id"].is_string()) return "'id' is missing";
  if (j.value("object", json()) != "chat.completion") return "'object' is not \"chat.completion\"";
  if (!j.contains("created") || !j["created"].is_number_integer()) return "'created' is missing";
  if (!j.contains("model") || !j["model"].is_string()) return "'model' is missing";
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty())
    return "'choices' is not a non-empty array";
  const json& c = j["choices"][0];
  if (!c.is_object() || c.value("index", json()) != 0) return "choices[0].index is not 0";
  if (!c.contains("message") || !c["message"].is_object()) return "choices[0].message is missing";
  if (c["message"].value("role", json()) != "assistant")
    return "choices[0].message.role is not \"assistant\"";
  if (!c["message"].contains("content") || !c["message"]["content"].is_string())
    return "choices[0].message.content is not a string";
  if (!c.contains("finish_reason") || !c["finish_reason"].is_string())
    return "choices[0].finish_reason is not a string";
  const std::string fr = c["finish_reason"].get<std::string>();
  if (fr != "stop" && fr != "length")
    return "finish_reason is \"" + fr + "\", not \"stop\" or \"length\"";
  if (j.contains("usage") && !j["usage"].is_null())
    for (const char* k : {"prompt_tokens", "completion_tokens", "total_tokens"})
      if (!j["usage"].is_object() || !j["usage"].contains(k) || !j["usage"][k].is_number_integer())
        return fmt::format("usage.{} is missing or not an integer", k);
  return std::nullopt;
}

}  // namespace

Analysis analyze_completion(const Reply& r, const Expect& x) {
  Analysis a;
  const char* rest[] = {"nonstream.logprobs", "nonstream.greedy", "nonstream.max_tokens",
                        "nonstream.usage", "nonstream.text"};
  auto fail_response = [&](std::string code, std::string seen) {
    a.results.push_back(CheckResult::fail("nonstream.response", std::move(code),
                                          "HTTP 200, application/json, a chat.completion body",
                                          std::move(seen), kSchemaFix));
    for (const char* id : rest)
      a.results.push_back(CheckResult::skip(id, "no usable answer (nonstream.response)"));
    return a;
  };
  if (!r.transport.ok()) return fail_response("nonstream_transport", describe(r.transport));
  if (r.status != 200)
    return fail_response("nonstream_status",
                         fmt::format("HTTP {}: {}", r.status, printable(r.body, 120)));
  if (!openai::is_valid_utf8(r.body))
    return fail_response("nonstream_invalid_utf8", "the body is not UTF-8");
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail_response("nonstream_not_json",
                         "not a JSON object; body ends '" +
                             printable(std::string_view(r.body).substr(
                                 r.body.size() > 60 ? r.body.size() - 60 : 0)) +
                             "'");
  if (auto p = body_problem(j)) return fail_response("nonstream_fields", *p);
  if (r.content_type.find("application/json") == std::string::npos)
    return fail_response("nonstream_content_type", "Content-Type: " + printable(r.content_type));
  a.results.push_back(CheckResult::pass("nonstream.response"));

  const json& c = j["choices"][0];
  Generation& g = a.generation;
  g.text = c["message"]["content"].get<std::string>();
  g.finish_reason = c["finish_reason"].get<std::string>();
  if (j.contains("usage") && j["usage"].is_object())
    g.usage = UsageSeen{j["usage"]["prompt_tokens"].get<int64_t>(),
                        j["usage"]["completion_tokens"].get<int64_t>(),
                        j["usage"]["total_tokens"].get<int64_t>()};
  const json lp = c.value("logprobs", json());
  std::optional<std::string> problem;
  if (!lp.is_object() || !lp.contains("content"))
    problem = "choices[0].logprobs.content is missing";
  else
    problem = parse_logprob_entries(lp["content"], x.top_logprobs, g.tokens);
  if (problem) {
    a.results.push_back(CheckResult::fail(
        "nonstream.logprobs", "logprobs_shape",
        fmt::format("choices[0].logprobs.content[]: one entry per token with top_logprobs of {} "
                    "entries",
                    x.top_logprobs),
        *problem,
        "follow the OpenAI logprobs schema: {token, logprob, bytes:[ints], "
        "top_logprobs:[{token, logprob, bytes}] sorted by logprob}"));
    for (size_t i = 1; i < std::size(rest); ++i)
      a.results.push_back(CheckResult::skip(rest[i], "tokens cannot be counted "
                                                     "(nonstream.logprobs)"));
    return a;
  }
  a.results.push_back(CheckResult::pass("nonstream.logprobs",
                                        fmt::format("{} tokens", g.tokens.size())));
  for (auto& res : generation_checks("nonstream", g, x, /*usage_required=*/true))
    a.results.push_back(std::move(res));
  g.complete = true;
  return a;
}

}  // namespace cacheon::conformance

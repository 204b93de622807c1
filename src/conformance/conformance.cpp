// The order of the checks and what each depends on.
#include "conformance/conformance.h"

#include "conformance/checks.h"

namespace cacheon::conformance {

using nlohmann::json;

namespace {

constexpr const char* kPrompt =
    "Write a short story about a lighthouse keeper who finds a message in a bottle.";

const std::vector<CheckInfo> kCatalog = {
    {"health", "GET /health answers 200 once ready"},
    {"models", "GET /v1/models lists the arena's model name"},
    {"stream.http", "stream: true answers HTTP 200 with Content-Type text/event-stream"},
    {"stream.transport", "the stream ends (no stall, no disconnect, no endless stream) and is "
                         "well-formed SSE"},
    {"stream.chunks", "every data: payload is a chat.completion.chunk JSON object (UTF-8, no "
                      "error events)"},
    {"stream.role", "the first chunk carries role \"assistant\""},
    {"stream.finish_reason", "exactly one finish_reason (stop or length), no content after it"},
    {"stream.done", "data: [DONE] ends the stream, nothing after it"},
    {"stream.logprobs", "logprobs.content[]: one entry per token (token, logprob, bytes, "
                        "top_logprobs of the requested size, sorted)"},
    {"stream.greedy", "at temperature 0 every token is its own top-1"},
    {"stream.max_tokens", "ignore_eos + max_tokens N gives exactly N tokens, finish_reason "
                          "length"},
    {"stream.usage", "stream_options.include_usage: a usage chunk whose completion_tokens equals "
                     "the tokens streamed"},
    {"stream.text", "the content equals the concatenated bytes of the reported tokens"},
    {"tokenize", "POST /tokenize counts what a chat completion prefills (usage.prompt_tokens)"},
    {"nonstream.response", "stream: false answers a chat.completion body"},
    {"nonstream.logprobs", "the same logprobs shape in choices[0].logprobs"},
    {"nonstream.greedy", "at temperature 0 every token is its own top-1"},
    {"nonstream.max_tokens", "exactly N tokens with ignore_eos, finish_reason length"},
    {"nonstream.usage", "usage.completion_tokens equals the tokens returned"},
    {"nonstream.text", "the content equals the concatenated bytes of the reported tokens"},
    {"stream.matches_nonstream", "the same greedy request gives the same tokens in both modes"},
    {"greedy.deterministic", "the same greedy request gives the same tokens twice"},
    {"max_completion_tokens", "max_completion_tokens is honoured like max_tokens"},
    {"top_logprobs.max", "top_logprobs: 20 is accepted and gives 20 alternatives"},
    {"seed.deterministic", "temperature 1 with the same seed gives the same tokens twice"},
    {"stop", "a stop string ends the content right before it, finish_reason stop"},
    {"error.malformed_json", "a body that is not JSON: HTTP 400 + error object"},
    {"error.unknown_model", "an unknown model: HTTP 404 + error object"},
    {"error.missing_messages", "no messages: HTTP 400 + error object"},
    {"error.top_logprobs_range", "top_logprobs 21: HTTP 400 + error object"},
    {"error.context_length", "max_tokens beyond the context: HTTP 400 + error object"},
};

}  // namespace

const std::vector<CheckInfo>& check_catalog() { return kCatalog; }

void Context::add(CheckResult r) {
  report.results.push_back(std::move(r));
  if (opt.on_result) opt.on_result(report.results.back());
}

json Context::messages() const {
  return json::array({{{"role", "user"}, {"content", kPrompt}}});
}

json Context::chat_body(int max_tokens, bool stream) const {
  json b = {{"model", opt.model},  {"messages", messages()}, {"max_tokens", max_tokens},
            {"temperature", 0},    {"seed", 0},              {"ignore_eos", true},
            {"logprobs", true},    {"top_logprobs", 5},      {"stream", stream}};
  if (stream) b["stream_options"] = {{"include_usage", true}};
  return b;
}

Expect Context::expect(int max_tokens) const {
  Expect x;
  x.max_tokens = max_tokens;
  return x;
}

ConformanceReport run_conformance(const ConformanceOptions& opt) {
  ConformanceReport report;
  report.server = opt.server.str();
  report.model = opt.model;
  Context c{opt, report};

  CheckResult health = check_health(c);
  const bool healthy = health.passed();
  c.add(std::move(health));
  if (!healthy) {
    // The arena never goes past a server that does not turn healthy.
    for (size_t i = 1; i < kCatalog.size(); ++i)
      c.add(CheckResult::skip(std::string(kCatalog[i].id), "the server is not healthy"));
    return report;
  }
  c.add(check_models(c));

  Analysis stream = analyze_stream(
      http_post_stream(opt.server, "/v1/chat/completions", c.chat_body(opt.max_tokens, true).dump(),
                       size_t(opt.max_tokens) + 16, opt.limits),
      c.expect(opt.max_tokens));
  for (auto& r : stream.results) c.add(std::move(r));
  c.add(check_tokenize(c, stream.generation));

  Analysis nonstream = analyze_completion(
      http_post_json(opt.server, "/v1/chat/completions",
                     c.chat_body(opt.max_tokens, false).dump(), opt.limits),
      c.expect(opt.max_tokens));
  for (auto& r : nonstream.results) c.add(std::move(r));

  run_sampling_checks(c, stream.generation, nonstream.generation);
  run_error_checks(c);
  return report;
}

}  // namespace cacheon::conformance

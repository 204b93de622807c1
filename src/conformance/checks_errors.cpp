// Bad input must get an HTTP error status and an OpenAI error object, never a 200 or a hang.
#include <fmt/format.h>

#include "conformance/checks.h"
#include "openai/error.h"

namespace cacheon::conformance {

using nlohmann::json;

namespace {

struct ErrorCase {
  const char* id;
  const char* code;       // when the status is wrong
  std::vector<int> want;  // acceptable statuses (the first is the one to use)
  const char* what;       // the bad input, for people
  const char* fix;
};

const ErrorCase kCases[] = {
    {"error.malformed_json", "error_malformed_json", {400}, "a body that is not JSON",
     "return HTTP 400 with {\"error\":{\"message\":...,\"type\":\"invalid_request_error\"}} for "
     "a body that is not valid JSON"},
    {"error.unknown_model", "error_unknown_model", {404}, "model: a name that is not served",
     "return HTTP 404 with {\"error\":{...,\"code\":\"model_not_found\"}} when `model` is not "
     "the served name"},
    {"error.missing_messages", "error_missing_messages", {400, 422}, "no `messages`",
     "return HTTP 400 with an error object when `messages` is missing"},
    {"error.top_logprobs_range", "error_top_logprobs_range", {400, 422},
     "top_logprobs: 21 (the contract allows 0..20)",
     "return HTTP 400 with an error object for top_logprobs outside 0..20"},
    {"error.context_length", "error_context_length", {400},
     "max_tokens far beyond the context window",
     "return HTTP 400 with an error object (code context_length_exceeded) when prompt + "
     "max_tokens exceeds max_model_len"},
};

std::string body_for(const Context& c, std::string_view id) {
  if (id == "error.malformed_json") return "{\"model\": \"" + c.opt.model + "\", \"messages\": [";
  json b = c.chat_body(2, false);
  if (id == "error.unknown_model") b["model"] = "cacheon-no-such-model";
  if (id == "error.missing_messages") b.erase("messages");
  if (id == "error.top_logprobs_range") b["top_logprobs"] = 21;
  if (id == "error.context_length") b["max_tokens"] = int64_t(1) << 30;
  return b.dump();
}

CheckResult run_case(Context& c, const ErrorCase& e) {
  Reply r = http_post_json(c.opt.server, "/v1/chat/completions", body_for(c, e.id), c.opt.limits);
  const std::string expected = fmt::format(
      "{}: HTTP {} with an OpenAI error object {{\"error\":{{\"message\",\"type\",\"param\","
      "\"code\"}}}}",
      e.what, e.want.front());
  if (!r.transport.ok())
    return CheckResult::fail(e.id, e.code, expected, describe(r.transport), e.fix);
  if (std::find(e.want.begin(), e.want.end(), r.status) == e.want.end())
    return CheckResult::fail(e.id, e.code, expected,
                             fmt::format("HTTP {}: {}", r.status, printable(r.body, 100)), e.fix);
  // vLLM's flat {"object":"error","message":...} is accepted too: it is what the pinned
  // baseline sends, and the harness reads both.
  auto err = openai::parse_error_body(r.body);
  if (!err || err->message.empty())
    return CheckResult::fail(e.id, "error_object_missing", expected,
                             fmt::format("HTTP {}: {}", r.status, printable(r.body, 100)),
                             "send {\"error\":{\"message\":...,\"type\":...,\"param\":...,"
                             "\"code\":...}} with every error status");
  return CheckResult::pass(e.id, fmt::format("HTTP {}", r.status));
}

}  // namespace

void run_error_checks(Context& c) {
  for (const auto& e : kCases) c.add(run_case(c, e));
}

}  // namespace cacheon::conformance

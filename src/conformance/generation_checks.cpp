// Checks shared by the stream and the non-stream answer: logprob entry shape, greedy top-1,
// max_tokens/finish_reason, usage and text-vs-token consistency.
#include <cmath>

#include <fmt/format.h>

#include "conformance/analysis.h"
#include "conformance/generation_checks.h"
#include "openai/chunk_writer.h"

namespace cacheon::conformance {

using nlohmann::json;

namespace {

// Logprobs may be a hair above 0 from float rounding; anything more is not a log-probability.
constexpr double kLogprobSlack = 1e-3;
constexpr double kTop1Tolerance = 1e-3;

std::optional<std::string> bytes_of(const json& entry, std::string& out) {
  auto it = entry.find("bytes");
  if (it == entry.end() || it->is_null()) return "'bytes' is missing or null";
  if (!it->is_array()) return "'bytes' is not an array of integers";
  out.clear();
  for (const json& b : *it) {
    if (!b.is_number_integer() || b.get<int64_t>() < 0 || b.get<int64_t>() > 255)
      return "'bytes' has an element that is not an integer 0..255";
    out.push_back(static_cast<char>(b.get<int64_t>()));
  }
  return std::nullopt;
}

std::optional<std::string> logprob_of(const json& entry, double& out) {
  auto it = entry.find("logprob");
  if (it == entry.end() || !it->is_number()) return "'logprob' is missing or not a number";
  out = it->get<double>();
  if (!std::isfinite(out) || out > kLogprobSlack)
    return fmt::format("'logprob' {} is not a log-probability (finite, <= 0)", out);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_logprob_entries(const json& content, int top_logprobs,
                                                 std::vector<Token>& out) {
  if (!content.is_array()) return "logprobs.content is not an array";
  for (const json& e : content) {
    const size_t i = out.size();
    auto where = [&](const std::string& what) { return fmt::format("entry {}: {}", i, what); };
    if (!e.is_object()) return where("not an object");
    Token t;
    auto tok = e.find("token");
    if (tok == e.end() || !tok->is_string()) return where("'token' is missing or not a string");
    t.token = tok->get<std::string>();
    if (auto err = logprob_of(e, t.logprob)) return where(*err);
    if (auto err = bytes_of(e, t.bytes)) return where(*err);
    auto top = e.find("top_logprobs");
    if (top == e.end() || !top->is_array())
      return where("'top_logprobs' is missing or not an array");
    if (int(top->size()) != top_logprobs)
      return where(fmt::format("top_logprobs has {} entries, {} were requested", top->size(),
                               top_logprobs));
    for (const json& a : *top) {
      if (!a.is_object() || !a.contains("token") || !a["token"].is_string())
        return where("a top_logprobs entry has no 'token' string");
      double lp = 0;
      std::string bytes;
      if (auto err = logprob_of(a, lp)) return where("top_logprobs: " + *err);
      if (auto err = bytes_of(a, bytes)) return where("top_logprobs: " + *err);
      if (!t.top_logprobs.empty() && lp > t.top_logprobs.back() + kTop1Tolerance)
        return where("top_logprobs are not in descending order of logprob");
      t.top_logprobs.push_back(lp);
    }
    out.push_back(std::move(t));
  }
  return std::nullopt;
}

int first_not_top1(const std::vector<Token>& tokens) {
  for (size_t i = 0; i < tokens.size(); ++i)
    for (double alt : tokens[i].top_logprobs)
      if (alt > tokens[i].logprob + kTop1Tolerance) return int(i);
  return -1;
}

std::string describe(const Status& s) {
  if (s.ok()) return "ok";
  return s.error().code + ": " + s.error().message;
}

std::vector<CheckResult> generation_checks(const std::string& p, const Generation& g,
                                           const Expect& x, bool usage_required) {
  std::vector<CheckResult> out;
  const int n = int(g.tokens.size());

  if (!x.greedy || x.top_logprobs < 1) {
    out.push_back(CheckResult::skip(p + ".greedy", "not a greedy request with top_logprobs"));
  } else if (int i = first_not_top1(g.tokens); i >= 0) {
    out.push_back(CheckResult::fail(
        p + ".greedy", "greedy_not_top1",
        "at temperature 0 every emitted token is its own top-1 (its logprob is the highest)",
        fmt::format("token {} ('{}', logprob {:.4f}) has an alternative at {:.4f}", i,
                    printable(g.tokens[size_t(i)].token, 40), g.tokens[size_t(i)].logprob,
                    g.tokens[size_t(i)].top_logprobs.front()),
        "treat temperature 0 as greedy argmax decoding, and report logprobs of the same "
        "distribution the token was picked from"));
  } else {
    out.push_back(CheckResult::pass(p + ".greedy"));
  }

  const std::string fr = g.finish_reason.value_or("(none)");
  const std::string id = p + ".max_tokens";
  if (n == 0) {
    out.push_back(CheckResult::fail(id, "no_tokens",
                                    fmt::format("{} tokens in logprobs.content[]", x.max_tokens),
                                    "no tokens", "generate tokens and report one logprobs entry "
                                                 "per generated token"));
  } else if (n > x.max_tokens) {
    out.push_back(CheckResult::fail(
        id, "max_tokens_exceeded", fmt::format("at most max_tokens = {} tokens", x.max_tokens),
        fmt::format("{} tokens", n), "stop generating at max_tokens (finish_reason \"length\")"));
  } else if (n == x.max_tokens && fr != "length") {
    out.push_back(CheckResult::fail(
        id, "finish_reason_value", "finish_reason \"length\" when max_tokens tokens were generated",
        fmt::format("finish_reason {}", printable(fr, 40)),
        "report finish_reason \"length\" when generation stopped at max_tokens"));
  } else if (n < x.max_tokens && x.ignore_eos) {
    const bool eos = fr == "stop";
    out.push_back(CheckResult::fail(
        id, eos ? "ignore_eos_ignored" : "max_tokens_short",
        fmt::format("exactly max_tokens = {} tokens with ignore_eos: true", x.max_tokens),
        fmt::format("{} tokens, finish_reason {}", n, printable(fr, 40)),
        eos ? "honour ignore_eos (vLLM extension): keep generating past EOS until max_tokens"
            : "generate until max_tokens unless EOS or a stop string ends the output"));
  } else if (n < x.max_tokens && fr != "stop") {
    out.push_back(CheckResult::fail(
        id, "finish_reason_value", "finish_reason \"stop\" when fewer than max_tokens tokens came",
        fmt::format("{} tokens, finish_reason {}", n, printable(fr, 40)),
        "report finish_reason \"stop\" when EOS or a stop string ended the output"));
  } else {
    out.push_back(CheckResult::pass(id, fmt::format("{} tokens, finish_reason {}", n, fr)));
  }

  if (!g.usage) {
    if (usage_required)
      out.push_back(CheckResult::fail(
          p + ".usage", "usage_missing", "a usage object {prompt_tokens, completion_tokens, "
                                         "total_tokens}",
          "no usage", p == "stream" ? "with stream_options.include_usage send a last chunk "
                                      "{\"choices\":[],\"usage\":{...}} before data: [DONE]"
                                    : "include usage in the chat.completion body"));
    else
      out.push_back(CheckResult::skip(p + ".usage", "usage was not requested"));
  } else {
    const UsageSeen& u = *g.usage;
    if (u.completion_tokens != n || u.prompt_tokens <= 0 ||
        u.total_tokens != u.prompt_tokens + u.completion_tokens)
      out.push_back(CheckResult::fail(
          p + ".usage", "usage_mismatch",
          fmt::format("completion_tokens = {} (the tokens sent), prompt_tokens > 0, "
                      "total_tokens = prompt + completion",
                      n),
          fmt::format("prompt_tokens {}, completion_tokens {}, total_tokens {}", u.prompt_tokens,
                      u.completion_tokens, u.total_tokens),
          "count usage from the tokens actually generated and the prompt actually prefilled"));
    else
      out.push_back(CheckResult::pass(p + ".usage"));
  }

  std::string joined;
  for (const auto& t : g.tokens) joined += t.bytes;
  if (!openai::is_valid_utf8(joined))
    out.push_back(CheckResult::skip(p + ".text", "the tokens' bytes are not whole UTF-8 text"));
  else if (joined != g.text)
    out.push_back(CheckResult::fail(
        p + ".text", "text_token_mismatch",
        "the content equals the concatenated bytes of the reported tokens",
        fmt::format("content '{}' vs tokens '{}'", printable(g.text, 60), printable(joined, 60)),
        "emit exactly the detokenized text of the generated tokens, one logprobs entry per "
        "token"));
  else
    out.push_back(CheckResult::pass(p + ".text"));
  return out;
}

}  // namespace cacheon::conformance

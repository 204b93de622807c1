// Cross-request checks: stream vs non-stream, greedy and seeded determinism,
// max_completion_tokens, top_logprobs at its maximum, stop strings.
#include <fmt/format.h>

#include "conformance/checks.h"
#include "openai/chunk_writer.h"

namespace cacheon::conformance {

using nlohmann::json;

namespace {

std::string token_at(const Generation& g, int i) {
  return i >= 0 && size_t(i) < g.tokens.size() ? printable(g.tokens[size_t(i)].token, 30)
                                               : std::string("(end)");
}

Analysis post_completion(Context& c, const json& body, const Expect& x) {
  return analyze_completion(
      http_post_json(c.opt.server, "/v1/chat/completions", body.dump(), c.opt.limits), x);
}

// The first failed result of an analysis, or nullptr.
const CheckResult* first_failure(const Analysis& a) {
  for (const auto& r : a.results)
    if (r.failed()) return &r;
  return nullptr;
}

CheckResult compare(const char* id, const char* code, const Generation& a, const Generation& b,
                    const char* expected, const char* fix) {
  if (int i = first_difference(a, b); i >= 0)
    return CheckResult::fail(id, code, expected,
                             fmt::format("token {} differs: '{}' vs '{}' ({} vs {} tokens)", i,
                                         token_at(a, i), token_at(b, i), a.tokens.size(),
                                         b.tokens.size()),
                             fix);
  return CheckResult::pass(id);
}

CheckResult check_max_completion_tokens(Context& c) {
  const char* id = "max_completion_tokens";
  json body = c.chat_body(3, false);
  body.erase("max_tokens");
  body["max_completion_tokens"] = 3;
  Analysis a = post_completion(c, body, c.expect(3));
  if (!a.generation.complete)
    return CheckResult::skip(id, "the request failed: " +
                                     (first_failure(a) ? first_failure(a)->code : "?"));
  if (a.generation.tokens.size() != 3)
    return CheckResult::fail(id, "max_completion_tokens_ignored",
                             "max_completion_tokens: 3 (no max_tokens) yields 3 tokens",
                             fmt::format("{} tokens", a.generation.tokens.size()),
                             "treat max_completion_tokens as max_tokens (OpenAI's newer name)");
  return CheckResult::pass(id);
}

CheckResult check_top_logprobs_max(Context& c) {
  const char* id = "top_logprobs.max";
  json body = c.chat_body(2, false);
  body["top_logprobs"] = 20;
  Expect x = c.expect(2);
  x.top_logprobs = 20;
  Analysis a = post_completion(c, body, x);
  const CheckResult* resp = a.results.empty() ? nullptr : &a.results[0];
  if (resp && resp->failed())
    return CheckResult::fail(id, "top_logprobs_rejected", "top_logprobs: 20 is accepted",
                             resp->seen, "accept top_logprobs from 0 to 20");
  for (const auto& r : a.results)
    if (r.id == "nonstream.logprobs" && r.failed())
      return CheckResult::fail(id, "top_logprobs_count",
                               "top_logprobs: 20 gives 20 alternatives per token", r.seen,
                               "return exactly top_logprobs alternatives per token, up to 20");
  return CheckResult::pass(id);
}

CheckResult check_seed(Context& c) {
  const char* id = "seed.deterministic";
  json body = c.chat_body(c.opt.max_tokens, false);
  body["temperature"] = 1.0;
  body["seed"] = 1234;
  body["top_logprobs"] = 0;
  Expect x = c.expect(c.opt.max_tokens);
  x.greedy = false;
  x.top_logprobs = 0;
  Analysis a = post_completion(c, body, x);
  Analysis b = post_completion(c, body, x);
  if (!a.generation.complete || !b.generation.complete)
    return CheckResult::fail(id, "seed_request_failed",
                             "temperature 1 with a seed is served like any request",
                             first_failure(a)   ? first_failure(a)->seen
                             : first_failure(b) ? first_failure(b)->seen
                                                : "no tokens",
                             "accept temperature and seed");
  return compare(id, "seed_not_deterministic", a.generation, b.generation,
                 "the same request with the same seed gives the same tokens",
                 "seed the sampler per request from `seed`");
}

// Cuts the greedy output at a string it contains: the server must stop before it.
CheckResult check_stop(Context& c, const Generation& g) {
  const char* id = "stop";
  std::string stop;
  for (size_t i = g.tokens.size() / 2; i < g.tokens.size() && stop.empty(); ++i) {
    const std::string& b = g.tokens[i].bytes;
    if (openai::is_valid_utf8(b) && b.find_first_not_of(" \t\r\n") != std::string::npos &&
        g.text.find(b) != std::string::npos)
      stop = b;
  }
  if (stop.empty()) return CheckResult::skip(id, "no usable stop string in the greedy output");
  const std::string want = g.text.substr(0, g.text.find(stop));
  json body = c.chat_body(c.opt.max_tokens, false);
  body["stop"] = json::array({stop});
  Analysis a = post_completion(c, body, c.expect(c.opt.max_tokens));
  const Generation& s = a.generation;
  if (a.results.empty() || a.results[0].failed())
    return CheckResult::fail(id, "stop_rejected", "a request with `stop` is served",
                             a.results.empty() ? "" : a.results[0].seen,
                             "accept stop: [strings]");
  const std::string expected = fmt::format(
      "with stop ['{}'] the content ends right before its first occurrence ('{}'), "
      "finish_reason \"stop\"",
      printable(stop, 30), printable(want, 60));
  const std::string seen = fmt::format("content '{}', finish_reason {}", printable(s.text, 60),
                                       printable(s.finish_reason.value_or("(none)"), 20));
  if (s.text.find(stop) != std::string::npos || s.finish_reason != "stop")
    return CheckResult::fail(id, "stop_ignored", expected, seen,
                             "end generation when the output contains a stop string, drop the "
                             "stop string from the content, finish_reason \"stop\"");
  if (s.text != want)
    return CheckResult::fail(id, "stop_text_mismatch", expected, seen,
                             "stop at the first occurrence of the stop string and return all "
                             "text before it");
  return CheckResult::pass(id);
}

}  // namespace

int first_difference(const Generation& a, const Generation& b) {
  const size_t n = std::min(a.tokens.size(), b.tokens.size());
  for (size_t i = 0; i < n; ++i)
    if (a.tokens[i].bytes != b.tokens[i].bytes) return int(i);
  return a.tokens.size() == b.tokens.size() ? -1 : int(n);
}

void run_sampling_checks(Context& c, const Generation& stream, const Generation& nonstream) {
  if (!stream.complete || !nonstream.complete)
    c.add(CheckResult::skip("stream.matches_nonstream", "needs both stream.* and nonstream.*"));
  else
    c.add(compare("stream.matches_nonstream", "stream_nonstream_differ", stream, nonstream,
                  "the same greedy request gives the same tokens streamed and not streamed",
                  "run stream and non-stream requests through the same generation path"));

  if (!stream.complete) {
    c.add(CheckResult::skip("greedy.deterministic", "needs stream.*"));
  } else {
    Analysis again = analyze_stream(
        http_post_stream(c.opt.server, "/v1/chat/completions",
                         c.chat_body(c.opt.max_tokens, true).dump(),
                         size_t(c.opt.max_tokens) + 16, c.opt.limits),
        c.expect(c.opt.max_tokens));
    if (!again.generation.complete)
      c.add(CheckResult::fail("greedy.deterministic", "greedy_repeat_failed",
                              "the same request served twice",
                              first_failure(again) ? first_failure(again)->seen : "",
                              "serve repeated requests like the first"));
    else
      c.add(compare("greedy.deterministic", "greedy_not_deterministic", stream, again.generation,
                    "the same greedy (temperature 0) request gives the same tokens again",
                    "make temperature 0 exact argmax decoding, independent of earlier requests"));
  }
  // These vary the non-stream request: only meaningful once the plain one works.
  for (auto [id, fn] : {std::pair{"max_completion_tokens", &check_max_completion_tokens},
                        std::pair{"top_logprobs.max", &check_top_logprobs_max},
                        std::pair{"seed.deterministic", &check_seed}})
    c.add(nonstream.complete ? fn(c) : CheckResult::skip(id, "needs nonstream.*"));
  c.add(stream.complete ? check_stop(c, stream) : CheckResult::skip("stop", "needs stream.*"));
}

}  // namespace cacheon::conformance

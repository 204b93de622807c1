// The stream and non-stream judgements on canned bytes: a well-formed answer passes every check,
// and each contract violation fails its own check with its own code (one row per rule).
#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "conformance/analysis.h"

namespace cacheon::conformance {
namespace {

using nlohmann::json;

json entry(const std::string& tok, double lp, int top, bool wrong_top1 = false) {
  json bytes = json::array();
  for (unsigned char c : tok) bytes.push_back(int(c));
  json alts = json::array();
  for (int k = 0; k < top; ++k) {
    const double a = k == 0 ? (wrong_top1 ? lp + 0.5 : lp) : lp - 1.0 * k;
    alts.push_back({{"token", k == 0 ? tok : "alt" + std::to_string(k)},
                    {"logprob", a},
                    {"bytes", k == 0 ? bytes : json::array({97})}});
  }
  return {{"token", tok}, {"logprob", lp}, {"bytes", bytes}, {"top_logprobs", alts}};
}

// A well-formed stream's parts, each mutable by a test case before it is rendered.
struct Stream {
  std::vector<std::string> tokens = {" a", " b", " c", " d"};
  int top = 5;
  json envelope = {{"id", "chatcmpl-1"}, {"object", "chat.completion.chunk"},
                   {"created", 1}, {"model", "tiny"}};
  std::vector<json> chunks;  // data payloads, [DONE] excluded
  std::vector<std::string> raw;  // full SSE text events, in order
  bool done = true;

  json chunk(json choice) const {
    json c = envelope;
    c["choices"] = json::array({std::move(choice)});
    return c;
  }
  void build() {
    chunks.push_back(chunk({{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}},
                            {"logprobs", nullptr}, {"finish_reason", nullptr}}));
    for (const auto& t : tokens)
      chunks.push_back(chunk({{"index", 0},
                              {"delta", {{"content", t}}},
                              {"logprobs", {{"content", json::array({entry(t, -0.1, top)})}}},
                              {"finish_reason", nullptr}}));
    chunks.push_back(chunk({{"index", 0}, {"delta", json::object()}, {"logprobs", nullptr},
                            {"finish_reason", "length"}}));
    json u = envelope;
    u["choices"] = json::array();
    u["usage"] = {{"prompt_tokens", 10}, {"completion_tokens", int(tokens.size())},
                  {"total_tokens", 10 + int(tokens.size())}};
    chunks.push_back(u);
  }
  std::string body() const {
    std::string b;
    for (const auto& c : chunks) b += "data: " + c.dump() + "\n\n";
    for (const auto& r : raw) b += r;
    if (done) b += "data: [DONE]\n\n";
    return b;
  }
};

Expect expect4() {
  Expect x;
  x.max_tokens = 4;
  return x;
}

const CheckResult& result(const Analysis& a, const std::string& id) {
  for (const auto& r : a.results)
    if (r.id == id) return r;
  static CheckResult none = CheckResult::skip("missing", "no such result");
  ADD_FAILURE() << "no result for " << id;
  return none;
}

TEST(ConformanceStream, WellFormedStreamPassesEveryCheck) {
  Stream s;
  s.build();
  Analysis a = analyze_stream(capture_from_bytes(200, "text/event-stream", s.body()), expect4());
  ASSERT_EQ(a.results.size(), 11u);
  for (const auto& r : a.results)
    EXPECT_TRUE(r.passed()) << r.id << ": " << r.code << " " << r.seen;
  EXPECT_TRUE(a.generation.complete);
  EXPECT_EQ(a.generation.tokens.size(), 4u);
  EXPECT_EQ(a.generation.text, " a b c d");
  ASSERT_TRUE(a.generation.usage);
  EXPECT_EQ(a.generation.usage->prompt_tokens, 10);
}

struct StreamCase {
  const char* name;
  std::function<void(Stream&)> mutate;  // after build()
  const char* id;
  const char* code;
};

TEST(ConformanceStream, EachViolationFailsItsCheck) {
  const StreamCase cases[] = {
      {"no role", [](Stream& s) { s.chunks[0]["choices"][0]["delta"].erase("role"); },
       "stream.role", "stream_role_missing"},
      {"no finish", [](Stream& s) { s.chunks[5]["choices"][0]["finish_reason"] = nullptr; },
       "stream.finish_reason", "finish_reason_missing"},
      {"odd finish", [](Stream& s) { s.chunks[5]["choices"][0]["finish_reason"] = "eos"; },
       "stream.finish_reason", "finish_reason_value"},
      {"content after finish",
       [](Stream& s) { s.chunks[3]["choices"][0]["finish_reason"] = "length";
                       s.chunks[5]["choices"][0]["finish_reason"] = nullptr; },
       "stream.finish_reason", "content_after_finish"},
      {"no done", [](Stream& s) { s.done = false; }, "stream.done", "stream_no_done"},
      {"after done",
       [](Stream& s) { s.done = false;
                       s.raw = {"data: [DONE]\n\n", "data: " + s.chunks[1].dump() + "\n\n"}; },
       "stream.done", "stream_after_done"},
      {"not json", [](Stream& s) { s.raw = {"data: {\"id\": \n\n"}; }, "stream.chunks",
       "chunk_not_json"},
      {"invalid utf8", [](Stream& s) { s.raw = {"data: {\"x\":\"\xff\"}\n\n"}; },
       "stream.chunks", "chunk_invalid_utf8"},
      {"error event", [](Stream& s) { s.raw = {"event: error\ndata: {\"error\":{}}\n\n"}; },
       "stream.chunks", "chunk_error_event"},
      {"error object",
       [](Stream& s) { s.raw = {"data: {\"error\":{\"message\":\"boom\"}}\n\n"}; },
       "stream.chunks", "chunk_error_event"},
      {"wrong object", [](Stream& s) { s.chunks[2]["object"] = "chat.completion"; },
       "stream.chunks", "chunk_fields"},
      {"id changes", [](Stream& s) { s.chunks[2]["id"] = "other"; }, "stream.chunks",
       "chunk_fields"},
      {"no logprobs", [](Stream& s) { s.chunks[2]["choices"][0]["logprobs"] = nullptr; },
       "stream.logprobs", "logprobs_missing"},
      {"bytes missing",
       [](Stream& s) { s.chunks[2]["choices"][0]["logprobs"]["content"][0].erase("bytes"); },
       "stream.logprobs", "logprobs_shape"},
      {"bytes out of range",
       [](Stream& s) { s.chunks[2]["choices"][0]["logprobs"]["content"][0]["bytes"] = {300}; },
       "stream.chunks", "chunk_fields"},  // the harness's own parser refuses it first
      {"positive logprob",
       [](Stream& s) { s.chunks[2]["choices"][0]["logprobs"]["content"][0]["logprob"] = 0.5; },
       "stream.logprobs", "logprobs_shape"},
      {"too few alternatives",
       [](Stream& s) {
         s.chunks[2]["choices"][0]["logprobs"]["content"][0]["top_logprobs"].erase(0); },
       "stream.logprobs", "logprobs_shape"},
      {"unsorted alternatives",
       [](Stream& s) {
         auto& t = s.chunks[2]["choices"][0]["logprobs"]["content"][0]["top_logprobs"];
         std::swap(t[1], t[3]); },
       "stream.logprobs", "logprobs_shape"},
      {"not top-1",
       [](Stream& s) {
         s.chunks[2]["choices"][0]["logprobs"]["content"][0] = entry(" b", -1.0, 5, true); },
       "stream.greedy", "greedy_not_top1"},
      {"usage missing", [](Stream& s) { s.chunks.pop_back(); }, "stream.usage", "usage_missing"},
      {"usage lies", [](Stream& s) { s.chunks[6]["usage"]["completion_tokens"] = 5;
                                     s.chunks[6]["usage"]["total_tokens"] = 15; },
       "stream.usage", "usage_mismatch"},
      {"usage total wrong", [](Stream& s) { s.chunks[6]["usage"]["total_tokens"] = 1; },
       "stream.usage", "usage_mismatch"},
      {"text differs", [](Stream& s) { s.chunks[2]["choices"][0]["delta"]["content"] = " B"; },
       "stream.text", "text_token_mismatch"},
  };
  for (const auto& c : cases) {
    Stream s;
    s.build();
    c.mutate(s);
    Analysis a = analyze_stream(capture_from_bytes(200, "text/event-stream", s.body()),
                                expect4());
    const CheckResult& r = result(a, c.id);
    EXPECT_TRUE(r.failed()) << c.name;
    EXPECT_EQ(r.code, c.code) << c.name << ": " << r.seen;
    EXPECT_FALSE(r.fix.empty()) << c.name;
    int failures = 0;
    for (const auto& x : a.results) failures += x.failed();
    EXPECT_LE(failures, 2) << c.name << ": one violation, at most one knock-on failure";
  }
}

TEST(ConformanceStream, TokenCountAgainstMaxTokensAndIgnoreEos) {
  struct Case {
    int tokens;
    const char* finish;
    bool ignore_eos;
    const char* code;  // nullptr: pass
  };
  const Case cases[] = {
      {4, "length", true, nullptr},           {5, "length", true, "max_tokens_exceeded"},
      {4, "stop", true, "finish_reason_value"}, {3, "stop", true, "ignore_eos_ignored"},
      {3, "length", true, "max_tokens_short"}, {3, "stop", false, nullptr},
      {3, "length", false, "finish_reason_value"},
  };
  for (const auto& c : cases) {
    Stream s;
    s.tokens.resize(size_t(c.tokens), " x");
    s.build();
    s.chunks[size_t(c.tokens) + 1]["choices"][0]["finish_reason"] = c.finish;
    Expect x = expect4();
    x.ignore_eos = c.ignore_eos;
    Analysis a = analyze_stream(capture_from_bytes(200, "text/event-stream", s.body()), x);
    const CheckResult& r = result(a, "stream.max_tokens");
    if (c.code)
      EXPECT_EQ(r.code, c.code) << c.tokens << " " << c.finish;
    else
      EXPECT_TRUE(r.passed()) << c.tokens << " " << c.finish << ": " << r.code;
  }
}

TEST(ConformanceStream, HttpAndTransportFailuresSkipTheRest) {
  struct Case {
    StreamCapture cap;
    const char* id;
    const char* code;
  };
  Stream s;
  s.build();
  const std::string body = s.body();
  StreamCapture overrun = capture_from_bytes(200, "text/event-stream", body);
  overrun.overrun = true;
  const Case cases[] = {
      {capture_from_bytes(500, "application/json", "{\"error\":{}}"), "stream.http",
       "stream_status"},
      {capture_from_bytes(200, "text/event-stream", body.substr(0, body.size() / 2),
                          Error{"disconnected", "peer closed"}),
       "stream.transport", "stream_disconnected"},
      {capture_from_bytes(200, "text/event-stream", body.substr(0, body.size() / 2),
                          Error{"timeout_read", "silent"}),
       "stream.transport", "stream_timeout"},
      {capture_from_bytes(200, "text/event-stream", body.substr(0, body.size() - 1)),
       "stream.transport", "stream_sse_invalid"},  // ends inside an event
      {capture_from_bytes(200, "text/event-stream", "data: " + std::string(2000, 'x') + "\n\n",
                          {}, SseOptions{1000, 4000}),
       "stream.transport", "stream_sse_invalid"},
      {overrun, "stream.transport", "stream_overrun"},
  };
  for (const auto& c : cases) {
    Analysis a = analyze_stream(c.cap, expect4());
    ASSERT_EQ(a.results.size(), 11u);
    EXPECT_EQ(result(a, c.id).code, c.code);
    EXPECT_EQ(a.results.back().status, CheckStatus::skip);
    EXPECT_FALSE(a.generation.complete);
  }
  Analysis plain = analyze_stream(capture_from_bytes(200, "application/json", body), expect4());
  EXPECT_EQ(result(plain, "stream.http").code, "stream_content_type");
}

json completion(int tokens, const std::string& finish) {
  json content = json::array();
  std::string text;
  for (int i = 0; i < tokens; ++i) {
    content.push_back(entry(" t", -0.2, 5));
    text += " t";
  }
  return {{"id", "chatcmpl-2"}, {"object", "chat.completion"}, {"created", 1}, {"model", "tiny"},
          {"choices", json::array({{{"index", 0},
                                    {"message", {{"role", "assistant"}, {"content", text}}},
                                    {"logprobs", {{"content", content}}},
                                    {"finish_reason", finish}}})},
          {"usage", {{"prompt_tokens", 7}, {"completion_tokens", tokens},
                     {"total_tokens", 7 + tokens}}}};
}

TEST(ConformanceCompletion, WellFormedAndEachViolation) {
  auto reply = [](const json& j) { return Reply{{}, 200, "application/json", j.dump()}; };
  Analysis good = analyze_completion(reply(completion(4, "length")), expect4());
  for (const auto& r : good.results) EXPECT_TRUE(r.passed()) << r.id << ": " << r.code;
  EXPECT_TRUE(good.generation.complete);

  struct Case {
    const char* name;
    Reply reply;
    const char* id;
    const char* code;
  };
  json no_role = completion(4, "length");
  no_role["choices"][0]["message"].erase("role");
  json lie = completion(4, "length");
  lie["usage"]["completion_tokens"] = 3;
  json no_usage = completion(4, "length");
  no_usage.erase("usage");
  json no_lp = completion(4, "length");
  no_lp["choices"][0].erase("logprobs");
  const Case cases[] = {
      {"500", Reply{{}, 500, "application/json", "{}"}, "nonstream.response", "nonstream_status"},
      {"transport", Reply{Error{"timeout_total", "slow"}, 0, "", ""}, "nonstream.response",
       "nonstream_transport"},
      {"not json", Reply{{}, 200, "application/json", "{\"id\":"}, "nonstream.response",
       "nonstream_not_json"},
      {"no role", reply(no_role), "nonstream.response", "nonstream_fields"},
      {"text/plain", Reply{{}, 200, "text/plain", completion(4, "length").dump()},
       "nonstream.response", "nonstream_content_type"},
      {"no logprobs", reply(no_lp), "nonstream.logprobs", "logprobs_shape"},
      {"usage lie", reply(lie), "nonstream.usage", "usage_mismatch"},
      {"no usage", reply(no_usage), "nonstream.usage", "usage_missing"},
      {"too many", reply(completion(6, "length")), "nonstream.max_tokens",
       "max_tokens_exceeded"},
  };
  for (const auto& c : cases) {
    Analysis a = analyze_completion(c.reply, expect4());
    EXPECT_EQ(result(a, c.id).code, c.code) << c.name << ": " << result(a, c.id).seen;
  }
}

TEST(ConformanceCompletion, FirstNotTop1UsesATolerance) {
  std::vector<Token> t(3);
  t[0].logprob = -0.1;
  t[0].top_logprobs = {-0.1, -2};
  t[1].logprob = -0.5;
  t[1].top_logprobs = {-0.5000001, -1};  // float noise is not a violation
  t[2].logprob = -0.5;
  t[2].top_logprobs = {-0.2, -0.5};
  EXPECT_EQ(first_not_top1(t), 2);
  t.pop_back();
  EXPECT_EQ(first_not_top1(t), -1);
}

}  // namespace
}  // namespace cacheon::conformance

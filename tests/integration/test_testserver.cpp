// The calibrated source over loopback, seen through a plain blocking socket: endpoints, the
// server-side truth against the schedule, determinism, and each fault's raw symptom on the wire.
// Timing asserts stay at +-1 ms: CI machines are shared.
#include "testserver/test_server.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "openai/chunk_writer.h"

namespace cacheon::testserver {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using namespace std::chrono_literals;

// What came back on one connection, raw.
struct Raw {
  std::string bytes;
  bool eof = false;        // the peer closed
  bool timed_out = false;  // `limit` passed first
  int64_t sent_ns = -1, first_byte_ns = -1;
  int status = 0;
  std::string head, body;  // body de-chunked when chunked
  bool terminated = false;  // chunked body ended with the 0-chunk
  std::vector<std::string> events;  // SSE events ("data: ..." or other lines), in order
};

void parse_http(Raw& r) {
  const size_t he = r.bytes.find("\r\n\r\n");
  if (he == std::string::npos) return;
  r.head = r.bytes.substr(0, he);
  if (r.head.size() > 12) r.status = std::stoi(r.head.substr(9, 3));
  std::string rest = r.bytes.substr(he + 4);
  if (r.head.find("Transfer-Encoding: chunked") == std::string::npos) {
    r.body = rest;
  } else {
    size_t p = 0;
    while (true) {
      const size_t le = rest.find("\r\n", p);
      if (le == std::string::npos) break;
      const size_t n = std::stoul(rest.substr(p, le - p), nullptr, 16);
      if (n == 0) {
        r.terminated = rest.compare(le, 4, "\r\n\r\n") == 0;
        break;
      }
      if (le + 2 + n > rest.size()) {
        r.body += rest.substr(le + 2);
        break;
      }
      r.body += rest.substr(le + 2, n);
      p = le + 2 + n + 2;
    }
  }
  for (size_t p = 0; p < r.body.size();) {
    size_t e = r.body.find("\n\n", p);
    if (e == std::string::npos) e = r.body.size();
    r.events.push_back(r.body.substr(p, e - p));
    p = e + 2;
  }
}

// Sends one request ("Connection: close") and reads until EOF, `limit`, or `max_bytes`.
Raw exchange(uint16_t port, const std::string& method, const std::string& target,
             const std::string& body = "", std::chrono::milliseconds limit = 3000ms,
             size_t max_bytes = size_t(64) << 20) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
  if (!body.empty()) req += "Content-Type: application/json\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  Raw r;
  asio::write(sock, asio::buffer(req));
  r.sent_ns = mono_ns();
  const int64_t end = r.sent_ns + std::chrono::nanoseconds(limit).count();
  char buf[65536];
  while (r.bytes.size() < max_bytes) {
    pollfd pfd{sock.native_handle(), POLLIN, 0};
    const int64_t left_ms = (end - mono_ns()) / 1'000'000;
    if (left_ms <= 0 || poll(&pfd, 1, int(left_ms)) == 0) {
      r.timed_out = true;
      break;
    }
    boost::system::error_code ec;
    const size_t n = sock.read_some(asio::buffer(buf), ec);
    if (r.first_byte_ns < 0 && n > 0) r.first_byte_ns = mono_ns();
    r.bytes.append(buf, n);
    if (ec) {
      r.eof = true;
      break;
    }
  }
  parse_http(r);
  return r;
}

std::string chat_body(bool stream, int max_tokens = 0, std::string extra = "",
                      std::string prompt = "hello") {
  std::string b = R"({"model":"Qwen2.5-72B-Instruct","messages":[{"role":"user","content":")" +
                  prompt + R"("}],"logprobs":true,"top_logprobs":5)";
  b += stream ? R"(,"stream":true,"stream_options":{"include_usage":true})" : "";
  if (max_tokens > 0) b += ",\"max_tokens\":" + std::to_string(max_tokens);
  return b + extra + "}";
}

struct Server {
  TestServer ts;
  explicit Server(Script s, int threads = 1)
      : ts(std::move(s), [threads] {
          HttpServerOptions o;
          o.threads = threads;
          return o;
        }()) {
    EXPECT_TRUE(ts.start().ok());
  }
  Raw chat(bool stream, int max_tokens = 0, std::string extra = "",
           std::chrono::milliseconds limit = 3000ms) {
    return exchange(ts.port(), "POST", "/v1/chat/completions",
                    chat_body(stream, max_tokens, std::move(extra)), limit);
  }
};

Script fast(std::string fault = "none", int tokens = 10) {
  Script s;
  s.ttft_ms = 5;
  s.itl_ms = 2;
  s.tokens = tokens;
  s.fault = std::move(fault);
  return s;
}

// Parsed data events of a stream (skips [DONE] and non-data lines; tolerant of bad JSON).
struct Stream {
  std::vector<json> chunks;  // every parsable data event
  int content_events = 0, tokens = 0, bad_json = 0, after_done = 0, after_finish_tokens = 0;
  bool done = false, finished = false;
  std::string text, finish;
  std::vector<json> entries;  // logprobs.content[] entries, in order
  json usage;
};
Stream read_stream(const Raw& r) {
  Stream s;
  for (const auto& ev : r.events) {
    if (ev.rfind("data: ", 0) != 0) continue;
    const std::string p = ev.substr(6);
    if (p == "[DONE]") {
      s.done = true;
      continue;
    }
    if (s.done) ++s.after_done;
    json j = json::parse(p, nullptr, false);
    if (j.is_discarded()) {
      ++s.bad_json;
      continue;
    }
    s.chunks.push_back(j);
    if (j.contains("usage") && !j["usage"].is_null()) s.usage = j["usage"];
    if (j["choices"].empty()) continue;
    const json& c = j["choices"][0];
    if (c["delta"].contains("content") && !c["delta"].contains("role")) {
      ++s.content_events;
      s.text += c["delta"]["content"].get<std::string>();
      if (c["logprobs"].is_object()) {
        for (const auto& e : c["logprobs"]["content"]) s.entries.push_back(e);
        s.tokens += int(c["logprobs"]["content"].size());
        if (s.finished) s.after_finish_tokens += int(c["logprobs"]["content"].size());
      }
    }
    if (c["finish_reason"].is_string()) {
      s.finished = true;
      s.finish = c["finish_reason"];
    }
  }
  return s;
}

TEST(TestServer, ScriptBasics) {
  EXPECT_NE(words().size() % 7, 0u);  // the alternatives' stride must cycle the whole list
  EXPECT_GE(words().size(), 200u);
  for (const auto& w : words()) EXPECT_TRUE(openai::is_valid_utf8(w)) << w;
  for (const auto& f : all_faults()) EXPECT_EQ(fault_name(*parse_fault(f.name)), f.name);
  EXPECT_FALSE(parse_fault("nope").ok());
  Script s;
  s.tokens = 0;
  EXPECT_FALSE(validate(s).ok());
  s = Script{};
  s.fault_at_fraction = 1.5;
  EXPECT_FALSE(validate(s).ok());
  EXPECT_TRUE(validate(Script{}).ok());
}

TEST(TestServer, HealthModelsTokenize) {
  Server srv(fast());
  const uint16_t port = srv.ts.port();
  EXPECT_EQ(exchange(port, "GET", "/health").status, 200);
  json models = json::parse(exchange(port, "GET", "/v1/models").body);
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["id"], "Qwen2.5-72B-Instruct");
  json t = json::parse(exchange(port, "POST", "/tokenize", R"({"prompt":"hello world"})").body);
  EXPECT_EQ(t["count"], 3);  // ceil(11 / 4)
  EXPECT_EQ(t["tokens"].size(), 3u);
  EXPECT_EQ(t["max_model_len"], 32768);
  const std::string msgs = R"({"model":"Qwen2.5-72B-Instruct","messages":[{"role":"user",)"
                           R"("content":"hello world"}])";
  EXPECT_EQ(json::parse(exchange(port, "POST", "/tokenize", msgs + "}").body)["count"],
            3 + 3 + 2 + 3);
  EXPECT_EQ(json::parse(exchange(port, "POST", "/tokenize",
                                 msgs + R"(,"add_generation_prompt":false})").body)["count"],
            3 + 3 + 2);
  EXPECT_EQ(exchange(port, "GET", "/nope").status, 404);
  EXPECT_EQ(exchange(port, "GET", "/v1/chat/completions").status, 405);
}

TEST(TestServer, StartupDelayAndNeverHealthy) {
  Script s = fast();
  s.startup_delay_ms = 300;
  Server srv(s);
  EXPECT_EQ(exchange(srv.ts.port(), "GET", "/health").status, 503);
  EXPECT_EQ(srv.chat(false).status, 503);
  std::this_thread::sleep_for(350ms);
  EXPECT_EQ(exchange(srv.ts.port(), "GET", "/health").status, 200);
  Server never(fast("never-healthy"));
  EXPECT_EQ(exchange(never.ts.port(), "GET", "/health").status, 503);
  EXPECT_EQ(never.chat(false).status, 200);
}

TEST(TestServer, ErrorsAreOpenAiErrorObjects) {
  Script s = fast();
  s.max_model_len = 100;
  Server srv(s);
  auto check = [](const Raw& r, int status, std::string_view type) {
    EXPECT_EQ(r.status, status) << r.bytes;
    json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["error"]["type"], type);
    EXPECT_TRUE(j["error"]["message"].is_string());
  };
  const uint16_t port = srv.ts.port();
  check(exchange(port, "POST", "/v1/chat/completions", "{nope"), 400, "invalid_request_error");
  check(exchange(port, "POST", "/v1/chat/completions", R"({"model":"x","messages":[]})"), 400,
        "invalid_request_error");
  check(exchange(port, "POST", "/v1/chat/completions",
                 R"({"model":"gpt-4","messages":[{"role":"user","content":"a"}]})"),
        404, "not_found_error");
  check(srv.chat(true, 200), 400, "invalid_request_error");  // 200 > max_model_len
  Server boom(fast("http-500"));
  check(boom.chat(true), 500, "server_error");
}

TEST(TestServer, StreamStructureAndTruthOnSchedule) {
  Script s = fast("none", 20);
  s.ttft_ms = 30;
  s.itl_ms = 5;
  Server srv(s);
  Raw r = srv.chat(true);
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.terminated);
  Stream st = read_stream(r);
  ASSERT_FALSE(st.chunks.empty());
  EXPECT_EQ(st.chunks[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(st.content_events, 20);
  EXPECT_EQ(st.tokens, 20);
  EXPECT_EQ(st.finish, "stop");
  EXPECT_EQ(st.usage["completion_tokens"], 20);
  EXPECT_EQ(st.usage["prompt_tokens"], 3 + 2 + 2 + 3);  // "hello": 5 bytes -> 2 tokens
  EXPECT_TRUE(st.done);
  EXPECT_EQ(st.after_done, 0);
  std::string joined;
  for (const auto& e : st.entries) {
    ASSERT_EQ(e["top_logprobs"].size(), 5u);
    EXPECT_EQ(e["top_logprobs"][0]["token"], e["token"]);  // own top-1
    EXPECT_EQ(e["top_logprobs"][0]["logprob"], e["logprob"]);
    const std::string tok = e["token"];
    std::vector<int> bytes;
    for (unsigned char c : tok) bytes.push_back(c);
    EXPECT_EQ(e["bytes"], json(bytes)) << tok;
    joined += tok;
  }
  EXPECT_EQ(joined, st.text);

  auto truths = srv.ts.truths();
  ASSERT_EQ(truths.size(), 1u);
  const auto& t = truths[0];
  ASSERT_EQ(t.event_write_ns.size(), 20u);
  ASSERT_EQ(t.token_write_ns.size(), 20u);
  EXPECT_GE(t.headers_write_ns, t.request_read_ns);
  EXPECT_GT(t.request_read_ns, r.sent_ns - 1'000'000'000);
  // Deadlines are absolute (t0 + ttft + j*itl, exactly); writes are never early and typically
  // within 1 ms (median: a loaded shared machine adds the odd multi-ms scheduler hiccup).
  std::vector<int64_t> late;
  for (size_t j = 0; j < 20; ++j) {
    EXPECT_EQ(t.event_deadline_ns[j], t.request_read_ns + 30'000'000 + int64_t(j) * 5'000'000);
    late.push_back(t.event_write_ns[j] - t.event_deadline_ns[j]);
    EXPECT_GE(late.back(), 0);
    EXPECT_LE(late.back(), 50'000'000) << "event " << j;
    EXPECT_GE(t.event_handed_ns[j], t.event_write_ns[j]);
    EXPECT_GE(t.event_written_ns[j], t.event_handed_ns[j]);
  }
  std::sort(late.begin(), late.end());
  EXPECT_LE(late[10], 1'000'000);
  EXPECT_GE(r.first_byte_ns, t.headers_write_ns);  // the same clock on both sides
}

TEST(TestServer, LengthChunkingAndNonStream) {
  Script s = fast("none", 10);
  s.tokens_per_chunk = 3;
  Server srv(s);
  Stream cut = read_stream(srv.chat(true, 7));
  EXPECT_EQ(cut.tokens, 7);
  EXPECT_EQ(cut.content_events, 3);  // 3 + 3 + 1
  EXPECT_EQ(cut.finish, "length");
  Stream full = read_stream(srv.chat(true, 30));
  EXPECT_EQ(full.tokens, 10);
  EXPECT_EQ(full.content_events, 4);
  EXPECT_EQ(full.finish, "stop");
  Stream eos = read_stream(srv.chat(true, 30, R"(,"ignore_eos":true)"));
  EXPECT_EQ(eos.tokens, 30);
  EXPECT_EQ(eos.finish, "length");
  const auto truths = srv.ts.truths();
  ASSERT_EQ(truths.size(), 3u);
  EXPECT_EQ(truths[1].event_deadline_ns[1] - truths[1].event_deadline_ns[0], 3 * 2'000'000);
  // Stream equals non-stream.
  json ns = json::parse(srv.chat(false, 30).body);
  EXPECT_EQ(ns["choices"][0]["message"]["content"], full.text);
  EXPECT_EQ(ns["choices"][0]["logprobs"]["content"], json(full.entries));
  EXPECT_EQ(ns["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(ns["usage"]["completion_tokens"], 10);
}

TEST(TestServer, SameSeedSameBytesOtherSeedOtherTokens) {
  auto run = [](uint64_t seed, std::string prompt = "hello") {
    Script s = fast("none", 12);
    s.seed = seed;
    Server srv(s);
    Raw r = exchange(srv.ts.port(), "POST", "/v1/chat/completions",
                     chat_body(true, 0, "", prompt));
    std::string events;  // everything but `created` (wall clock)
    for (const auto& c : read_stream(r).chunks) {
      json j = c;
      j.erase("created");
      events += j.dump() + "\n";
    }
    return events;
  };
  const std::string a = run(7);
  EXPECT_EQ(a, run(7));
  EXPECT_NE(a, run(8));
  EXPECT_NE(a, run(7, "other prompt"));
}

TEST(TestServer, DivergenceGapAndDrop) {
  auto stream = [](int diverge_at, double gap) {
    Script s = fast("none", 8);
    s.diverge_at = diverge_at;
    s.diverge_gap = gap;
    Server srv(s);
    return read_stream(srv.chat(true)).entries;
  };
  const auto base = stream(-1, 0), near = stream(3, 0.3), far = stream(3, 6.0);
  ASSERT_EQ(base.size(), 8u);
  ASSERT_EQ(near.size(), 8u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(near[i], base[i]);
  for (int i = 3; i < 8; ++i) EXPECT_NE(near[i]["token"], base[i]["token"]);
  const json& top = near[3]["top_logprobs"];
  EXPECT_EQ(top[0]["token"], near[3]["token"]);
  EXPECT_EQ(top[1]["token"], base[3]["token"]);
  EXPECT_NEAR(top[0]["logprob"].get<double>() - top[1]["logprob"].get<double>(), 0.3, 1e-9);
  for (const auto& e : far[3]["top_logprobs"]) EXPECT_NE(e["token"], base[3]["token"]);
}

// ---- faults: each one's distinctive raw symptom ----

TEST(TestServerFault, BufferFlushSendsOneBurstAtTheEnd) {
  Server srv(fast("buffer-flush"));
  Raw r = srv.chat(true);
  Stream st = read_stream(r);
  EXPECT_EQ(st.tokens, 10);
  EXPECT_TRUE(st.done);
  const auto t = srv.ts.truths().at(0);
  ASSERT_EQ(t.event_write_ns.size(), 10u);
  for (int64_t w : t.event_write_ns) EXPECT_EQ(w, t.event_write_ns.back());
  EXPECT_GE(t.event_write_ns.back(), t.event_deadline_ns.back());
}

TEST(TestServerFault, StallKeepsTheConnectionOpenAndSilent) {
  Server srv(fast("stall"));
  Raw r = srv.chat(true, 0, "", 300ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.eof);
  EXPECT_FALSE(r.terminated);
  Stream st = read_stream(r);
  EXPECT_EQ(st.tokens, 5);  // fault point: floor(0.5 * 10)
  EXPECT_FALSE(st.done);
}

TEST(TestServerFault, DisconnectGivesEofBeforeDone) {
  Server srv(fast("disconnect"));
  Raw r = srv.chat(true);
  EXPECT_TRUE(r.eof);
  EXPECT_FALSE(r.terminated);
  Stream st = read_stream(r);
  EXPECT_EQ(st.tokens, 5);
  EXPECT_FALSE(st.done);
}

TEST(TestServerFault, MalformedJsonAndInvalidUtf8AreOneEventEach) {
  Stream mj = read_stream(Server(fast("malformed-json")).chat(true));
  EXPECT_EQ(mj.bad_json, 1);
  EXPECT_EQ(mj.tokens, 9);
  EXPECT_TRUE(mj.done);
  Raw r = Server(fast("invalid-utf8")).chat(true);
  EXPECT_NE(r.body.find("\xC3\x28\xFF"), std::string::npos);
  int invalid = 0;
  for (const auto& ev : r.events) invalid += !openai::is_valid_utf8(ev);
  EXPECT_EQ(invalid, 1);
}

TEST(TestServerFault, LogprobCountUsageLieAfterFinishAfterDone) {
  Stream lc = read_stream(Server(fast("logprob-count")).chat(true));
  EXPECT_EQ(lc.content_events, 10);
  EXPECT_EQ(lc.tokens, 8);  // one event with logprobs null, the next with content []
  Stream ul = read_stream(Server(fast("usage-lie")).chat(true));
  EXPECT_EQ(ul.tokens, 10);
  EXPECT_EQ(ul.usage["completion_tokens"], 11);
  Stream af = read_stream(Server(fast("after-finish")).chat(true));
  EXPECT_EQ(af.after_finish_tokens, 2);
  Stream ad = read_stream(Server(fast("after-done")).chat(true));
  EXPECT_TRUE(ad.done);
  EXPECT_EQ(ad.after_done, 1);
}

TEST(TestServerFault, NoDoneEndsCleanlyWithoutDone) {
  Raw r = Server(fast("no-done")).chat(true);
  EXPECT_TRUE(r.terminated);
  EXPECT_TRUE(r.eof);
  Stream st = read_stream(r);
  EXPECT_EQ(st.finish, "stop");
  EXPECT_FALSE(st.done);
}

TEST(TestServerFault, EndlessIgnoresMaxTokens) {
  Server srv(fast("endless"));
  Raw r = srv.chat(true, 3, "", 200ms);
  EXPECT_TRUE(r.timed_out);
  Stream st = read_stream(r);
  EXPECT_GT(st.tokens, 20);  // ~ (200 - 5) / 2
  EXPECT_FALSE(st.finished);
}

TEST(TestServerFault, HugeLineIsOver8MiBWithoutNewline) {
  Raw r = Server(fast("huge-line")).chat(true);
  size_t longest = 0;
  for (size_t p = 0; p < r.body.size();) {
    size_t e = r.body.find('\n', p);
    if (e == std::string::npos) e = r.body.size();
    longest = std::max(longest, e - p);
    p = e + 1;
  }
  EXPECT_GE(longest, size_t(8) << 20);
  Stream st = read_stream(r);
  EXPECT_EQ(st.bad_json, 0);
  EXPECT_TRUE(st.done);
}

TEST(TestServerFault, SlowHeadersDribbleOneBytePer100ms) {
  Server srv(fast("slow-headers"));
  Raw r = srv.chat(true, 0, "", 350ms);
  ASSERT_GT(r.first_byte_ns, 0);
  EXPECT_GE(r.first_byte_ns - r.sent_ns, 99'000'000);
  EXPECT_GE(r.bytes.size(), 2u);
  EXPECT_LE(r.bytes.size(), 4u);
  EXPECT_EQ(std::string("HTTP").substr(0, r.bytes.size()), r.bytes.substr(0, 4));
}

TEST(TestServerFault, ErrorEventAndWrongTop1) {
  Raw r = Server(fast("error-event")).chat(true);
  EXPECT_NE(r.body.find("event: error\ndata: {\"error\":"), std::string::npos);
  Stream ee = read_stream(r);
  EXPECT_TRUE(ee.done);
  EXPECT_FALSE(ee.finished);
  Stream wt = read_stream(Server(fast("wrong-top1")).chat(true));
  ASSERT_EQ(wt.entries.size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    const json& e = wt.entries[i];
    EXPECT_EQ(e["top_logprobs"][0]["token"] == e["token"], i < 5) << i;
    if (i >= 5) {
      EXPECT_EQ(e["top_logprobs"][1]["token"], e["token"]);
      EXPECT_GT(e["top_logprobs"][0]["logprob"], e["logprob"]);
    }
  }
}

}  // namespace
}  // namespace cacheon::testserver

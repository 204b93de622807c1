// The remote worker protocol's pure parts (src/remote/protocol.h, https.h WorkerUrl): JSON round
// trips of jobs and results, hostile request bodies and stream records refused with the field
// named, bounded line framing, and the log tail.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "remote/https.h"
#include "remote/protocol.h"

namespace cacheon::remote {
namespace {

using nlohmann::json;

store::Participant participant(int pos, std::string hotkey) {
  store::Participant p;
  p.position = pos;
  p.key = {std::move(hotkey), 1234};
  p.role = pos == 0 ? store::Role::leader : store::Role::challenger;
  p.image = "ghcr.io/miner/x";
  p.digest = "sha256:" + std::string(64, 'c');
  return p;
}

validator::EvalJob job() {
  return {12, 3456, "0x" + std::string(64, 'e'), {participant(0, "5Lead"), participant(1, "5Chal")}};
}

store::EvalResult result() {
  store::EvalResult r;
  r.decided = true;
  r.passed = true;
  r.score = 0.25;
  r.reason_code = "ok";
  r.message = "passed: \xff bytes";  // invalid UTF-8 survives as U+FFFD
  r.blame = "none";
  r.report_path = "/w/r.json";
  r.logs_path = "/w/r.log";
  r.fingerprint = "sha256:" + std::string(64, 'f');
  store::PromptRow a;
  a.prompt_index = 0;
  a.baseline_tokens = 16;
  a.candidate_tokens = 16;
  a.baseline_e2e_ms = 120.5;
  a.candidate_e2e_ms = 90.25;
  a.improvement = 0.25;
  store::PromptRow b = a;
  b.prompt_index = 1;
  b.candidate_e2e_ms.reset();
  b.candidate_ttft_ms = 3.0;
  b.gates_passed = false;
  b.note = "first-mismatch:mismatch";
  r.prompts = {a, b};
  return r;
}

TEST(RemoteProtocol, JobsAndResultsRoundTrip) {
  const EvaluateRequest req{job(), participant(1, "5Chal"), 3};
  auto back = parse_evaluate_body(evaluate_body(req));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->job.round_id, 12);
  EXPECT_EQ(back->job.block, 3456);
  EXPECT_EQ(back->job.block_hash, req.job.block_hash);
  ASSERT_EQ(back->job.participants.size(), 2u);
  EXPECT_EQ(back->job.participants[0].role, store::Role::leader);
  EXPECT_EQ(back->participant.key, req.participant.key);
  EXPECT_EQ(back->participant.digest, req.participant.digest);
  EXPECT_EQ(back->attempt, 3);

  const store::EvalResult r = result();
  const std::string line = result_record(r, json{{"verdict", "x"}}, std::string("log\xfe"));
  auto rec = parse_record(line);
  ASSERT_TRUE(rec.ok());
  ASSERT_EQ(rec->type, StreamRecord::Type::result);
  auto p = parse_result_payload(rec->body);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->result.prompts, r.prompts);
  EXPECT_EQ(p->result.score, r.score);
  EXPECT_EQ(p->result.reason_code, "ok");
  EXPECT_EQ(p->result.fingerprint, r.fingerprint);
  EXPECT_EQ(p->result.message, "passed: \xEF\xBF\xBD bytes");
  EXPECT_EQ(p->report["verdict"], "x");
  EXPECT_EQ(*p->log, "log\xEF\xBF\xBD");
  auto none = parse_result_payload(json::parse(result_record(r, nullptr, std::nullopt)));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->report.is_null());
  EXPECT_FALSE(none->log.has_value());
}

TEST(RemoteProtocol, HostileEvaluateBodiesNameTheField) {
  json good = json::parse(evaluate_body({job(), participant(1, "5Chal"), 1}));
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
    const char* needle;  // in the message
  };
  const Case cases[] = {
      {"no version", [](json& j) { j.erase("version"); }, "version"},
      {"future version", [](json& j) { j["version"] = 2; }, "protocol version"},
      {"job not object", [](json& j) { j["job"] = 1; }, "job"},
      {"negative round", [](json& j) { j["job"]["round_id"] = -1; }, "round_id"},
      {"round as string", [](json& j) { j["job"]["round_id"] = "1"; }, "round_id"},
      {"huge block", [](json& j) { j["job"]["block"] = 18446744073709551615ull; }, "block"},
      {"long hash", [](json& j) { j["job"]["block_hash"] = std::string(300, 'a'); }, "block_hash"},
      {"participants not array", [](json& j) { j["job"]["participants"] = json::object(); },
       "participants"},
      {"too many participants",
       [](json& j) {
         j["job"]["participants"] = json::array();
         for (int i = 0; i < 65; ++i) j["job"]["participants"].push_back(j["participant"]);
       },
       "too many"},
      {"bad role", [](json& j) { j["participant"]["role"] = "king"; }, "role"},
      {"long image", [](json& j) { j["participant"]["image"] = std::string(600, 'i'); }, "image"},
      {"not in the job", [](json& j) { j["participant"]["hotkey"] = "5Other"; }, "not one of"},
      {"attempt negative", [](json& j) { j["attempt"] = -1; }, "attempt"},
      {"attempt float", [](json& j) { j["attempt"] = 1.5; }, "attempt"},
  };
  for (const auto& c : cases) {
    json j = good;
    c.edit(j);
    auto r = parse_evaluate_body(j.dump());
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.error().code, "bad_request");
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos)
        << c.what << ": " << r.error().message;
  }
  for (const char* raw : {"", "null", "[]", "{", "\"x\"", "{\"job\":"})
    EXPECT_FALSE(parse_evaluate_body(raw).ok()) << raw;
  EXPECT_FALSE(parse_evaluate_body(std::string(kMaxRequestBody + 1, ' ')).ok());
}

TEST(RemoteProtocol, HostileRecordsAreRefused) {
  for (const char* bad : {"", "x", "[]", "{}", "{\"type\":1}", "{\"type\":\"proof\"}",
                          "{\"type\":\"proof\",\"proof\":\"ab\"}"})
    EXPECT_FALSE(parse_record(bad).ok()) << bad;
  auto unknown = parse_record(R"({"type":"from-the-future","x":1})");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->type, StreamRecord::Type::unknown);
  auto progress = parse_record(progress_record(std::string(5000, 'p')));
  ASSERT_TRUE(progress.ok());
  EXPECT_EQ(progress->message.size(), kMaxProgressLine);

  json base = json::parse(result_record(result(), nullptr, std::nullopt));
  const std::vector<std::pair<const char*, std::function<void(json&)>>> edits = {
      {"no result", [](json& j) { j.erase("result"); }},
      {"blame", [](json& j) { j["result"]["blame"] = "miner"; }},
      {"reason code", [](json& j) { j["result"]["reason_code"] = "ok\x1b[31m"; }},
      {"empty reason", [](json& j) { j["result"]["reason_code"] = ""; }},
      {"score string", [](json& j) { j["result"]["score"] = "1"; }},
      {"score null (NaN)", [](json& j) { j["result"]["score"] = nullptr; }},
      {"prompts object", [](json& j) { j["result"]["prompts"] = json::object(); }},
      {"prompt tokens negative", [](json& j) { j["result"]["prompts"][0]["baseline_tokens"] = -1; }},
      {"prompt e2e string", [](json& j) { j["result"]["prompts"][0]["candidate_e2e_ms"] = "1"; }},
      {"report array", [](json& j) { j["report"] = json::array(); }},
      {"log number", [](json& j) { j["log"] = 5; }},
      {"log too long", [](json& j) { j["log"] = std::string(kMaxLogBytes + 1000, 'l'); }},
      {"long message", [](json& j) { j["result"]["message"] = std::string(9000, 'm'); }},
  };
  for (const auto& [what, edit] : edits) {
    json j = base;
    edit(j);
    EXPECT_FALSE(parse_result_payload(j).ok()) << what;
  }
  EXPECT_TRUE(parse_result_payload(base).ok());
}

TEST(RemoteProtocol, LinesAreSplitAcrossReadsAndBounded) {
  std::vector<std::string> got;
  auto collect = [&](std::string_view l) -> Status {
    got.emplace_back(l);
    return {};
  };
  LineSplitter s(10, 100);
  ASSERT_TRUE(s.feed("ab", collect).ok());
  ASSERT_TRUE(s.feed("c\r\n\nde", collect).ok());
  EXPECT_EQ(s.pending(), 2u);
  ASSERT_TRUE(s.feed("f\n", collect).ok());
  EXPECT_EQ(got, (std::vector<std::string>{"abc", "def"}));
  EXPECT_EQ(s.pending(), 0u);

  LineSplitter longline(10, 100);
  EXPECT_EQ(longline.feed("0123456789", collect).ok(), true);
  Status st = longline.feed("x", collect);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "record_too_large");

  LineSplitter total(10, 20);
  ASSERT_TRUE(total.feed("aaaa\nbbbb\n", collect).ok());
  st = total.feed("cccc\ndddd\ne", collect);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "response_too_large");

  LineSplitter stops(10, 100);
  int calls = 0;
  st = stops.feed("a\nb\nc\n", [&](std::string_view) -> Status {
    return ++calls == 2 ? Status(Error{"stop", "x"}) : Status();
  });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(st.error().code, "stop");
}

TEST(RemoteProtocol, LogTailIsBoundedAndMarked) {
  const std::string p = (std::filesystem::temp_directory_path() /
                         ("cacheon_tail_" + std::to_string(::getpid()))).string();
  std::ofstream(p) << std::string(100, 'a') << std::string(50, 'b');
  auto all = read_tail(p, 1000);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 150u);
  auto tail = read_tail(p, 50);
  ASSERT_TRUE(tail);
  EXPECT_NE(tail->find("first 100 bytes"), std::string::npos);
  EXPECT_EQ(tail->substr(tail->size() - 50), std::string(50, 'b'));
  // Hostile bytes never grow the text: invalid UTF-8 and control bytes become '?', valid
  // UTF-8 (a CJK character, an emoji) and newlines stay.
  std::ofstream(p, std::ios::trunc | std::ios::binary)
      << std::string(1000, '\xFF') << "\x01\x7F\xC0\xAF\xED\xA0\x80ok\n\xE4\xB8\xAD\xF0\x9F\x98\x80";
  auto hostile = read_tail(p, 1 << 20);
  ASSERT_TRUE(hostile);
  EXPECT_EQ(*hostile, std::string(1000, '?') + "???????ok\n\xE4\xB8\xAD\xF0\x9F\x98\x80");
  EXPECT_EQ(nlohmann::json(*hostile).dump().size(), hostile->size() + 3);  // quotes, \n
  std::filesystem::remove(p);
  EXPECT_FALSE(read_tail(p));
}

TEST(RemoteProtocol, WorkerUrls) {
  struct Case {
    const char* text;
    const char* host;  // nullptr: refused
    uint16_t port;
  };
  const Case cases[] = {
      {"https://gpu1.example:8443", "gpu1.example", 8443},
      {"https://10.0.0.5:8443/", "10.0.0.5", 8443},
      {"https://host", "host", 443},
      {"https://[::1]:9000", "::1", 9000},
      {"http://host:80", nullptr, 0},
      {"https://host:0", nullptr, 0},
      {"https://host:65536", nullptr, 0},
      {"https://host:99999999999", nullptr, 0},
      {"https://host:80/v1", nullptr, 0},
      {"https://:80", nullptr, 0},
      {"https://ho st:80", nullptr, 0},
      {"https://user@host:80", nullptr, 0},
      {"", nullptr, 0},
  };
  for (const auto& c : cases) {
    auto u = WorkerUrl::parse(c.text);
    if (!c.host) {
      EXPECT_FALSE(u.ok()) << c.text;
      continue;
    }
    ASSERT_TRUE(u.ok()) << c.text << ": " << u.error().message;
    EXPECT_EQ(u->host, c.host);
    EXPECT_EQ(u->port, c.port);
  }
  EXPECT_EQ(WorkerUrl::parse("https://[::1]:9000")->str(), "https://[::1]:9000");
  EXPECT_EQ(error_from_body(error_body("busy", "later"), "x").code, "busy");
  EXPECT_EQ(error_from_body("garbage", "fallback").code, "fallback");
}

}  // namespace
}  // namespace cacheon::remote

// The read API (dashboard/read_api.h) and the HTTP policy (dashboard/server.h respond()) over a
// real SQLite store filled through ArenaStore's own transitions: two rounds (one scored, one
// running), every outcome, log and report files, status.json and live.json. Loopback HTTP and the
// demo's real round are checked by tests/node/dashboard_api.mjs.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "dashboard/server.h"
#include "store/arena_store.h"

namespace cacheon::dashboard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using store::Role;
using store::SubmissionState;

store::SubmissionRow sub(const std::string& hotkey, int64_t block) {
  store::SubmissionRow r;
  r.sub.hotkey = hotkey;
  r.sub.commit_block = block;
  r.sub.image = "ghcr.io/" + hotkey + "/engine:<script>";
  r.sub.digest = "sha256:" + std::string(64, 'a' + static_cast<char>(block % 6));
  r.sub.payment_proof = "0xproof-" + hotkey;
  r.seen_block = block;
  return r;
}

class DashboardApi : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cacheon_dash_api_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "logs" / "round-1");
    fill();
    sources_ = DashboardSources::next_to_store((dir_ / "arena.db").string());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const std::string& rel, const std::string& text) {
    std::ofstream(dir_ / rel, std::ios::binary) << text;
    return (dir_ / rel).string();
  }

  void fill() {
    auto s = store::ArenaStore::open((dir_ / "arena.db").string());
    ASSERT_TRUE(s.ok()) << s.error().message;
    ASSERT_TRUE(s->record_scan({sub("alice", 3), sub("bob", 4), sub("carol", 5), sub("dave", 6),
                                sub("erin", 7)},
                               8));
    for (auto [h, b] : {std::pair{"alice", 3}, {"bob", 4}, {"carol", 5}, {"dave", 6}}) {
      ASSERT_TRUE(s->accept_payment({h, b}));
      ASSERT_TRUE(s->transition({h, b}, {SubmissionState::payment_ok}, SubmissionState::queued));
    }
    ASSERT_TRUE(s->transition({"erin", 7}, {SubmissionState::seen}, SubmissionState::rejected,
                              "payment_too_small", "fee too small"));
    auto r1 = s->plan_round(10, "0xhash1",
                            {{0, {"alice", 3}, Role::challenger, "img-a", "sha256:a"},
                             {1, {"bob", 4}, Role::challenger, "img-b", "sha256:b"},
                             {2, {"carol", 5}, Role::challenger, "img-c", "sha256:c"}});
    ASSERT_TRUE(r1.ok());
    ASSERT_TRUE(s->set_round_state(*r1, store::RoundState::planned, store::RoundState::running));
    store::EvalResult a;
    a.decided = a.passed = true;
    a.score = 0.3;
    a.reason_code = "ok";
    a.blame = "none";
    a.message = "score 0.3000";
    a.logs_path = file("logs/round-1/alice.log", "alice starting\nalice ready\n");
    a.report_path = file("logs/round-1/alice.json", R"({"verdict": {"decided": true, "passed": true}})");
    a.fingerprint = "sha256:" + std::string(64, 'f');
    a.prompts = {{0, 64, 64, 500.0, 350.0, 20.0, 0.3, true, ""},
                 {1, 64, 64, 520.0, std::nullopt, std::nullopt, 0.0, true, "no time"}};
    store::EvalResult b;
    b.decided = true;
    b.reason_code = "correctness_first_mismatch";
    b.blame = "candidate";
    b.message = "prompt 0: token 3 differs";
    b.logs_path = (dir_ / "secret.txt").string();  // outside the logs root: never served
    file("secret.txt", "do not serve");
    b.prompts = {{0, 64, 64, 500.0, 300.0, 10.0, 0.0, false, "first mismatch at token 3"}};
    store::EvalResult c;
    c.reason_code = "harness_error";
    c.blame = "arena";
    c.message = "the harness failed";
    for (auto [key, res] : {std::pair{store::SubmissionKey{"alice", 3}, &a},
                            {store::SubmissionKey{"bob", 4}, &b},
                            {store::SubmissionKey{"carol", 5}, &c}}) {
      ASSERT_TRUE(*s->claim_evaluation(*r1, key));
      ASSERT_TRUE(s->record_evaluation(*r1, key, *res));
    }
    store::StandingsRow st;
    st.block = 10;
    st.leader = store::StandingEntry{{"alice", 3}, 1, 0.3, 10};
    st.detail_json = json{{"round", *r1},
                          {"results", {{{"hotkey", "alice"}, {"uid", 1}},
                                       {{"hotkey", "bob"}, {"uid", 2}},
                                       {{"hotkey", "carol"}, {"uid", -1}}}},
                          {"events", {{{"code", "crowned"}, {"hotkey", "alice"}}}},
                          {"margin", nullptr},
                          {"overtake_threshold", nullptr}}
                         .dump();
    ASSERT_TRUE(s->record_standings(*r1, st, {{"carol", 5}}).ok());
    // Round 2: the leader defends against dave; the leader's run is in progress.
    auto r2 = s->plan_round(20, "0xhash2",
                            {{0, {"alice", 3}, Role::leader, "img-a", "sha256:a"},
                             {1, {"dave", 6}, Role::challenger, "img-d", "sha256:d"}});
    ASSERT_TRUE(r2.ok());
    ASSERT_TRUE(s->set_round_state(*r2, store::RoundState::planned, store::RoundState::running));
    ASSERT_TRUE(*s->claim_evaluation(*r2, {"alice", 3}));
    file("status.json", json{{"validator", "0xvalidator"}, {"netuid", 1}, {"model", "tiny"},
                             {"updated_ms", wall_ms()}, {"error", nullptr}}
                            .dump());
    file("validator.log", "2026-11-22T10:00:00.000Z round 2 planned\n");
  }

  json get(const std::string& target, int want = 200) {
    ReadApi api(sources_);
    Reply r = api.handle(target);
    EXPECT_EQ(r.status, want) << target << ": " << r.body;
    if (r.content_type != "application/json") return json(r.body);
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }

  fs::path dir_;
  DashboardSources sources_;
};

TEST_F(DashboardApi, StatusCountsAndLeader) {
  json s = get("/api/v1/status");
  EXPECT_EQ(s["api_version"], 1);
  EXPECT_EQ(s["validator"]["hotkey"], "0xvalidator");
  EXPECT_EQ(s["leader"]["hotkey"], "alice");
  EXPECT_EQ(s["leader"]["uid"], 1);
  EXPECT_EQ(s["leader"]["image"], "ghcr.io/alice/engine:<script>");
  EXPECT_EQ(s["leader"]["evaluation_id"], get("/api/v1/evaluations?hotkey=alice&round=2")
                                              ["items"][0]["id"]);
  EXPECT_TRUE(s["runner_up"].is_null());
  const json& c = s["counts"];
  EXPECT_EQ(c["submissions"], 5);
  EXPECT_EQ(c["rejected"], 1);
  EXPECT_EQ(c["evaluations"], 3);   // done ones
  EXPECT_EQ(c["disqualified"], 1);  // bob
  EXPECT_EQ(c["queued"], 2);        // carol (arena retry) and dave
  EXPECT_EQ(c["active"], 3);        // + alice running
  EXPECT_EQ(c["rounds"], 2);
  EXPECT_EQ(s["last_scanned_block"], 8);
  EXPECT_TRUE(s["last_weights_block"].is_null());
  EXPECT_TRUE(s["last_evaluation_ms"].is_number_integer());
  EXPECT_EQ(s["live"]["available"], false);
}

TEST_F(DashboardApi, EvaluationListFiltersSortsAndPages) {
  json all = get("/api/v1/evaluations");
  EXPECT_EQ(all["total"], 5);  // three done in round 1, alice running and dave pending in round 2
  json by_score = get("/api/v1/evaluations?sort=score&order=desc&state=done");
  ASSERT_EQ(by_score["items"].size(), 3u);
  EXPECT_EQ(by_score["items"][0]["hotkey"], "alice");
  EXPECT_EQ(by_score["items"][0]["uid"], 1);
  for (const auto& e : by_score["items"])  // uids as round 1's standings recorded them
    EXPECT_EQ(e["uid"], e["hotkey"] == "bob" ? json(2) : e["hotkey"] == "alice" ? json(1) : json())
        << e;
  json asc = get("/api/v1/evaluations?sort=hotkey&order=asc");
  std::vector<std::string> names;
  for (const auto& e : asc["items"]) names.push_back(e["hotkey"]);
  EXPECT_EQ(names, (std::vector<std::string>{"alice", "alice", "bob", "carol", "dave"}));
  EXPECT_EQ(get("/api/v1/evaluations?outcome=failed")["items"][0]["hotkey"], "bob");
  EXPECT_EQ(get("/api/v1/evaluations?outcome=undecided")["items"][0]["reason_code"],
            "harness_error");
  EXPECT_EQ(get("/api/v1/evaluations?outcome=passed")["total"], 1);
  EXPECT_EQ(get("/api/v1/evaluations?reason=correctness_first_mismatch")["total"], 1);
  EXPECT_EQ(get("/api/v1/evaluations?state=running")["items"][0]["passed"], nullptr);
  EXPECT_EQ(get("/api/v1/evaluations?hotkey=nobody")["total"], 0);
  json page = get("/api/v1/evaluations?sort=hotkey&order=asc&limit=2&offset=2");
  EXPECT_EQ(page["total"], 5);
  ASSERT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["items"][0]["hotkey"], "bob");
  // A %-encoded hotkey and '+' decode.
  EXPECT_EQ(get("/api/v1/evaluations?hotkey=%61lice")["total"], 2);
  for (const char* bad : {"/api/v1/evaluations?limit=0", "/api/v1/evaluations?limit=501",
                          "/api/v1/evaluations?limit=x", "/api/v1/evaluations?sort=drop",
                          "/api/v1/evaluations?order=up", "/api/v1/evaluations?state=x",
                          "/api/v1/evaluations?outcome=x", "/api/v1/evaluations?hotkey=%zz",
                          "/api/v1/evaluations?offset=-1"})
    EXPECT_EQ(get(bad, 400)["error"]["code"].get<std::string>().rfind("bad_", 0), 0u) << bad;
}

TEST_F(DashboardApi, EvaluationDetailLogsAndReports) {
  json list = get("/api/v1/evaluations?round=1&sort=round&order=asc");
  const int64_t alice = list["items"][0]["hotkey"] == "alice" ? list["items"][0]["id"].get<int64_t>()
                                                              : -1;
  ASSERT_GE(alice, 0);
  json d = get("/api/v1/evaluations/" + std::to_string(alice));
  EXPECT_EQ(d["score"], 0.3);
  EXPECT_NE(d["reason_text"].get<std::string>().find("30.0% faster"), std::string::npos);
  ASSERT_EQ(d["prompts"].size(), 2u);
  EXPECT_EQ(d["prompts"][0]["candidate_ttft_ms"], 20.0);
  EXPECT_TRUE(d["prompts"][1]["candidate_e2e_ms"].is_null());
  EXPECT_EQ(d["prompts"][1]["note"], "no time");
  EXPECT_TRUE(d["duration_ms"].is_number_integer());
  const std::string base = "/api/v1/evaluations/" + std::to_string(alice);
  EXPECT_EQ(d["links"]["logs"], base + "/logs");
  EXPECT_EQ(d["links"]["report_html"], base + "/report.html");
  EXPECT_EQ(get(base + "/logs").get<std::string>(), "alice starting\nalice ready\n");
  ReadApi api(sources_);
  Reply tail = api.handle(base + "/logs?tail_bytes=15");
  EXPECT_EQ(tail.body, "alice ready\n");
  EXPECT_EQ(tail.headers.at(0), (std::pair<std::string, std::string>{"X-Log-Truncated", "true"}));
  EXPECT_EQ(get(base + "/report")["verdict"]["passed"], true);
  Reply html = api.handle(base + "/report.html");
  EXPECT_EQ(html.status, 200);
  EXPECT_EQ(html.content_type, "text/html; charset=utf-8");
  EXPECT_NE(html.body.find("PASSED"), std::string::npos);
  EXPECT_EQ(api.handle(base + "/report.html").body, html.body);  // served again (cached)
  // A rewritten report is rendered afresh (the cache keys on size and mtime).
  file("logs/round-1/alice.json", R"({"verdict": {"decided": true, "passed": false}})");
  EXPECT_NE(api.handle(base + "/report.html").body.find("FAILED"), std::string::npos);
  file("logs/round-1/alice.json", "{not json");
  EXPECT_EQ(api.handle(base + "/report.html").status, 500);

  json bob = get("/api/v1/evaluations?hotkey=bob")["items"][0];
  json bd = get("/api/v1/evaluations/" + std::to_string(bob["id"].get<int64_t>()));
  EXPECT_EQ(bd["blame"], "candidate");
  EXPECT_NE(bd["reason_text"].get<std::string>().find("greedy"), std::string::npos);
  EXPECT_TRUE(bd["links"]["logs"].is_null());  // its log lies outside the logs root
  EXPECT_EQ(get("/api/v1/evaluations/" + std::to_string(bob["id"].get<int64_t>()) + "/logs", 403)
                ["error"]["code"],
            "forbidden");
  EXPECT_EQ(get("/api/v1/evaluations/99999", 404)["error"]["code"], "not_found");
  get("/api/v1/evaluations/abc", 404);
  get(base + "/nothing", 404);
}

TEST_F(DashboardApi, RoundsHistoryLiveAndValidatorLog) {
  json rounds = get("/api/v1/rounds");
  EXPECT_EQ(rounds["total"], 2);
  EXPECT_EQ(rounds["items"][0]["id"], 2);  // newest first
  EXPECT_EQ(rounds["items"][0]["pending"], 2);
  EXPECT_EQ(rounds["items"][1]["passed"], 1);
  EXPECT_EQ(rounds["items"][1]["failed"], 1);
  EXPECT_EQ(rounds["items"][1]["undecided"], 1);
  EXPECT_TRUE(rounds["items"][1]["created_ms"].is_number_integer());
  json r1 = get("/api/v1/rounds/1");
  EXPECT_EQ(r1["evaluations"].size(), 3u);
  EXPECT_EQ(r1["standings"]["leader"]["hotkey"], "alice");
  EXPECT_EQ(r1["standings"]["events"][0]["code"], "crowned");
  EXPECT_TRUE(get("/api/v1/rounds/2")["standings"].is_null());
  EXPECT_TRUE(r1["links"]["baseline_log"].is_null());  // none written yet
  file("logs/round-1/baseline.log", "baseline up\n");
  EXPECT_EQ(get("/api/v1/rounds/1")["links"]["baseline_log"], "/api/v1/rounds/1/baseline-log");
  EXPECT_EQ(get("/api/v1/rounds/1/baseline-log").get<std::string>(), "baseline up\n");
  get("/api/v1/rounds/2/baseline-log", 404);
  get("/api/v1/rounds/x/baseline-log", 404);
  get("/api/v1/rounds/7", 404);
  json hist = get("/api/v1/leader/history");
  ASSERT_EQ(hist["items"].size(), 1u);
  EXPECT_TRUE(hist["items"][0]["overtake_threshold"].is_null());
  {  // a later entry recorded with an incumbent: its margin and threshold come through
    auto s = store::ArenaStore::open((dir_ / "arena.db").string());
    ASSERT_TRUE(s.ok());
    store::StandingsRow st;
    st.block = 30;
    st.leader = store::StandingEntry{{"alice", 3}, 1, 0.3, 10};
    st.detail_json = R"({"refresh": true, "margin": 0.01, "overtake_threshold": 0.31,
                         "events": [{"code": "defended"}]})";
    ASSERT_TRUE(s->append_standings(st).ok());
  }
  hist = get("/api/v1/leader/history");
  ASSERT_EQ(hist["items"].size(), 2u);
  EXPECT_EQ(hist["items"][0]["margin"], 0.01);  // newest first
  EXPECT_EQ(hist["items"][0]["overtake_threshold"], 0.31);
  EXPECT_TRUE(hist["items"][0]["round"].is_null());
  EXPECT_TRUE(hist["items"][0]["recorded_ms"].is_number_integer());
  EXPECT_EQ(get("/api/v1/leader/history?limit=1&offset=1")["items"][0]["block"], 10);
  EXPECT_EQ(get("/api/v1/leader")["leader"]["score"], 0.3);

  // live.json: active and fresh, then active but old (stale), then absent.
  auto live = [&](int64_t updated) {
    std::ofstream(dir_ / "live.json")
        << json{{"active", true}, {"round", 2}, {"updated_ms", updated}}.dump();
  };
  live(wall_ms());
  json l = get("/api/v1/live");
  EXPECT_EQ(l["active"], true);
  EXPECT_EQ(l["stale"], false);
  live(wall_ms() - 2 * ReadApi::kStaleAfterMs);
  EXPECT_EQ(get("/api/v1/live")["stale"], true);
  EXPECT_EQ(get("/api/v1/status")["live"]["stale"], true);
  std::ofstream(dir_ / "live.json") << "{not json";
  EXPECT_EQ(get("/api/v1/live")["available"], false);

  EXPECT_EQ(get("/api/v1/logs/validator").get<std::string>(),
            "2026-11-22T10:00:00.000Z round 2 planned\n");
  get("/api/v1/nope", 404);
  get("/api/v2/status", 404);
}

TEST_F(DashboardApi, SubmissionsIncludeTheNeverEvaluated) {
  json all = get("/api/v1/submissions");
  EXPECT_EQ(all["total"], 5);
  EXPECT_EQ(all["items"][0]["hotkey"], "erin");  // newest commit first
  EXPECT_EQ(all["items"][0]["reason"], "payment_too_small");
  EXPECT_TRUE(all["items"][0]["latest_evaluation_id"].is_null());
  json alice = get("/api/v1/submissions?hotkey=alice");
  ASSERT_EQ(alice["items"].size(), 1u);
  EXPECT_EQ(alice["items"][0]["latest_evaluation_id"],
            get("/api/v1/evaluations?hotkey=alice&round=2")["items"][0]["id"]);
  EXPECT_EQ(get("/api/v1/submissions?state=queued")["total"], 2);
  EXPECT_EQ(get("/api/v1/submissions?state=queued&limit=1&offset=1")["items"].size(), 1u);
  get("/api/v1/submissions?state=bogus", 400);
}

TEST_F(DashboardApi, MetricsMatchTheStore) {
  ReadApi api(sources_);
  Reply m = api.handle("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  for (const char* line :
       {"cacheon_rounds{state=\"running\"} 1\n", "cacheon_rounds{state=\"scored\"} 1\n",
        "cacheon_evaluations{state=\"pending\"} 1\n", "cacheon_evaluations{state=\"running\"} 1\n",
        "cacheon_evaluation_results{outcome=\"failed\"} 1\n",
        "cacheon_evaluation_failures{reason=\"correctness_first_mismatch\"} 1\n",
        "cacheon_queue_length 2\n", "cacheon_evaluation_duration_seconds_count 3\n",
        "cacheon_leader_score 0.3\n", "cacheon_last_scanned_block 8\n"})
    EXPECT_NE(m.body.find(line), std::string::npos) << line << m.body;
}

TEST_F(DashboardApi, UnreadableStoreIs503AndLiveStillAnswers) {
  DashboardSources missing = sources_;
  missing.store_path = (dir_ / "none.db").string();
  ReadApi api(missing);
  EXPECT_EQ(api.handle("/api/v1/status").status, 503);
  EXPECT_EQ(api.handle("/api/v1/live").status, 200);
  EXPECT_FALSE(fs::exists(dir_ / "none.db"));  // a reader never creates the store
}

TEST_F(DashboardApi, HttpPolicy) {
  DashboardOptions o;
  o.rate_per_s = 0.5;
  o.burst = 3;
  DashboardServer server(o, sources_);
  HttpRequest req;
  req.method = "GET";
  req.target = "/api/v1/status";
  req.remote_address = "10.0.0.1";
  Reply first = server.respond(req);
  ASSERT_EQ(first.status, 200);
  auto header = [](const Reply& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return std::string();
  };
  EXPECT_EQ(header(first, "Cache-Control"), "no-cache");
  const std::string etag = header(first, "ETag");
  ASSERT_FALSE(etag.empty());
  req.target = "/api/v1/rounds";
  Reply rounds = server.respond(req);
  req.headers = {{"If-None-Match", header(rounds, "ETag")}};
  Reply again = server.respond(req);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  req.headers.clear();
  req.target = "/api/v1/status";
  Reply limited = server.respond(req);  // the fourth request: past the burst of 3
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(header(limited, "Retry-After"), "2");
  req.remote_address = "10.0.0.2";  // another client is not limited
  EXPECT_EQ(server.respond(req).status, 200);
  req.method = "POST";
  Reply post = server.respond(req);
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(header(post, "Allow"), "GET");
  req.method = "GET";
  req.remote_address = "10.0.0.3";
  req.target = "/";
  Reply index = server.respond(req);
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_NE(header(index, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  req.target = "/vendor/uPlot.iife.min.js";
  EXPECT_EQ(server.respond(req).content_type, "text/javascript; charset=utf-8");
  req.target = "/../arena.db";
  EXPECT_EQ(server.respond(req).status, 404);
  req.target = "/metrics";
  req.remote_address = "10.0.0.4";
  Reply m = server.respond(req);
  EXPECT_NE(m.body.find("cacheon_dashboard_responses_total{code=\"429\"} 1"), std::string::npos)
      << m.body;
}

}  // namespace
}  // namespace cacheon::dashboard

// Verdict: reason catalogue, and every hand-computed case file in tests/data/judge (the format is
// in tests/data/judge/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "harness/verdict.h"

namespace cacheon::harness {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

int64_t ms_to_ns(double ms) {
  return int64_t(std::llround(ms * 1e6));
}

TokenRecord make_token(const json& j) {
  TokenRecord t;
  if (j.is_string()) {
    t.token = j.get<std::string>();
    t.top.push_back({t.token, 0.0});
    return t;
  }
  t.token = j.at("t").get<std::string>();
  t.logprob = j.value("lp", 0.0);
  if (j.contains("bytes")) t.bytes = j.at("bytes").get<std::string>();
  if (j.contains("top")) {
    for (const json& e : j.at("top"))
      t.top.push_back({e.at(0).get<std::string>(), e.at(1).get<double>()});
  } else {
    t.top.push_back({t.token, t.logprob});
  }
  return t;
}

RequestRecord make_record(const json& j) {
  RequestRecord r;
  r.prompt_index = j.value("prompt", 0);
  r.warmup = j.value("warmup", false);
  const double sent = j.value("sent_ms", 0.0);
  r.sent_ns = ms_to_ns(sent);
  r.scheduled_ns = ms_to_ns(j.value("scheduled_ms", sent));
  std::vector<double> times;
  if (j.contains("n")) {
    const int n = j.at("n").get<int>();
    const double first = j.value("first_ms", 100.0);
    const double step = j.value("step_ms", 10.0);
    for (int i = 0; i < n; ++i) {
      r.tokens.push_back(make_token(json("t" + std::to_string(i))));
      times.push_back(first + step * i);
    }
  } else if (j.contains("tokens")) {
    for (const json& t : j.at("tokens")) r.tokens.push_back(make_token(t));
    for (size_t i = 0; i < r.tokens.size(); ++i) {
      times.push_back(j.contains("times_ms") ? j.at("times_ms").at(i).get<double>()
                                             : 100.0 + 10.0 * double(i));
    }
  }
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    r.tokens[i].arrival_ns = ms_to_ns(times[i]);
    if (i == 0 || times[i] != times[i - 1]) {
      ChunkRecord c;
      c.arrival_ns = r.tokens[i].arrival_ns;
      c.parsed_ns = c.arrival_ns + 1000;
      r.chunks.push_back(c);
    }
    r.chunks.back().tokens += 1;
    r.chunks.back().content_bytes += int32_t(r.tokens[i].token.size());
    r.tokens[i].chunk_index = int32_t(r.chunks.size() - 1);
    r.content += r.tokens[i].token;
  }
  if (!r.tokens.empty()) {
    r.first_token_ns = r.tokens.front().arrival_ns;
    r.first_byte_ns = r.first_token_ns;
  }
  r.done_ns = j.contains("done_ms") ? ms_to_ns(j.at("done_ms").get<double>())
                                    : (times.empty() ? r.sent_ns : ms_to_ns(times.back()));
  r.finish_reason = j.value("finish_reason", "stop");
  r.max_tokens_requested = j.value("max_tokens", 512);
  if (j.contains("usage")) r.usage_completion_tokens = j.at("usage").get<int64_t>();
  r.saw_role = true;
  r.saw_done = j.value("saw_done", true);
  r.events_after_done = j.value("events_after_done", 0);
  r.tokens_after_finish = j.value("tokens_after_finish", 0);
  r.content_events_without_logprobs = j.value("content_events_without_logprobs", 0);
  r.error_code = j.value("error", "");
  if (!r.error_code.empty()) r.error_message = "injected by the case file";
  return r;
}

std::vector<RequestRecord> make_run(const json& j) {
  std::vector<RequestRecord> out;
  for (const json& r : j) out.push_back(make_record(r));
  return out;
}

class FakeScorer : public TrustedScorer {
 public:
  explicit FakeScorer(json spec) : spec_(std::move(spec)) {}
  Result<std::vector<double>> token_logprobs(const std::vector<GateMessage>&,
                                             std::string_view) override {
    if (spec_.contains("error"))
      return Error{spec_.at("error").get<std::string>(), "fake scorer failure"};
    return spec_.at("logprobs").get<std::vector<double>>();
  }

 private:
  json spec_;
};

void expect_near_or_null(const json& want, const std::optional<double>& got,
                         const std::string& what) {
  if (want.is_null()) {
    EXPECT_FALSE(got.has_value()) << what;
  } else {
    ASSERT_TRUE(got.has_value()) << what;
    EXPECT_NEAR(*got, want.get<double>(), 1e-9) << what;
  }
}

void expect_details(const json& want, const json& got) {
  for (const auto& [key, value] : want.items()) {
    ASSERT_TRUE(got.contains(key)) << "details." << key << " missing in " << got.dump();
    if (value.is_number() && got.at(key).is_number()) {
      EXPECT_NEAR(got.at(key).get<double>(), value.get<double>(), 1e-9) << "details." << key;
    } else {
      EXPECT_EQ(got.at(key), value) << "details." << key;
    }
  }
}

void check_gate(const GateResult& g, const json& e) {
  EXPECT_EQ(to_string(g.status), e.at("status").get<std::string>()) << g.message;
  EXPECT_EQ(g.reason_code, e.at("reason").get<std::string>()) << g.message;
  if (e.contains("details")) expect_details(e.at("details"), g.details);
  if (e.contains("issue_codes")) {
    std::vector<std::string> codes;
    for (const json& i : g.details.at("issues")) codes.push_back(i.at("code").get<std::string>());
    EXPECT_EQ(codes, e.at("issue_codes").get<std::vector<std::string>>());
  }
  EXPECT_NO_THROW((void)to_json(g).dump());
}

ScoringPolicy policy_of(const json& c) {
  const Result<ScoringPolicy> p = parse_policy(c.value("policy", "e2e@1"));
  EXPECT_TRUE(p.ok());
  return p.ok() ? *p : ScoringPolicy{};
}

void run_score_case(const json& c) {
  std::vector<std::vector<RequestRecord>> owned;
  for (const json& b : c.at("baselines")) owned.push_back(make_run(b));
  const std::vector<RequestRecord> cand = make_run(c.at("candidate"));
  const std::vector<Run> baselines(owned.begin(), owned.end());
  const ScoreResult r = score_run(policy_of(c), baselines, cand);
  const json& e = c.at("expect");
  EXPECT_NEAR(r.score, e.at("score").get<double>(), 1e-9);
  EXPECT_TRUE(std::isfinite(r.score));
  if (e.contains("ttft_term")) {
    EXPECT_NEAR(r.ttft_term, e.at("ttft_term").get<double>(), 1e-9);
  }
  if (e.contains("tps_term")) {
    EXPECT_NEAR(r.tps_term, e.at("tps_term").get<double>(), 1e-9);
  }
  if (e.contains("baseline_ttft_ms"))
    expect_near_or_null(e.at("baseline_ttft_ms"), r.baseline_ttft_ms, "b_ttft");
  if (e.contains("candidate_ttft_ms"))
    expect_near_or_null(e.at("candidate_ttft_ms"), r.candidate_ttft_ms, "m_ttft");
  if (e.contains("baseline_tps"))
    expect_near_or_null(e.at("baseline_tps"), r.baseline_tps, "b_tps");
  if (e.contains("candidate_tps"))
    expect_near_or_null(e.at("candidate_tps"), r.candidate_tps, "m_tps");
  if (e.contains("prompt_count")) {
    EXPECT_EQ(int(r.prompts.size()), e.at("prompt_count").get<int>());
  }
  for (const json& want : e.value("prompts", json::array())) {
    const int idx = want.at("prompt").get<int>();
    const auto it = std::find_if(r.prompts.begin(), r.prompts.end(),
                                 [&](const PromptScore& p) { return p.prompt_index == idx; });
    ASSERT_NE(it, r.prompts.end()) << "prompt " << idx;
    SCOPED_TRACE("prompt " + std::to_string(idx));
    if (want.contains("k")) {
      EXPECT_EQ(it->k, want.at("k").get<int64_t>());
    }
    if (want.contains("k_min")) {
      EXPECT_EQ(it->k_min, want.at("k_min").get<int64_t>());
    }
    if (want.contains("improvement")) {
      EXPECT_NEAR(it->improvement, want.at("improvement").get<double>(), 1e-9);
    }
    if (want.contains("earned")) {
      EXPECT_EQ(it->earned, want.at("earned").get<bool>());
    }
    if (want.contains("note")) {
      EXPECT_EQ(it->note, want.at("note").get<std::string>());
    }
    if (want.contains("baseline_e2e_ms"))
      expect_near_or_null(want.at("baseline_e2e_ms"), it->baseline_e2e_ms, "b_e2e");
    if (want.contains("candidate_e2e_ms"))
      expect_near_or_null(want.at("candidate_e2e_ms"), it->candidate_e2e_ms, "m_e2e");
  }
  EXPECT_NO_THROW((void)to_json(r).dump());
}

void run_verdict_case(const json& c) {
  std::vector<std::vector<RequestRecord>> owned;
  for (const json& b : c.at("baselines")) owned.push_back(make_run(b));
  const std::vector<RequestRecord> cand = make_run(c.at("candidate"));
  EvalInputs in;
  in.baselines.assign(owned.begin(), owned.end());
  in.candidate = cand;
  in.policy = policy_of(c);
  if (c.contains("gates")) {
    const Result<GateConfig> g = parse_gate_list(c.at("gates").get<std::string>());
    ASSERT_TRUE(g.ok()) << g.error().message;
    in.gates = *g;
  }
  std::optional<FakeScorer> scorer;
  if (c.contains("scorer")) {
    scorer.emplace(c.at("scorer"));
    in.scorer = &*scorer;
  }
  for (int p = 0; p < 16; ++p) {
    in.prompt_messages.push_back(
        std::vector<GateMessage>{GateMessage{"user", "prompt " + std::to_string(p)}});
  }
  if (c.contains("startup_error")) {
    in.startup_error = Error{c.at("startup_error").at("code").get<std::string>(),
                             c.at("startup_error").at("message").get<std::string>()};
  }
  const Verdict v = decide(in);
  const json& e = c.at("expect");
  SCOPED_TRACE("verdict: " + v.message);
  if (e.contains("reason")) {
    EXPECT_EQ(v.reason_code, e.at("reason").get<std::string>());
  }
  if (e.contains("blame")) {
    EXPECT_EQ(to_string(v.blame), e.at("blame").get<std::string>());
  }
  if (e.contains("decided")) {
    EXPECT_EQ(v.decided, e.at("decided").get<bool>());
  }
  if (e.contains("passed")) {
    EXPECT_EQ(v.passed, e.at("passed").get<bool>());
  }
  if (e.contains("score")) {
    EXPECT_NEAR(v.score, e.at("score").get<double>(), 1e-9);
  }
  if (e.contains("confidence")) {
    EXPECT_EQ(to_string(v.confidence), e.at("confidence").get<std::string>());
  }
  if (e.contains("noise_floor")) {
    EXPECT_NEAR(v.noise.noise_floor, e.at("noise_floor").get<double>(), 1e-9);
  }
  if (e.contains("noise_median")) {
    EXPECT_NEAR(v.noise.median_spread, e.at("noise_median").get<double>(), 1e-9);
  }
  if (e.contains("noise_max")) {
    EXPECT_NEAR(v.noise.max_spread, e.at("noise_max").get<double>(), 1e-9);
  }
  if (e.contains("failed_prompt")) {
    EXPECT_EQ(v.failed_prompt, e.at("failed_prompt").get<int>());
  }
  if (e.contains("request_error_code")) {
    EXPECT_EQ(v.request_error_code, e.at("request_error_code").get<std::string>());
  }
  if (e.contains("policy")) {
    EXPECT_EQ(v.policy, e.at("policy").get<std::string>());
  }
  if (e.contains("raw_score_positive")) {
    ASSERT_TRUE(v.scoring.has_value());
    EXPECT_EQ(v.scoring->score > 0, e.at("raw_score_positive").get<bool>());
  }
  // Every verdict serializes, and an arena-side failure never blames the candidate.
  const json out = to_json(v);
  EXPECT_NO_THROW((void)out.dump());
  EXPECT_EQ(out.at("policy"), in.policy.name());
  if (!v.decided) {
    EXPECT_EQ(v.blame, Blame::arena);
  }
  if (v.blame == Blame::arena) {
    EXPECT_FALSE(v.decided);
  }
}

void run_case(const json& c) {
  const std::string check = c.at("check").get<std::string>();
  if (check == "score") {
    run_score_case(c);
  } else if (check == "first_mismatch") {
    check_gate(check_first_mismatch(make_record(c.at("baseline")), make_record(c.at("candidate"))),
               c.at("expect"));
  } else if (check == "structural") {
    check_gate(check_structural(make_record(c.at("candidate"))), c.at("expect"));
  } else if (check == "verdict") {
    run_verdict_case(c);
  } else {
    ADD_FAILURE() << "unknown check " << check;
  }
}

TEST(VerdictCaseFiles, AllJudgeCases) {
  const fs::path dir = fs::path(CACHEON_TEST_DATA) / "judge";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 40u) << "case files missing under " << dir;
  std::set<std::string> checks;
  for (const fs::path& f : files) {
    SCOPED_TRACE(f.filename().string());
    std::ifstream in(f);
    const json doc = json::parse(in);
    if (doc.contains("cases")) {
      for (const json& c : doc.at("cases")) {
        SCOPED_TRACE(c.value("name", "?"));
        checks.insert(c.at("check").get<std::string>());
        run_case(c);
      }
    } else {
      checks.insert(doc.at("check").get<std::string>());
      run_case(doc);
    }
  }
  EXPECT_EQ(checks, (std::set<std::string>{"first_mismatch", "score", "structural", "verdict"}));
}

TEST(VerdictCatalogue, CodesUniqueAndComplete) {
  std::set<std::string_view> seen;
  for (const ReasonInfo& r : reason_catalogue()) {
    EXPECT_TRUE(seen.insert(r.code).second) << "duplicate " << r.code;
    EXPECT_NE(r.message_template.find("{detail}"), std::string_view::npos) << r.code;
  }
  const std::vector<std::pair<std::string_view, Blame>> required = {
      {"ok", Blame::none},
      {"correctness_first_mismatch", Blame::candidate},
      {"correctness_teacher_forcing", Blame::candidate},
      {"prompt_error", Blame::candidate},
      {"too_few_tokens", Blame::candidate},
      {"logprob_count_mismatch", Blame::candidate},
      {"usage_mismatch", Blame::candidate},
      {"finish_reason_missing", Blame::candidate},
      {"too_many_tokens", Blame::candidate},
      {"data_after_done", Blame::candidate},
      {"tokens_after_finish", Blame::candidate},
      {"missing_done", Blame::candidate},
      {"startup_timeout", Blame::candidate},
      {"candidate_unreachable", Blame::candidate},
      {"baseline_failed", Blame::arena},
      {"baseline_unstable", Blame::arena},
      {"scorer_unavailable", Blame::arena},
      {"harness_error", Blame::arena}};
  for (const auto& [code, blame] : required) {
    const ReasonInfo* r = find_reason(code);
    ASSERT_NE(r, nullptr) << code;
    EXPECT_EQ(r->blame, blame) << code;
    EXPECT_EQ(r->kind, ReasonKind::verdict) << code;
  }
  for (std::string_view code :
       {"connect_failed", "timeout_connect", "timeout_first_byte", "timeout_read", "timeout_total",
        "http_error", "http_malformed", "header_too_large", "body_too_large", "disconnected",
        "stream_malformed_json", "stream_invalid_utf8", "stream_error_object", "sse_line_too_long",
        "sse_event_too_large", "sse_truncated"}) {
    EXPECT_TRUE(is_request_error(code)) << code;
  }
  EXPECT_FALSE(is_request_error("ok"));
  EXPECT_EQ(find_reason("no_such_code"), nullptr);
}

TEST(VerdictCatalogue, RenderFillsPlaceholders) {
  EXPECT_EQ(render_reason("prompt_error", 3, "timeout_read: stalled"),
            "prompt 3: the request failed: timeout_read: stalled");
  EXPECT_EQ(render_reason("harness_error", -1, "x"), "arena: harness error: x");
  EXPECT_EQ(render_reason("weird_code", 1, "d"), "weird_code: d");
  // Invalid UTF-8 in a detail never reaches a JSON report raw.
  EXPECT_EQ(render_reason("harness_error", -1, "\xff"), "arena: harness error: \xEF\xBF\xBD");
}

TEST(VerdictDecide, NoBaselineIsHarnessError) {
  EvalInputs in;
  const Verdict v = decide(in);
  EXPECT_EQ(v.reason_code, "harness_error");
  EXPECT_FALSE(v.decided);
  EXPECT_EQ(v.blame, Blame::arena);
}

TEST(VerdictDecide, MissingCandidateRecordIsHarnessError) {
  const std::vector<RequestRecord> b =
      make_run(json::parse(R"([{"prompt": 0, "n": 5}, {"prompt": 1, "n": 5}])"));
  const std::vector<RequestRecord> c = make_run(json::parse(R"([{"prompt": 0, "n": 5}])"));
  EvalInputs in;
  in.baselines = {b};
  in.candidate = c;
  const Verdict v = decide(in);
  EXPECT_EQ(v.reason_code, "harness_error");
  EXPECT_EQ(v.failed_prompt, 1);
  EXPECT_FALSE(v.decided);
}

TEST(VerdictDecide, JsonGroupsGatesPerPrompt) {
  const std::vector<RequestRecord> b =
      make_run(json::parse(R"([{"prompt": 0, "n": 5}, {"prompt": 1, "n": 5}])"));
  const std::vector<RequestRecord> c = make_run(json::parse(
      R"([{"prompt": 0, "n": 5, "first_ms": 50}, {"prompt": 1, "n": 5, "first_ms": 50}])"));
  EvalInputs in;
  in.baselines = {b, b};
  in.candidate = c;
  const Verdict v = decide(in);
  ASSERT_TRUE(v.passed) << v.message;
  const json j = to_json(v);
  ASSERT_EQ(j.at("prompts").size(), 2u);
  EXPECT_EQ(j.at("prompts")[0].at("gates").size(), 2u);  // structural + first-mismatch
  EXPECT_EQ(j.at("prompts")[1].at("score").at("prompt_index"), 1);
  EXPECT_EQ(j.at("scoring").at("policy"), "e2e@1");
  EXPECT_FALSE(j.at("scoring").contains("prompts"));
  // Identical baselines: zero spread, so the floor is the 1% minimum and a clear gain beats it.
  EXPECT_TRUE(v.noise.measured);
  EXPECT_EQ(v.noise.noise_floor, kMinNoiseFloor);
  EXPECT_GT(v.score, kMinNoiseFloor);
  EXPECT_EQ(v.confidence, Confidence::outside_noise);
}

TEST(VerdictNoise, TtftTpsSpreadInScoreUnits) {
  // B: TTFT 100, 100 tok/s; B': TTFT 110 (spread 10/105), decode 10 x 11 ms -> 90.909 tok/s
  // (spread 9.0909/95.4545). Per prompt: 0.5 * both.
  const std::vector<RequestRecord> b =
      make_run(json::parse(R"([{"n": 11, "first_ms": 100, "step_ms": 10}])"));
  const std::vector<RequestRecord> b2 =
      make_run(json::parse(R"([{"n": 11, "first_ms": 110, "step_ms": 11}])"));
  const NoiseEstimate n = estimate_noise(ScoringPolicy{PolicyKind::ttft_tps, 1}, b, b2);
  ASSERT_TRUE(n.measured);
  const double tps2 = 10.0 / 0.11;
  const double spread = 0.5 * (10.0 / 105.0) + 0.5 * ((100.0 - tps2) / ((100.0 + tps2) / 2));
  EXPECT_NEAR(n.noise_floor, kNoiseFactor * spread, 1e-9);
  EXPECT_EQ(n.metric, "ttft_ms+decode_tps");
}

}  // namespace
}  // namespace cacheon::harness

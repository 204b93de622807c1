// The whole evaluation (run_eval: health, prompts, trimming, B/C runs, gates, scoring, verdict)
// over loopback against the calibrated source, with every scripted misbehaviour. Each must end
// in its reason code, never crash, never hang.
#include <gtest/gtest.h>

#include "core/clock.h"
#include "harness/eval.h"
#include "testserver/test_server.h"

using namespace cacheon;
using namespace cacheon::harness;
using cacheon::testserver::Script;
using cacheon::testserver::TestServer;

namespace {

Script base_script() {
  Script s;
  s.ttft_ms = 20;
  s.itl_ms = 4;
  s.tokens = 16;
  s.seed = 7;
  return s;
}

struct Pair {
  std::unique_ptr<TestServer> baseline, candidate;
};

Pair start_pair(const Script& b, const Script& c) {
  Pair p;
  p.baseline = std::make_unique<TestServer>(b, HttpServerOptions{});
  p.candidate = std::make_unique<TestServer>(c, HttpServerOptions{});
  EXPECT_TRUE(p.baseline->start().ok());
  EXPECT_TRUE(p.candidate->start().ok());
  return p;
}

Url url_of(const TestServer& s) {
  return *Url::parse("http://127.0.0.1:" + std::to_string(s.port()));
}

EvalConfig small_config(const Pair& p) {
  EvalConfig cfg;
  cfg.baseline = url_of(*p.baseline);
  cfg.candidate = url_of(*p.candidate);
  cfg.prompts.block_hash = "0xfeedface";
  cfg.prompts.spec.warmup = 1;
  cfg.prompts.spec.scored = 3;
  cfg.prompts.spec.input_tokens = 300;
  cfg.prompts.spec.output_tokens = 16;
  cfg.sequence = {'B', 'C', 'B'};
  cfg.startup_timeout = std::chrono::milliseconds(1500);
  cfg.run.timeouts.connect = std::chrono::milliseconds(1000);
  cfg.run.timeouts.first_byte = std::chrono::milliseconds(2000);
  cfg.run.timeouts.read_idle = std::chrono::milliseconds(800);
  cfg.run.timeouts.total = std::chrono::milliseconds(3000);
  return cfg;
}

EvalOutcome eval_pair(const Script& b, const Script& c) {
  Pair p = start_pair(b, c);
  Progress quiet(false, true);
  return run_eval(small_config(p), quiet);
}

struct FaultCase {
  std::string fault;
  std::string reason;         // expected verdict reason code
  std::string request_error;  // expected RequestRecord error (prompt_error cases), or ""
};

class EvalFault : public ::testing::TestWithParam<FaultCase> {};

}  // namespace

TEST(EvalIntegration, IdenticalServersPassWithNearZeroScore) {
  auto out = eval_pair(base_script(), base_script());
  EXPECT_TRUE(out.verdict.decided);
  EXPECT_TRUE(out.verdict.passed) << out.verdict.message;
  EXPECT_EQ(out.verdict.reason_code, "ok");
  EXPECT_LT(out.verdict.score, 0.2);
  EXPECT_TRUE(out.verdict.noise.measured);
  EXPECT_NE(out.verdict.confidence, Confidence::outside_noise) << out.summary;
  EXPECT_EQ(out.exit_code, 0);
  // The report is complete: three runs, every request with per-token times.
  ASSERT_EQ(out.report["runs"].size(), 3u);
  const auto& req = out.report["runs"][1]["requests"][1];
  EXPECT_EQ(req["tokens"].size(), 16u);
  EXPECT_TRUE(req["tokens"][3]["arrival_ms"].is_number());
}

TEST(EvalIntegration, FasterCandidateWinsOutsideNoise) {
  Script fast = base_script();
  fast.ttft_ms = 5;
  fast.itl_ms = 1;
  auto out = eval_pair(base_script(), fast);
  EXPECT_TRUE(out.verdict.passed) << out.verdict.message;
  // Scripted e2e to the 16th token: 20 + 15*4 = 80 ms vs 5 + 15 = 20 ms -> improvement 0.75.
  EXPECT_NEAR(out.verdict.score, 0.75, 0.08) << out.summary;
  EXPECT_EQ(out.verdict.confidence, Confidence::outside_noise);
}

TEST(EvalIntegration, DifferentModelFailsFirstMismatch) {
  Script other = base_script();
  other.seed = 8;
  auto out = eval_pair(base_script(), other);
  EXPECT_TRUE(out.verdict.decided);
  EXPECT_FALSE(out.verdict.passed);
  EXPECT_EQ(out.verdict.reason_code, "correctness_first_mismatch") << out.verdict.message;
  EXPECT_EQ(out.verdict.score, 0);
  EXPECT_EQ(out.exit_code, 1);
}

TEST(EvalIntegration, NearTieDivergencePassesLargeGapFails) {
  Script near = base_script();
  near.diverge_at = 5;
  near.diverge_gap = 0.3;
  auto ok = eval_pair(base_script(), near);
  EXPECT_TRUE(ok.verdict.passed) << ok.verdict.message;

  Script far = near;
  far.diverge_gap = 0.8;
  auto bad = eval_pair(base_script(), far);
  EXPECT_EQ(bad.verdict.reason_code, "correctness_first_mismatch");
}

TEST(EvalIntegration, BufferThenFlushGainsNothing) {
  // Same generation speed, but every token held back and sent in one burst at the end: the
  // e2e policy sees the k-th token at the same time, so holding tokens back earns nothing.
  Script flush = base_script();
  flush.fault = "buffer-flush";
  flush.fault_at_fraction = 0;
  auto out = eval_pair(base_script(), flush);
  EXPECT_TRUE(out.verdict.passed) << out.verdict.message;
  EXPECT_LT(out.verdict.score, 0.02) << out.summary;
  // The burst is plain in the candidate's run: every event arrives at (nearly) the same time.
  const auto& chunks = out.report["runs"][1]["requests"][1]["chunks"];
  ASSERT_EQ(chunks.size(), 16u);
  EXPECT_LT(chunks.back()["arrival_ms"].get<double>() - chunks.front()["arrival_ms"].get<double>(),
            2.0);
}

TEST(EvalIntegration, UnhealthyCandidateIsStartupTimeout) {
  Script never = base_script();
  never.fault = "never-healthy";
  auto out = eval_pair(base_script(), never);
  EXPECT_EQ(out.verdict.reason_code, "startup_timeout");
  EXPECT_EQ(out.verdict.blame, Blame::candidate);
}

TEST(EvalIntegration, UnreachableCandidateAndBrokenBaselineAreNamed) {
  Pair p = start_pair(base_script(), base_script());
  EvalConfig cfg = small_config(p);
  cfg.candidate = *Url::parse("http://127.0.0.1:1");
  Progress quiet(false, true);
  auto out = run_eval(cfg, quiet);
  EXPECT_EQ(out.verdict.reason_code, "candidate_unreachable");

  Script broken = base_script();
  broken.fault = "http-500";
  auto arena = eval_pair(broken, base_script());
  EXPECT_EQ(arena.verdict.reason_code, "baseline_failed") << arena.verdict.message;
  EXPECT_EQ(arena.verdict.blame, Blame::arena);
  EXPECT_FALSE(arena.verdict.decided);
  EXPECT_EQ(arena.exit_code, 3);
}

TEST(EvalIntegration, TeacherForcingWithoutWorkingScorerIsNeverAPass) {
  Pair p = start_pair(base_script(), base_script());
  EvalConfig cfg = small_config(p);
  cfg.gates = *parse_gate_list("structural,first-mismatch,teacher-forcing");
  Progress quiet(false, true);
  auto none = run_eval(cfg, quiet);  // no scorer configured
  EXPECT_EQ(none.verdict.reason_code, "scorer_unavailable");
  EXPECT_FALSE(none.verdict.decided);
  EXPECT_EQ(none.verdict.blame, Blame::arena);
  EXPECT_EQ(none.exit_code, 3);

  cfg.scorer = *Url::parse("http://127.0.0.1:1");  // configured but unreachable
  auto dead = run_eval(cfg, quiet);
  EXPECT_EQ(dead.verdict.reason_code, "scorer_unavailable");
  EXPECT_FALSE(dead.verdict.passed);

  cfg.scorer = url_of(*p.baseline);  // reachable, but not a scorer (404)
  auto wrong = run_eval(cfg, quiet);
  EXPECT_EQ(wrong.verdict.reason_code, "scorer_unavailable");
}

TEST_P(EvalFault, EndsInItsReasonCode) {
  const FaultCase& c = GetParam();
  Script bad = base_script();
  bad.fault = c.fault;
  int64_t t0 = mono_ns();
  auto out = eval_pair(base_script(), bad);
  EXPECT_LT(mono_ns() - t0, 30'000'000'000) << "evaluation took too long";
  EXPECT_TRUE(out.verdict.decided) << out.verdict.message;
  EXPECT_FALSE(out.verdict.passed);
  EXPECT_EQ(out.verdict.blame, Blame::candidate);
  EXPECT_EQ(out.verdict.reason_code, c.reason) << out.verdict.message;
  if (!c.request_error.empty()) {
    EXPECT_EQ(out.verdict.request_error_code, c.request_error) << out.verdict.message;
  }
  EXPECT_EQ(out.verdict.score, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, EvalFault,
    ::testing::Values(FaultCase{"stall", "prompt_error", "timeout_read"},
                      FaultCase{"disconnect", "prompt_error", "disconnected"},
                      FaultCase{"malformed-json", "prompt_error", "stream_malformed_json"},
                      FaultCase{"invalid-utf8", "prompt_error", "stream_invalid_utf8"},
                      FaultCase{"error-event", "prompt_error", "stream_error_object"},
                      FaultCase{"http-500", "prompt_error", "http_error"},
                      FaultCase{"endless", "prompt_error", "stream_overrun"},
                      FaultCase{"huge-line", "prompt_error", "sse_line_too_long"},
                      FaultCase{"slow-headers", "prompt_error", "timeout_total"},
                      FaultCase{"logprob-count", "logprob_count_mismatch", ""},
                      FaultCase{"usage-lie", "usage_mismatch", ""},
                      FaultCase{"after-finish", "tokens_after_finish", ""},
                      FaultCase{"after-done", "data_after_done", ""},
                      FaultCase{"no-done", "missing_done", ""}),
    [](const auto& info) {
      std::string n = info.param.fault;
      for (auto& ch : n)
        if (ch == '-') ch = '_';
      return n;
    });

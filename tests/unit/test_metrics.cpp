// Metrics on hand-built records: every number below is worked out in the comments.
#include <gtest/gtest.h>

#include "harness/metrics.h"

namespace cacheon::harness {
namespace {

constexpr int64_t kMs = 1'000'000;

// scheduled 0, sent 2 ms, first byte 10 ms; tokens: t0 @20 (event 0), t1 t2 @30 (event 1, one
// SSE event carrying two tokens), t3 @45 (event 2); done 50 ms. Each event parsed 0.1 ms later.
RequestRecord hand_record() {
  RequestRecord r;
  r.prompt_index = 3;
  r.scheduled_ns = 0;
  r.sent_ns = 2 * kMs;
  r.first_byte_ns = 10 * kMs;
  r.first_token_ns = 20 * kMs;
  r.done_ns = 50 * kMs;
  const int64_t at[] = {20, 30, 30, 45};
  const int32_t chunk[] = {0, 1, 1, 2};
  for (int i = 0; i < 4; ++i) {
    TokenRecord t;
    t.token = "t" + std::to_string(i);
    t.arrival_ns = at[i] * kMs;
    t.chunk_index = chunk[i];
    r.tokens.push_back(t);
  }
  for (int64_t a : {20, 30, 45}) {
    ChunkRecord c;
    c.arrival_ns = a * kMs;
    c.parsed_ns = a * kMs + kMs / 10;
    c.tokens = a == 30 ? 2 : 1;
    c.content_bytes = 2 * c.tokens;
    r.chunks.push_back(c);
  }
  r.finish_reason = "stop";
  r.saw_done = true;
  return r;
}

TEST(MetricsRequest, HandBuiltRecord) {
  const RequestMetrics m = request_metrics(hand_record());
  EXPECT_EQ(m.prompt_index, 3);
  EXPECT_TRUE(m.ok);
  EXPECT_DOUBLE_EQ(*m.ttft_ms, 18.0);                 // 20 - 2
  EXPECT_DOUBLE_EQ(*m.ttft_from_scheduled_ms, 20.0);  // 20 - 0
  EXPECT_DOUBLE_EQ(*m.first_byte_ms, 8.0);            // 10 - 2
  EXPECT_DOUBLE_EQ(*m.e2e_ms, 48.0);                  // 50 - 2
  EXPECT_DOUBLE_EQ(*m.e2e_from_scheduled_ms, 50.0);
  EXPECT_DOUBLE_EQ(*m.dispatch_lateness_ms, 2.0);
  EXPECT_EQ(m.tokens, 4);
  EXPECT_FALSE(m.tokens_from_usage);
  EXPECT_DOUBLE_EQ(*m.decode_ms, 25.0);          // 45 - 20
  EXPECT_DOUBLE_EQ(*m.tpot_ms, 25.0 / 3.0);      // over tokens - 1
  EXPECT_DOUBLE_EQ(*m.output_tps, 4.0 / 0.048);  // tokens / e2e
  EXPECT_DOUBLE_EQ(*m.decode_tps, 3.0 / 0.025);  // (tokens - 1) / decode
  // Per-token ITL keeps the 0 between the two tokens of one event.
  EXPECT_EQ(m.itl_ms, (std::vector<double>{10.0, 0.0, 15.0}));
  EXPECT_EQ(m.chunk_gap_ms, (std::vector<double>{10.0, 15.0}));
  ASSERT_EQ(m.parse_delay_ms.size(), 3u);
  EXPECT_DOUBLE_EQ(m.parse_delay_ms[0], 0.1);
}

TEST(MetricsRequest, TimeToKthToken) {
  const RequestRecord r = hand_record();
  EXPECT_DOUBLE_EQ(*time_to_kth_token_ms(r, 1), 18.0);
  EXPECT_DOUBLE_EQ(*time_to_kth_token_ms(r, 2), 28.0);
  EXPECT_DOUBLE_EQ(*time_to_kth_token_ms(r, 3), 28.0);
  EXPECT_DOUBLE_EQ(*time_to_kth_token_ms(r, 4), 43.0);
  EXPECT_FALSE(time_to_kth_token_ms(r, 0).has_value());
  EXPECT_FALSE(time_to_kth_token_ms(r, 5).has_value());
}

TEST(MetricsRequest, TokensFromUsageWhenNoLogprobs) {
  // No token records: 7 tokens from usage over events at 20, 30, 60 ms; the first and last
  // content events stand in for the first and last token.
  RequestRecord r;
  r.sent_ns = 0;
  r.first_token_ns = 20 * kMs;
  r.done_ns = 70 * kMs;
  r.usage_completion_tokens = 7;
  for (int64_t a : {20, 30, 60}) {
    ChunkRecord c;
    c.arrival_ns = a * kMs;
    c.content_bytes = 5;
    r.chunks.push_back(c);
  }
  const RequestMetrics m = request_metrics(r);
  EXPECT_TRUE(m.tokens_from_usage);
  EXPECT_EQ(m.tokens, 7);
  EXPECT_DOUBLE_EQ(*m.decode_ms, 40.0);
  EXPECT_DOUBLE_EQ(*m.tpot_ms, 40.0 / 6.0);
  EXPECT_DOUBLE_EQ(*m.output_tps, 7.0 / 0.07);
  EXPECT_TRUE(m.itl_ms.empty());  // per-token times are unknown
  EXPECT_EQ(m.chunk_gap_ms, (std::vector<double>{10.0, 30.0}));
  EXPECT_FALSE(time_to_kth_token_ms(r, 7).has_value());
  EXPECT_EQ(token_count(r), 7);
}

TEST(MetricsRequest, MissingTimesAreNulloptNotNaN) {
  RequestRecord r;  // nothing happened
  r.error_code = "connect_failed";
  const RequestMetrics m = request_metrics(r);
  EXPECT_FALSE(m.ok);
  EXPECT_FALSE(m.ttft_ms.has_value());
  EXPECT_FALSE(m.e2e_ms.has_value());
  EXPECT_FALSE(m.tpot_ms.has_value());
  EXPECT_FALSE(m.output_tps.has_value());
  EXPECT_EQ(m.tokens, 0);
  const nlohmann::json j = to_json(m);
  EXPECT_TRUE(j.at("ttft_ms").is_null());
  EXPECT_NO_THROW((void)j.dump());

  // One token: no TPOT or decode TPS (needs two), but output TPS exists.
  RequestRecord one = hand_record();
  one.tokens.resize(1);
  const RequestMetrics m1 = request_metrics(one);
  EXPECT_FALSE(m1.tpot_ms.has_value());
  EXPECT_FALSE(m1.decode_tps.has_value());
  EXPECT_DOUBLE_EQ(*m1.output_tps, 1.0 / 0.048);

  // All tokens in one event: decode time 0, TPOT 0, decode TPS undefined (not inf).
  RequestRecord burst = hand_record();
  for (TokenRecord& t : burst.tokens) t.arrival_ns = 20 * kMs;
  const RequestMetrics mb = request_metrics(burst);
  EXPECT_DOUBLE_EQ(*mb.tpot_ms, 0.0);
  EXPECT_FALSE(mb.decode_tps.has_value());
}

// Five sequential requests of 10 tokens, 100 ms each, from t = 0 to 500 ms (shifted by 1 s:
// monotonic times are never negative), plus a warm-up before and a failure with no timestamps.
std::vector<RequestRecord> sequential_run() {
  std::vector<RequestRecord> run;
  for (int i = -1; i < 5; ++i) {
    RequestRecord r;
    r.prompt_index = i + 1;
    r.warmup = i < 0;
    const int64_t start = (1000 + int64_t(i) * 100) * kMs;
    r.scheduled_ns = start;
    r.sent_ns = start + kMs;  // 1 ms late
    r.first_token_ns = start + 20 * kMs;
    for (int k = 0; k < 10; ++k) {
      TokenRecord t;
      t.arrival_ns = start + (20 + 8 * k) * kMs;  // last at +92
      r.tokens.push_back(t);
      ChunkRecord c;
      c.arrival_ns = t.arrival_ns;
      c.parsed_ns = t.arrival_ns + kMs / 100;
      c.tokens = 1;
      r.chunks.push_back(c);
    }
    r.done_ns = start + 100 * kMs;
    run.push_back(r);
  }
  RequestRecord failed;
  failed.prompt_index = 9;
  failed.error_code = "timeout_read";
  run.push_back(failed);
  return run;
}

TEST(MetricsRun, CountsThroughputAndSteadyState) {
  const std::vector<RequestRecord> run = sequential_run();
  const RunMetrics m = run_metrics(run);
  EXPECT_EQ(m.selected, 6);  // warm-up left out
  EXPECT_EQ(m.completed, 5);
  EXPECT_EQ(m.failed, 1);
  EXPECT_EQ(m.failed_by_code.at("timeout_read"), 1);
  EXPECT_EQ(m.all.requests, 5);
  EXPECT_EQ(m.all.output_tokens, 50);
  // Wall: first sent (1 ms) to last done (500 ms) = 499 ms.
  EXPECT_DOUBLE_EQ(m.all.wall_ms, 499.0);
  EXPECT_DOUBLE_EQ(m.all.output_tokens_per_s, 50.0 / 0.499);
  EXPECT_DOUBLE_EQ(m.all.requests_per_s, 5.0 / 0.499);
  EXPECT_DOUBLE_EQ(m.all.ttft_ms.p50, 19.0);
  EXPECT_EQ(m.all.itl_ms.count, 45);  // 9 gaps x 5 requests, pooled
  EXPECT_DOUBLE_EQ(m.all.itl_ms.max, 8.0);
  EXPECT_DOUBLE_EQ(m.all.tpot_ms.p50, 8.0);
  EXPECT_DOUBLE_EQ(m.all.e2e_ms.p50, 99.0);
  EXPECT_DOUBLE_EQ(m.overhead.dispatch_lateness_ms.p50, 1.0);
  EXPECT_NEAR(m.overhead.parse_delay_ms.max, 0.01, 1e-12);
  EXPECT_FALSE(m.overhead.client_cpu_s.has_value());

  // Span [1, 500] ms, 10% trim = 49.9 ms: window [50.9, 450.1]: requests sent at 101, 201, 301.
  EXPECT_NEAR(m.steady.window_start_ms, 49.9, 1e-6);
  EXPECT_NEAR(m.steady.window_end_ms, 449.1, 1e-6);
  EXPECT_EQ(m.steady.summaries.requests, 3);
  EXPECT_EQ(m.steady.summaries.output_tokens, 30);

  EXPECT_NO_THROW((void)to_json(m).dump());
  EXPECT_EQ(to_json(m).at("steady_state").at("summaries").at("requests"), 3);
}

TEST(MetricsRun, IncludeWarmupAndZeroTrim) {
  const std::vector<RequestRecord> run = sequential_run();
  RunMetricsOptions opt;
  opt.include_warmup = true;
  opt.steady_trim_fraction = 0.0;
  const RunMetrics m = run_metrics(run, opt);
  EXPECT_EQ(m.completed, 6);
  EXPECT_EQ(m.steady.summaries.requests, 6);  // no trim: every completed request
}

TEST(MetricsRun, EmptySelection) {
  const RunMetrics m = run_metrics(std::vector<RequestRecord>{});
  EXPECT_EQ(m.selected, 0);
  EXPECT_EQ(m.all.wall_ms, 0.0);
  EXPECT_EQ(m.all.output_tokens_per_s, 0.0);
  EXPECT_TRUE(to_json(m).at("all").at("ttft_ms").at("p50").is_null());
}

}  // namespace
}  // namespace cacheon::harness

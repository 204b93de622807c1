// Harness accuracy against server-side truth: the calibrated source records when it handed each
// token to the kernel (same CLOCK_MONOTONIC); the harness's arrival stamps must follow closely.
// Bounds here are loose (shared 2-core CI machines); bench/harness_accuracy measures the real
// error distribution and BENCHMARKS.md records it.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness/metrics.h"
#include "harness/runner.h"
#include "harness/stats.h"
#include "testserver/test_server.h"

using namespace cacheon;
using namespace cacheon::harness;
using cacheon::testserver::Script;
using cacheon::testserver::TestServer;

namespace {

std::vector<RequestSpec> specs(int n, int max_tokens) {
  std::vector<RequestSpec> out;
  for (int i = 0; i < n; ++i)
    out.push_back({i, false, {{"user", "calibration prompt " + std::to_string(i)}}, max_tokens});
  return out;
}

// Per-token error (harness arrival - server write) in microseconds, matching each record to the
// truth whose request arrival is nearest after the record's send time.
std::vector<double> token_errors_us(const RunResult& run, std::vector<TestServer::Truth> truths) {
  std::vector<double> errs;
  for (const auto& r : run.requests) {
    auto best = truths.end();
    for (auto it = truths.begin(); it != truths.end(); ++it)
      if (it->request_read_ns >= r.sent_ns &&
          (best == truths.end() || it->request_read_ns < best->request_read_ns))
        best = it;
    if (best == truths.end()) continue;
    for (size_t i = 0; i < r.tokens.size() && i < best->token_write_ns.size(); ++i)
      errs.push_back((r.tokens[i].arrival_ns - best->token_write_ns[i]) / 1e3);
    truths.erase(best);
  }
  return errs;
}

}  // namespace

TEST(Calibration, SequentialArrivalsTrackServerWrites) {
  Script s;
  s.ttft_ms = 30;
  s.itl_ms = 5;
  s.tokens = 20;
  TestServer server(s, HttpServerOptions{});
  ASSERT_TRUE(server.start().ok());
  Url url = *Url::parse("http://127.0.0.1:" + std::to_string(server.port()));
  RunOptions opt;
  opt.model = s.model;
  RunResult run = run_workload(url, specs(4, 20), Workload{}, opt);
  for (const auto& r : run.requests) ASSERT_TRUE(r.ok()) << r.error_code << r.error_message;

  auto errs = token_errors_us(run, server.truths());
  ASSERT_EQ(errs.size(), 80u);
  EXPECT_GE(*std::min_element(errs.begin(), errs.end()), 0.0) << "arrival before the write?";
  EXPECT_LT(median(errs), 1000.0);
  EXPECT_LT(percentile(errs, 99), 5000.0);

  std::vector<double> ttft;
  for (const auto& r : run.requests) ttft.push_back(*request_metrics(r).ttft_ms);
  EXPECT_NEAR(median(ttft), 30.0, 3.0);
  for (const auto& r : run.requests) {
    auto m = request_metrics(r);
    ASSERT_TRUE(m.tpot_ms.has_value());
    EXPECT_NEAR(*m.tpot_ms, 5.0, 1.0);
    EXPECT_EQ(m.itl_ms.size(), 19u);
  }
}

TEST(Calibration, ChunkedEventsShareArrivalTimes) {
  Script s;
  s.ttft_ms = 10;
  s.itl_ms = 3;
  s.tokens = 12;
  s.tokens_per_chunk = 4;
  TestServer server(s, HttpServerOptions{});
  ASSERT_TRUE(server.start().ok());
  Url url = *Url::parse("http://127.0.0.1:" + std::to_string(server.port()));
  RunOptions opt;
  RunResult run = run_workload(url, specs(1, 12), Workload{}, opt);
  const auto& r = run.requests[0];
  ASSERT_TRUE(r.ok()) << r.error_message;
  ASSERT_EQ(r.tokens.size(), 12u);
  ASSERT_EQ(r.chunks.size(), 3u);
  auto m = request_metrics(r);
  // Per-token ITL keeps the zeros inside an event; per-chunk gaps are the event spacing (12 ms).
  int zeros = static_cast<int>(std::count(m.itl_ms.begin(), m.itl_ms.end(), 0.0));
  EXPECT_EQ(zeros, 9);
  ASSERT_EQ(m.chunk_gap_ms.size(), 2u);
  EXPECT_NEAR(m.chunk_gap_ms[0], 12.0, 2.0);
}

TEST(Calibration, ConcurrentAndRateWorkloads) {
  Script s;
  s.ttft_ms = 20;
  s.itl_ms = 2;
  s.tokens = 10;
  TestServer server(s, HttpServerOptions{});
  ASSERT_TRUE(server.start().ok());
  Url url = *Url::parse("http://127.0.0.1:" + std::to_string(server.port()));
  RunOptions opt;

  auto conc = run_workload(url, specs(32, 10), *Workload::parse("concurrency:8"), opt);
  auto cm = run_metrics(conc.requests);
  EXPECT_EQ(cm.completed, 32);
  // 32 requests, 8 at a time, ~38 ms each: about 4 waves.
  EXPECT_LT(cm.all.wall_ms, 4 * 38.0 * 2.5);
  EXPECT_GT(cm.all.wall_ms, 4 * 38.0 * 0.9);

  server.clear_truths();
  auto rate = run_workload(url, specs(20, 10), *Workload::parse("rate:200:3"), opt);
  auto rm = run_metrics(rate.requests);
  EXPECT_EQ(rm.completed, 20);
  // Open loop: sends follow the precomputed schedule, so dispatch lateness stays small.
  EXPECT_LT(rm.overhead.dispatch_lateness_ms.p50, 2.0);
  auto sched = poisson_schedule(200, 20, 3);
  for (size_t i = 1; i < rate.requests.size(); ++i)
    EXPECT_EQ(rate.requests[i].scheduled_ns - rate.requests[0].scheduled_ns, sched[i] - sched[0]);
}

TEST(Workload, ParsesSpecsAndRejectsBadOnes) {
  EXPECT_EQ(Workload::parse("sequential")->kind, Workload::Kind::sequential);
  EXPECT_EQ(Workload::parse("concurrency:64")->concurrency, 64);
  auto r = Workload::parse("rate:2.5:9");
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->rate_per_s, 2.5);
  EXPECT_EQ(r->seed, 9u);
  for (const char* bad : {"", "concurrency:0", "concurrency:x", "rate:-1", "rate:0", "rate:nan",
                          "rate:1:x", "burst:3", "concurrency:99999999"})
    EXPECT_FALSE(Workload::parse(bad).ok()) << bad;
  // Fuzz find (fuzz/corpus/config/regress_rate_*): a tiny rate overflowed the int64 offsets.
  auto tiny = Workload::parse("rate:0x1p-1074");
  ASSERT_TRUE(tiny.ok());
  auto far = poisson_schedule(tiny->rate_per_s, 3, 1);
  EXPECT_TRUE(std::is_sorted(far.begin(), far.end()));
  EXPECT_GE(far.front(), 0);
  // Same seed, same schedule; different seed, different; mean gap near 1/rate.
  EXPECT_EQ(poisson_schedule(10, 100, 1), poisson_schedule(10, 100, 1));
  EXPECT_NE(poisson_schedule(10, 100, 1), poisson_schedule(10, 100, 2));
  auto s = poisson_schedule(100, 10001, 5);
  EXPECT_NEAR(s.back() / 1e9 / 10000, 0.01, 0.001);
}

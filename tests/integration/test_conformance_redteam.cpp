// Red team: the calibrated source with each scripted fault must fail the check that owns that
// part of the contract, with its code; the well-behaved source fails only `stop` (it ignores
// stop strings by design, see testserver/test_server.h), which shows that check can fail too.
#include <gtest/gtest.h>

#include "conformance/conformance.h"
#include "testserver/test_server.h"

namespace cacheon::conformance {
namespace {

using testserver::Script;
using testserver::TestServer;

ConformanceReport check_with(const std::string& fault, double fault_at = 0.5) {
  Script s;
  s.model = "tiny";
  s.ttft_ms = 1;
  s.itl_ms = 1;
  s.tokens = 64;
  s.fault = fault;
  s.fault_at_fraction = fault_at;
  TestServer server(s, HttpServerOptions{});
  EXPECT_TRUE(server.start().ok());
  ConformanceOptions co;
  co.server = *Url::parse("http://127.0.0.1:" + std::to_string(server.port()));
  co.model = "tiny";
  co.startup_timeout = std::chrono::milliseconds(500);
  co.limits.timeouts.read_idle = std::chrono::milliseconds(500);  // stall: fail fast
  co.limits.timeouts.first_byte = std::chrono::milliseconds(1000);
  co.limits.timeouts.total = std::chrono::milliseconds(2000);
  return run_conformance(co);
}

TEST(ConformanceRedTeam, WellBehavedSourceFailsOnlyStop) {
  ConformanceReport r = check_with("none");
  for (const auto& c : r.results) {
    if (c.id == "stop") {
      EXPECT_EQ(c.code, "stop_ignored") << render_table(r);
    } else {
      EXPECT_TRUE(c.passed()) << render_table(r);
    }
  }
}

TEST(ConformanceRedTeam, EachFaultFailsItsCheck) {
  struct Case {
    const char* fault;
    const char* id;
    const char* code;
  };
  const Case cases[] = {
      {"malformed-json", "stream.chunks", "chunk_not_json"},
      {"invalid-utf8", "stream.chunks", "chunk_invalid_utf8"},
      {"error-event", "stream.chunks", "chunk_error_event"},
      {"logprob-count", "stream.logprobs", "logprobs_missing"},
      {"usage-lie", "stream.usage", "usage_mismatch"},
      {"after-finish", "stream.finish_reason", "content_after_finish"},
      {"after-done", "stream.done", "stream_after_done"},
      {"no-done", "stream.done", "stream_no_done"},
      {"endless", "stream.transport", "stream_overrun"},
      {"huge-line", "stream.transport", "stream_sse_invalid"},
      {"disconnect", "stream.transport", "stream_disconnected"},
      {"stall", "stream.transport", "stream_timeout"},
      {"http-500", "stream.http", "stream_status"},
      {"wrong-top1", "stream.greedy", "greedy_not_top1"},
      {"never-healthy", "health", "health_status"},
  };
  for (const auto& c : cases) {
    ConformanceReport r = check_with(c.fault);
    const CheckResult* res = r.find(c.id);
    ASSERT_NE(res, nullptr) << c.fault;
    EXPECT_EQ(res->code, c.code) << c.fault << "\n" << render_table(r);
    EXPECT_FALSE(res->fix.empty()) << c.fault;
    EXPECT_FALSE(r.passed()) << c.fault;
  }
}

TEST(ConformanceRedTeam, UnreachableServerFailsHealthAndSkipsTheRest) {
  ConformanceOptions co;
  co.server = *Url::parse("http://127.0.0.1:1");
  co.model = "tiny";
  co.startup_timeout = std::chrono::milliseconds(300);
  ConformanceReport r = run_conformance(co);
  ASSERT_EQ(r.results.size(), check_catalog().size());
  EXPECT_EQ(r.results[0].code, "health_unreachable");
  EXPECT_EQ(r.count(CheckStatus::skip), int(r.results.size()) - 1);
}

}  // namespace
}  // namespace cacheon::conformance

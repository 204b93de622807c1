// The dashboard's small parts: rate limiter, bounded file reads under a root, UTF-8 repair,
// listen addresses, the Prometheus text, plain-words reasons for every harness reason code.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dashboard/files.h"
#include "dashboard/metrics.h"
#include "dashboard/rate_limiter.h"
#include "dashboard/reason_text.h"
#include "dashboard/server.h"
#include "harness/verdict.h"

namespace cacheon::dashboard {
namespace {

namespace fs = std::filesystem;

TEST(DashboardRateLimiter, BurstThenRefillPerClient) {
  RateLimiter rl(2.0, 3.0);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.allow("a", 1000)) << i;
  double retry = 0;
  EXPECT_FALSE(rl.allow("a", 1000, &retry));
  EXPECT_NEAR(retry, 0.5, 1e-9);  // one token back at 2/s
  EXPECT_TRUE(rl.allow("b", 1000));  // another client has its own bucket
  EXPECT_FALSE(rl.allow("a", 1400));
  EXPECT_TRUE(rl.allow("a", 1500));
  EXPECT_FALSE(rl.allow("a", 1500));
  EXPECT_TRUE(rl.allow("a", 100'000));  // refilled (capped at the burst)
  EXPECT_TRUE(rl.allow("a", 100'000));
  EXPECT_TRUE(rl.allow("a", 100'000));
  EXPECT_FALSE(rl.allow("a", 100'000));
  EXPECT_FALSE(rl.allow("a", 50'000));  // a clock going back grants nothing
}

TEST(DashboardRateLimiter, TableStaysBounded) {
  RateLimiter rl(1.0, 1.0, 100);
  for (int i = 0; i < 10'000; ++i) rl.allow("client-" + std::to_string(i), 1000);
  EXPECT_LE(rl.tracked(), 100u);
}

class DashboardFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cacheon_dash_files_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "root");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  fs::path dir_;
};

TEST_F(DashboardFiles, TailStartsAtALineAndSaysItWasCut) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "line " + std::to_string(i) + "\n";
  auto p = write(dir_ / "root" / "a.log", text);
  auto whole = read_tail(p, (dir_ / "root").string(), 1 << 20);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->text, text);
  EXPECT_FALSE(whole->truncated);
  auto tail = read_tail(p, (dir_ / "root").string(), 20);
  ASSERT_TRUE(tail.ok());
  EXPECT_TRUE(tail->truncated);
  EXPECT_EQ(tail->text, "line 98\nline 99\n");
}

TEST_F(DashboardFiles, NothingOutsideTheRootIsServed) {
  auto outside = write(dir_ / "secret.txt", "secret");
  const std::string root = (dir_ / "root").string();
  EXPECT_EQ(read_tail(outside, root, 100).error().code, "forbidden");
  EXPECT_EQ(read_tail(root + "/../secret.txt", root, 100).error().code, "forbidden");
  fs::create_symlink(outside, dir_ / "root" / "link.log");
  EXPECT_EQ(read_tail((dir_ / "root" / "link.log").string(), root, 100).error().code,
            "forbidden");
  EXPECT_EQ(read_whole((dir_ / "root" / "link.log").string(), root, 100).error().code,
            "forbidden");
  EXPECT_EQ(read_tail(root + "/missing.log", root, 100).error().code, "not_found");
  EXPECT_EQ(read_tail("", root, 100).error().code, "not_found");
  EXPECT_EQ(read_tail(root, root, 100).error().code, "not_found");  // a directory
  EXPECT_FALSE(servable(outside, root));
  auto inside = write(dir_ / "root" / "ok.json", "{}");
  EXPECT_TRUE(servable(inside, root));
  EXPECT_EQ(read_whole(inside, root, 1).error().code, "too_large");
  EXPECT_EQ(*read_whole(inside, root, 2), "{}");
}

TEST(DashboardUtf8, InvalidBytesAreReplaced) {
  const std::string r = "\xEF\xBF\xBD";
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain", "plain"},
      {"caf\xC3\xA9", "caf\xC3\xA9"},
      {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},
      {"a\xFFz", "a" + r + "z"},
      {"\xC3", r},                        // cut in the middle
      {"\xC0\xAF", r + r},                // overlong '/'
      {"\xED\xA0\x80", r + r + r},        // a surrogate
      {"\xF4\x90\x80\x80", r + r + r + r},  // past U+10FFFF
  };
  for (const auto& c : cases) EXPECT_EQ(sanitize_utf8(c.in), c.out) << c.in;
}

TEST(DashboardListen, Parses) {
  DashboardOptions o;
  ASSERT_TRUE(parse_listen("127.0.0.1:8080", o));
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 8080);
  ASSERT_TRUE(parse_listen("[::1]:0", o));
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 0);
  for (const char* bad : {"", "8080", ":8080", "host:", "host:65536", "host:-1", "host:80x"})
    EXPECT_EQ(parse_listen(bad, o).error().code, "bad_listen") << bad;
}

TEST(DashboardMetrics, PrometheusText) {
  MetricsInput in;
  in.counts.rounds = {{"done", 2}};
  in.counts.failures = {{"weird\"code\\\n", 1}};
  in.counts.submissions = {{"queued", 3}};
  in.counts.recent_durations_s = {4, 1, 3, 2};
  in.last_scanned_block = 42;
  const std::string t = prometheus_text(in);
  EXPECT_NE(t.find("cacheon_rounds{state=\"done\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("cacheon_rounds{state=\"running\"} 0\n"), std::string::npos);
  EXPECT_NE(t.find("cacheon_evaluation_failures{reason=\"weird\\\"code\\\\\\n\"} 1\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("cacheon_queue_length 3\n"), std::string::npos);
  EXPECT_NE(t.find("cacheon_evaluation_duration_seconds{quantile=\"0.5\"} 2\n"),
            std::string::npos);
  EXPECT_NE(t.find("cacheon_evaluation_duration_seconds{quantile=\"0.99\"} 4\n"),
            std::string::npos);
  EXPECT_NE(t.find("cacheon_evaluation_duration_seconds_sum 10\n"), std::string::npos);
  EXPECT_NE(t.find("cacheon_evaluation_duration_seconds_count 4\n"), std::string::npos);
  EXPECT_NE(t.find("cacheon_last_scanned_block 42\n"), std::string::npos);
  EXPECT_NE(t.find("cacheon_leader_score NaN\n"), std::string::npos);
  // Every sample line belongs to a declared metric.
  std::istringstream lines(t);
  std::string line, declared;
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind("# TYPE ", 0) == 0) declared += " " + l.substr(7, l.find(' ', 7) - 7) + " ";
    if (l.empty() || l[0] == '#') continue;
    std::string name = l.substr(0, l.find_first_of("{ "));
    for (const char* suffix : {"_sum", "_count"})
      if (name.size() > strlen(suffix) && name.ends_with(suffix) &&
          declared.find(" " + name.substr(0, name.size() - strlen(suffix)) + " ") !=
              std::string::npos)
        name = name.substr(0, name.size() - strlen(suffix));
    EXPECT_NE(declared.find(" " + name + " "), std::string::npos) << l;
  }
}

TEST(DashboardReasons, EveryHarnessCodeHasItsOwnWords) {
  const std::string generic = reason_text("no_such_code_xyz", true, false, 0, "");
  for (const auto& info : harness::reason_catalogue()) {
    if (info.code == harness::reason::kOk || info.kind != harness::ReasonKind::verdict) continue;
    const std::string t = reason_text(info.code, info.blame != harness::Blame::arena, false, 0, "");
    EXPECT_NE(t, generic) << info.code << " falls back to the generic text";
    EXPECT_GT(t.size(), 30u) << info.code;
  }
  EXPECT_NE(reason_text("ok", true, true, 0.25, "").find("25.0% faster"), std::string::npos);
  EXPECT_NE(reason_text("ok", true, true, 0, "score 0.004 is within the noise floor 0.02")
                .find("noise"),
            std::string::npos);
  EXPECT_NE(reason_text("ok", true, true, 0, "").find("not faster"), std::string::npos);
  EXPECT_NE(reason_text("brand_new_arena_code", false, false, 0, "").find("Nothing is held"),
            std::string::npos);
}

}  // namespace
}  // namespace cacheon::dashboard

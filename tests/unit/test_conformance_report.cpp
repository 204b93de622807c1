// The check results as people and machines read them: the table (one line per check, expected /
// seen / fix under each failure), the JSON, and the escaping of whatever a server sent.
#include <gtest/gtest.h>

#include "conformance/check_result.h"
#include "conformance/conformance.h"

namespace cacheon::conformance {
namespace {

ConformanceReport sample() {
  ConformanceReport r;
  r.server = "http://127.0.0.1:8000/";
  r.model = "tiny";
  r.results.push_back(CheckResult::pass("health"));
  r.results.push_back(CheckResult::fail("stream.done", "stream_no_done",
                                        "the last event is data: [DONE]", "no data: [DONE]",
                                        "end every stream with 'data: [DONE]'"));
  r.results.push_back(CheckResult::skip("stream.text", "the stream did not complete"));
  return r;
}

TEST(ConformanceReport, CountsAndVerdict) {
  ConformanceReport r = sample();
  EXPECT_EQ(r.count(CheckStatus::pass), 1);
  EXPECT_EQ(r.count(CheckStatus::fail), 1);
  EXPECT_EQ(r.count(CheckStatus::skip), 1);
  EXPECT_FALSE(r.passed());
  ASSERT_NE(r.find("stream.done"), nullptr);
  EXPECT_EQ(r.find("stream.done")->code, "stream_no_done");
  EXPECT_EQ(r.find("nope"), nullptr);
  r.results.erase(r.results.begin() + 1);
  EXPECT_TRUE(r.passed()) << "a skip alone is not a failure";
}

TEST(ConformanceReport, TableHasOneLinePerCheckAndTheFixUnderFailures) {
  const std::string t = render_table(sample());
  EXPECT_NE(t.find("contract checks: http://127.0.0.1:8000/ (model tiny)\n"), std::string::npos);
  EXPECT_NE(t.find("  PASS  health\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  FAIL  stream.done                stream_no_done\n"
                   "        expected: the last event is data: [DONE]\n"
                   "        seen:     no data: [DONE]\n"
                   "        fix:      end every stream with 'data: [DONE]'\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("  SKIP  stream.text                the stream did not complete\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("NOT CONFORMANT: 1 passed, 1 failed, 1 skipped\n"), std::string::npos) << t;
}

TEST(ConformanceReport, JsonCarriesStatusCodeAndLines) {
  auto j = to_json(sample());
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["counts"]["fail"], 1);
  ASSERT_EQ(j["checks"].size(), 3u);
  EXPECT_EQ(j["checks"][0]["status"], "pass");
  EXPECT_EQ(j["checks"][0]["code"], "ok");
  EXPECT_EQ(j["checks"][1]["status"], "fail");
  EXPECT_EQ(j["checks"][1]["code"], "stream_no_done");
  EXPECT_EQ(j["checks"][1]["fix"], "end every stream with 'data: [DONE]'");
  EXPECT_EQ(j["checks"][2]["status"], "skip");
  EXPECT_EQ(j["checks"][2]["code"], "skipped");
  // Always serializable, whatever the server sent.
  CheckResult hostile = CheckResult::fail("x", "y", "", std::string("\xff\xfe\x1b[2J", 6), "");
  EXPECT_NO_THROW((void)to_json(hostile).dump());
}

TEST(ConformanceReport, PrintableEscapesAndClips) {
  struct Case {
    std::string in;
    size_t max;
    std::string want;
  };
  const Case cases[] = {
      {"plain text", 160, "plain text"},
      {"a\nb\tc\rd", 160, "a\\nb\\tc\\rd"},
      {std::string("\x1b[31mred", 8), 160, "\\x1B[31mred"},  // no terminal escapes
      {std::string("ok\xff\xc3(", 5), 160, "ok\\xFF\\xC3("},   // invalid UTF-8
      {"caf\xc3\xa9 \xe6\x9d\xb1", 160, "caf\xc3\xa9 \xe6\x9d\xb1"},  // valid UTF-8 kept
      {std::string("\xc2\x85x", 3), 160, "\\u0085x"},         // C1 control
      {"abcdef", 3, "abc…"},
      {"caf\xc3\xa9", 4, "caf\xc3\xa9"},  // clipped by characters, not bytes
      {std::string("\xed\xa0\x80", 3), 160, "\\xED\\xA0\\x80"},  // a surrogate is not UTF-8
  };
  for (const auto& c : cases) EXPECT_EQ(printable(c.in, c.max), c.want) << c.in;
}

TEST(ConformanceReport, CatalogIdsAreUniqueAndDescribed) {
  std::set<std::string_view> seen;
  for (const auto& c : check_catalog()) {
    EXPECT_TRUE(seen.insert(c.id).second) << c.id;
    EXPECT_FALSE(c.what.empty()) << c.id;
  }
  EXPECT_EQ(check_catalog().front().id, "health");
}

}  // namespace
}  // namespace cacheon::conformance

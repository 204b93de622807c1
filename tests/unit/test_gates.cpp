// Gates: config parsing, teacher-forcing with a fake scorer, first-mismatch details and messages.
// The tables of first-mismatch and structural cases live in tests/data/judge (test_verdict.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "harness/gates.h"

namespace cacheon::harness {
namespace {

class FakeScorer : public TrustedScorer {
 public:
  explicit FakeScorer(Result<std::vector<double>> r) : r_(std::move(r)) {}
  Result<std::vector<double>> token_logprobs(const std::vector<GateMessage>& prompt,
                                             std::string_view text) override {
    ++calls;
    last_prompt = prompt;
    last_text = std::string(text);
    return r_;
  }
  int calls = 0;
  std::vector<GateMessage> last_prompt;
  std::string last_text;

 private:
  Result<std::vector<double>> r_;
};

RequestRecord with_text(std::string text) {
  RequestRecord r;
  r.prompt_index = 2;
  r.content = std::move(text);
  return r;
}

const std::vector<GateMessage> kPrompt = {{"system", "be brief"}, {"user", "summarize"}};

TEST(GateConfigParse, ListsAndErrors) {
  const GateConfig d;
  EXPECT_TRUE(d.first_mismatch);
  EXPECT_TRUE(d.structural);
  EXPECT_FALSE(d.teacher_forcing);  // needs a scorer: opt-in

  Result<GateConfig> all = parse_gate_list(" teacher-forcing, first-mismatch ,structural");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->first_mismatch && all->structural && all->teacher_forcing);
  EXPECT_EQ(gate_list_string(*all), "first-mismatch,structural,teacher-forcing");

  Result<GateConfig> one = parse_gate_list("structural");
  ASSERT_TRUE(one.ok());
  EXPECT_FALSE(one->first_mismatch);
  EXPECT_TRUE(one->structural);
  EXPECT_EQ(one->first_mismatch_cfg.max_logprob_gap, 0.5);  // thresholds keep defaults

  Result<GateConfig> none = parse_gate_list("none");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(gate_list_string(*none), "none");

  for (const char* bad : {"", "  ", "structural,,first-mismatch", "structural,structural",
                          "none,structural", "first_mismatch", "teacher"}) {
    Result<GateConfig> r = parse_gate_list(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "invalid_gate_list") << bad;
  }
  EXPECT_NE(parse_gate_list("first_mismatch").error().message.find("first-mismatch"),
            std::string::npos);
}

TEST(GateTeacherForcing, PassAtThresholds) {
  FakeScorer s(std::vector<double>{-4.0, -4.0});  // mean exactly -4: inclusive
  const GateResult g = check_teacher_forcing(&s, kPrompt, with_text("hello"));
  EXPECT_EQ(g.status, GateStatus::pass) << g.message;
  EXPECT_EQ(g.reason_code, "ok");
  EXPECT_EQ(g.gate, "teacher-forcing");
  EXPECT_EQ(g.prompt_index, 2);
  EXPECT_EQ(s.calls, 1);
  EXPECT_EQ(s.last_text, "hello");
  ASSERT_EQ(s.last_prompt.size(), 2u);
  EXPECT_EQ(s.last_prompt[1].content, "summarize");
  FakeScorer m(
      std::vector<double>{-12.0, -0.1, -0.1, -0.1, -0.1, -0.1});  // min exactly -12, mean -2.08
  EXPECT_TRUE(check_teacher_forcing(&m, kPrompt, with_text("x")).passed());
}

TEST(GateTeacherForcing, MeanFail) {
  FakeScorer s(std::vector<double>{-4.5, -3.6});  // mean -4.05
  const GateResult g = check_teacher_forcing(&s, kPrompt, with_text("hello"));
  EXPECT_EQ(g.status, GateStatus::fail);
  EXPECT_EQ(g.reason_code, "correctness_teacher_forcing");
  EXPECT_FALSE(g.details.at("mean_ok").get<bool>());
  EXPECT_TRUE(g.details.at("min_ok").get<bool>());
  EXPECT_NEAR(g.details.at("mean_logprob").get<double>(), -4.05, 1e-12);
}

TEST(GateTeacherForcing, MinFail) {
  FakeScorer s(std::vector<double>{-0.1, -0.1, -12.5, -0.1});  // mean -3.2 ok, min fails
  const GateResult g = check_teacher_forcing(&s, kPrompt, with_text("hello"));
  EXPECT_EQ(g.status, GateStatus::fail);
  EXPECT_EQ(g.reason_code, "correctness_teacher_forcing");
  EXPECT_TRUE(g.details.at("mean_ok").get<bool>());
  EXPECT_FALSE(g.details.at("min_ok").get<bool>());
  EXPECT_EQ(g.details.at("min_position"), 2);
  EXPECT_NE(g.message.find("token 2"), std::string::npos) << g.message;
}

TEST(GateTeacherForcing, MinusInfinityFailsAndSerializes) {
  FakeScorer s(std::vector<double>{-0.1, -std::numeric_limits<double>::infinity()});
  const GateResult g = check_teacher_forcing(&s, kPrompt, with_text("hello"));
  EXPECT_EQ(g.status, GateStatus::fail);
  EXPECT_TRUE(g.details.at("min_logprob").is_null());
  EXPECT_NO_THROW((void)to_json(g).dump());
}

TEST(GateTeacherForcing, CustomThresholds) {
  FakeScorer s(std::vector<double>{-3.0});
  TeacherForcingConfig cfg;
  cfg.min_mean_logprob = -2.0;
  EXPECT_EQ(check_teacher_forcing(&s, kPrompt, with_text("x"), cfg).status, GateStatus::fail);
}

TEST(GateTeacherForcing, UnavailableIsNeverPass) {
  const GateResult none = check_teacher_forcing(nullptr, kPrompt, with_text("hello"));
  EXPECT_EQ(none.status, GateStatus::unavailable);
  EXPECT_EQ(none.reason_code, "scorer_unavailable");
  EXPECT_FALSE(none.passed());

  FakeScorer err(Error{"timeout_read", "scorer stalled"});
  const GateResult e = check_teacher_forcing(&err, kPrompt, with_text("hello"));
  EXPECT_EQ(e.status, GateStatus::unavailable);
  EXPECT_EQ(e.reason_code, "scorer_unavailable");
  EXPECT_NE(e.message.find("scorer stalled"), std::string::npos);

  FakeScorer empty(std::vector<double>{});
  EXPECT_EQ(check_teacher_forcing(&empty, kPrompt, with_text("hello")).status,
            GateStatus::unavailable);
  FakeScorer nan(std::vector<double>{-1.0, std::numeric_limits<double>::quiet_NaN()});
  EXPECT_EQ(check_teacher_forcing(&nan, kPrompt, with_text("hello")).status,
            GateStatus::unavailable);
}

TEST(GateTeacherForcing, EmptyTextPassesWithoutCallingScorer) {
  FakeScorer s(Error{"x", "must not be called"});
  const GateResult g = check_teacher_forcing(&s, kPrompt, with_text(""));
  EXPECT_EQ(g.status, GateStatus::pass);
  EXPECT_EQ(s.calls, 0);
}

TokenRecord tok(std::string t, double lp, std::vector<TopLogprob> top) {
  TokenRecord r;
  r.token = std::move(t);
  r.logprob = lp;
  r.top = std::move(top);
  return r;
}

TEST(GateFirstMismatch, MessageNamesPositionTokensAndConditions) {
  RequestRecord b;
  b.tokens = {tok("A", 0, {}), tok("\n\"x", 0, {})};
  RequestRecord c;
  c.prompt_index = 4;
  c.tokens = {tok("A", 0, {}), tok("y", -2.0, {{"z", -0.1}, {"y", -2.0}})};
  const GateResult g = check_first_mismatch(b, c);
  EXPECT_EQ(g.status, GateStatus::fail);
  EXPECT_EQ(g.prompt_index, 4);
  EXPECT_EQ(g.reason_code, "correctness_first_mismatch");
  EXPECT_NE(g.message.find("position 1"), std::string::npos) << g.message;
  EXPECT_NE(g.message.find(R"("\n\"x")"), std::string::npos) << g.message;  // escaped
  EXPECT_NE(g.message.find("not its own top-1"), std::string::npos) << g.message;
  EXPECT_NE(g.message.find("not in candidate top-5"), std::string::npos) << g.message;
  EXPECT_EQ(g.details.at("baseline_token").at("token"), "\n\"x");
  EXPECT_EQ(g.details.at("candidate_token").at("token"), "y");
  EXPECT_TRUE(g.details.at("gap").is_null());
  EXPECT_EQ(g.details.at("candidate_top").size(), 2u);
}

TEST(GateFirstMismatch, ConfigurableTopKAndGap) {
  RequestRecord b;
  b.tokens = {tok("cat", 0, {})};
  RequestRecord c;
  c.tokens = {tok("dog", -0.1, {{"dog", -0.1}, {"cow", -0.2}, {"cat", -1.0}})};
  FirstMismatchConfig cfg;
  EXPECT_EQ(check_first_mismatch(b, c, cfg).status, GateStatus::fail);  // gap 0.9
  cfg.max_logprob_gap = 1.0;
  EXPECT_EQ(check_first_mismatch(b, c, cfg).status, GateStatus::pass);
  cfg.top_k = 2;  // "cat" is third
  EXPECT_EQ(check_first_mismatch(b, c, cfg).status, GateStatus::fail);
}

TEST(GateStructural, UsageOnlyWhenLogprobsNotRequested) {
  RequestRecord r;
  r.usage_completion_tokens = 6;
  r.max_tokens_requested = 6;
  r.finish_reason = "length";
  r.saw_done = true;
  EXPECT_TRUE(check_structural(r, /*logprobs_requested=*/false).passed());
  // With logprobs requested, 0 token records against usage 6 is a mismatch.
  EXPECT_EQ(check_structural(r).reason_code, "usage_mismatch");
}

TEST(GateUtf8, SanitizeAndQuote) {
  EXPECT_EQ(sanitize_utf8("plain"), "plain");
  EXPECT_EQ(sanitize_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");  // 4-byte emoji
  EXPECT_EQ(sanitize_utf8("a\xFF"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(sanitize_utf8("\xC3"), "\xEF\xBF\xBD");                                  // truncated
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(quote_token("a\tb"), R"("a\tb")");
  EXPECT_EQ(quote_token("\xFF"), "\"\xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace cacheon::harness

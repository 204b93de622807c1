// The HTML evaluation report (harness/html_report.h): every section from a report of the shape
// run_eval writes, hostile text escaped, bounded output, and no throw on partial or mistyped
// reports (stored files are read back by the dashboard). The real report of a real evaluation is
// rendered end to end by tests/cli/engine_eval.sh (cacheon eval --html).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/html_report.h"

namespace cacheon::harness {
namespace {

using nlohmann::json;

json request(int prompt, double sent, int tokens, double first, double gap,
             const std::string& tok) {
  json r = {{"prompt_index", prompt}, {"warmup", false}, {"ok", true}, {"sent_ms", sent},
            {"metrics", {{"ttft_ms", first}, {"e2e_ms", first + gap * tokens},
                         {"decode_tps", 1000.0 / gap}, {"tokens", tokens}}}};
  json t = json::array();
  for (int i = 0; i < tokens; ++i)
    t.push_back({{"arrival_ms", sent + first + gap * i}, {"token", tok + std::to_string(i)}});
  r["tokens"] = t;
  return r;
}

json report(int tokens = 16) {
  json runs = json::array();
  int i = 0;
  for (auto [role, first, gap, tok] : {std::tuple{"baseline", 200.0, 6.0, "b"},
                                       std::tuple{"candidate", 60.0, 6.0, "<script>x"},
                                       std::tuple{"baseline", 210.0, 6.0, "b"}}) {
    json reqs = json::array({json{{"prompt_index", 0}, {"warmup", true}}});
    for (int p = 1; p <= 2; ++p) reqs.push_back(request(p, 1000.0 * p, tokens, first, gap, tok));
    runs.push_back({{"label", role == std::string("candidate") ? "C" : "B"}, {"role", role},
                    {"requests", reqs}, {"wall_s", 2.5 + i++},
                    {"metrics", {{"overhead", {{"client_cpu_s", 0.0123},
                                               {"parse_delay_ms", {{"p50", 0.01}, {"p99", 0.04}}},
                                               {"dispatch_lateness_ms", {{"max", 0.02}}}}}}}});
  }
  json gates1 = json::array({json{{"gate", "structural"}, {"status", "pass"}, {"message", "ok"}}});
  json gates2 = json::array(
      {json{{"gate", "first-mismatch"}, {"status", "fail"},
            {"message", "first mismatch at position 3: \"b3\" vs \"<script>x3\""},
            {"details", {{"position", 3}}}}});
  return {{"kind", "cacheon.eval"},
          {"config", {{"model", "tiny & <b>bold</b>"}, {"policy", "e2e@1"}, {"sequence", "B,C,B"}}},
          {"provenance", {{"git_revision", "abc123"}, {"host", "vm"}}},
          {"runs", runs},
          {"verdict", {{"decided", true}, {"passed", false}, {"score", 0.0},
                       {"reason_code", "correctness_first_mismatch"}, {"blame", "candidate"},
                       {"message", "prompt 2: <img src=x onerror=alert(1)>"},
                       {"confidence", {{"state", "outside_noise"}, {"noise_floor", 0.02}}},
                       {"prompts", {{{"prompt_index", 1}, {"gates", gates1},
                                     {"score", {{"improvement", 0.7}}}},
                                    {{"prompt_index", 2}, {"gates", gates2},
                                     {"score", {{"improvement", 0.69}, {"note", "gate failed"}}}}}}}}};
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(HtmlReport, EverySectionFromAFullReport) {
  const std::string h = eval_report_html(report());
  EXPECT_EQ(h.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(h.find("FAILED"), std::string::npos);
  EXPECT_NE(h.find("correctness_first_mismatch"), std::string::npos);
  EXPECT_NE(h.find("outside the baseline&#39;s noise"), std::string::npos);
  // The per-prompt table: one row per scored prompt (the warm-up is not one), B, C and B' columns.
  EXPECT_EQ(count(h, "<th scope=\"row\" class=\"l\">1</th>"), 1u);
  EXPECT_EQ(count(h, "<th scope=\"row\" class=\"l\">2</th>"), 1u);
  EXPECT_EQ(count(h, "<th scope=\"row\" class=\"l\">0</th>"), 0u);
  EXPECT_NE(h.find("B&#39; TTFT"), std::string::npos);
  EXPECT_NE(h.find("<td>60.0</td>"), std::string::npos);  // the candidate's TTFT
  EXPECT_NE(h.find("+70.0%"), std::string::npos);
  // Timelines: one SVG per prompt, three lines each.
  EXPECT_EQ(count(h, "<svg class=\"timeline\""), 2u);
  EXPECT_EQ(count(h, "<polyline"), 6u);
  // The first divergence in text, the diverging token marked on both sides.
  EXPECT_NE(h.find("First divergence at token 3"), std::string::npos);
  EXPECT_NE(h.find("<mark>b3</mark>"), std::string::npos);
  EXPECT_NE(h.find("<mark>&lt;script&gt;x3</mark>"), std::string::npos);
  EXPECT_NE(h.find("0.012"), std::string::npos);  // harness overhead
  EXPECT_NE(h.find("abc123"), std::string::npos);  // provenance
}

TEST(HtmlReport, HostileTextIsEscapedAndThePageIsSelfContained) {
  const std::string h = eval_report_html(report());
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("<img"), std::string::npos);
  EXPECT_EQ(h.find("<b>bold"), std::string::npos);
  EXPECT_NE(h.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(h.find("tiny &amp; &lt;b&gt;"), std::string::npos);
  for (const char* external : {"src=\"http", "href=\"http", "<link", "url(", "@import"})
    EXPECT_EQ(h.find(external), std::string::npos) << external;
}

TEST(HtmlReport, SizeIsBounded) {
  json r = report(20'000);  // 20k tokens per request: timelines are downsampled
  r["verdict"]["message"] = std::string(1 << 20, 'm');
  const std::string h = eval_report_html(r);
  EXPECT_LT(h.size(), 400'000u);
  json many = report(4);
  for (int p = 3; p < 500; ++p) {
    many["verdict"]["prompts"].push_back({{"prompt_index", p}});
    many["runs"][0]["requests"].push_back(request(p, 0, 4, 1, 1, "t"));
  }
  const std::string m = eval_report_html(many);
  EXPECT_NE(m.find("more prompts are in the JSON report"), std::string::npos);
  EXPECT_LE(count(m, "<svg class=\"timeline\""), 64u);
}

TEST(HtmlReport, PartialOrMistypedReportsNeverThrow) {
  std::vector<json> inputs = {json(), json::array(), json("text"), json(42), json::object(),
                              json{{"runs", "x"}, {"verdict", 3}},
                              json{{"runs", json::array({1, "a", nullptr})}},
                              json{{"verdict", {{"prompts", {1, {{"prompt_index", "x"}}}}}}}};
  json bad = report();
  bad["runs"][1]["requests"][1]["tokens"] = json::array({1, json{{"arrival_ms", "soon"}}});
  bad["runs"][0]["requests"][2]["metrics"] = "none";
  bad["verdict"]["prompts"][1]["gates"][0]["details"]["position"] = 1e300;
  bad["verdict"]["confidence"] = json::array();
  bad["provenance"] = {{"x", json::array({1, 2})}};
  inputs.push_back(bad);
  json nan = report();
  nan["verdict"]["score"] = std::numeric_limits<double>::quiet_NaN();
  inputs.push_back(nan);
  for (const auto& in : inputs) {
    std::string h;
    ASSERT_NO_THROW(h = eval_report_html(in)) << in.dump().substr(0, 200);
    EXPECT_NE(h.find("</html>"), std::string::npos);
    EXPECT_EQ(h.find("could not be rendered"), std::string::npos) << in.dump().substr(0, 200);
  }
}

}  // namespace
}  // namespace cacheon::harness

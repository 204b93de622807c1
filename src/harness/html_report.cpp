// The evaluation report page (harness/html_report.h). Sections: verdict, per-prompt table,
// timelines, gates with the first divergence, harness overhead, provenance.
#include "harness/html_report.h"

#include <algorithm>

#include <fmt/format.h>

#include "harness/html_util.h"

namespace cacheon::harness {
namespace {

using namespace html;

constexpr int kMaxPrompts = 64;  // prompts rendered in full; the rest are counted

constexpr std::string_view kStyle = R"css(
:root{color-scheme:light;--fg:#111827;--muted:#4b5563;--line:#d1d5db;--bg:#fff;--soft:#f3f4f6;
--ok:#166534;--okbg:#dcfce7;--bad:#991b1b;--badbg:#fee2e2;--warn:#92400e;--warnbg:#fef3c7}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;
color:var(--fg);background:var(--bg)}main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.2em 0}h2{font-size:1.15rem;margin:1.6em 0 .5em;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:1em 0 .3em}.muted{color:var(--muted)}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
.badge{display:inline-block;padding:.15em .6em;border-radius:999px;font-weight:700}
.pass{color:var(--ok);background:var(--okbg)}.fail{color:var(--bad);background:var(--badbg)}.undecided{color:var(--warn);background:var(--warnbg)}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:.5em 0}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;min-width:0;overflow-wrap:anywhere}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:.3em .5em;text-align:right;white-space:nowrap}
th{background:var(--soft)}th[scope=row],td.l,th.l{text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:8px}figcaption{font-weight:600}
svg.timeline{width:100%;height:auto}.axis{stroke:#6b7280;fill:none}.tick{font-size:10px;fill:#374151}
.legend{display:flex;gap:1em;flex-wrap:wrap;font-size:.85em}.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
.div{background:var(--soft);padding:.5em;border-radius:6px;overflow-wrap:anywhere}.div mark{background:var(--badbg);color:var(--bad);font-weight:700}
@media (max-width:640px){main{padding:10px}body{font-size:14px}}
)css";

std::string pct(std::optional<double> v) { return v ? fmt::format("{:+.1f}%", *v * 100) : "&mdash;"; }

std::string verdict_section(const json& report) {
  const json& v = at(report, "verdict");
  const bool decided = at(v, "decided").is_boolean() && at(v, "decided").get<bool>();
  const bool passed = at(v, "passed").is_boolean() && at(v, "passed").get<bool>();
  const char* cls = !decided ? "undecided" : passed ? "pass" : "fail";
  const char* word = !decided ? "UNDECIDED" : passed ? "PASSED" : "FAILED";
  const json& conf = at(v, "confidence");
  std::string out = fmt::format(
      "<section aria-labelledby=\"verdict\"><h2 id=\"verdict\">Verdict</h2>"
      "<p><span class=\"badge {}\">{}</span> score <strong>{}</strong> ({})</p>"
      "<p>{}</p><dl class=\"kv\">",
      cls, word, pct(num(at(v, "score"))), esc(str(at(v, "policy")), 100),
      esc(str(at(v, "message")), 4000));
  auto row = [&](std::string_view k, const std::string& val) {
    out += fmt::format("<dt>{}</dt><dd>{}</dd>", k, val.empty() ? "&mdash;" : val);
  };
  row("reason", "<code>" + esc(str(at(v, "reason_code")), 200) + "</code>");
  row("blame", esc(str(at(v, "blame")), 50));
  const std::string state = str(at(conf, "state"));
  row("confidence", esc(state == "outside_noise"  ? "outside the baseline's noise"
                        : state == "within_noise" ? "within the baseline's noise (counts as 0)"
                        : state == "unmeasured"   ? "unmeasured"
                                                  : state,
                        200));
  row("noise floor", pct(num(at(conf, "noise_floor"))));
  const json& noise = at(v, "noise");
  row("baseline spread", fmt::format("median {} · max {} ({})", pct(num(at(noise, "median_spread"))),
                                     pct(num(at(noise, "max_spread"))),
                                     esc(str(at(noise, "metric")), 100)));
  out += "</dl></section>";
  return out;
}

std::string context_section(const json& report) {
  std::string out = "<section aria-labelledby=\"setup\"><h2 id=\"setup\">Setup</h2><dl class=\"kv\">";
  auto row = [&](std::string_view k, const json& j) {
    const std::string s = str(j);
    out += fmt::format("<dt>{}</dt><dd>{}</dd>", k, s.empty() ? "&mdash;" : esc(s, 300));
  };
  const json& a = at(report, "arena");
  if (a.is_object()) {
    row("submission", at(a, "hotkey"));
    out += fmt::format("<dt>image</dt><dd class=\"mono\">{}@{}</dd>", esc(str(at(a, "image")), 300),
                       esc(str(at(a, "digest")), 100));
    row("round", at(a, "round"));
    row("role", at(a, "role"));
  }
  const json& c = at(report, "config");
  row("model", at(c, "model"));
  row("baseline", at(c, "baseline"));
  row("candidate", at(c, "candidate"));
  row("policy", at(c, "policy"));
  row("gates", at(c, "gates"));
  row("run order", at(c, "sequence"));
  out += fmt::format("<dt>workload</dt><dd>{} scored prompts (+{} warm-up), ~{} input tokens, "
                     "{} output tokens, {}</dd>",
                     esc(str(at(c, "scored")), 20), esc(str(at(c, "warmup")), 20),
                     esc(str(at(c, "input_tokens")), 20), esc(str(at(c, "output_tokens")), 20),
                     esc(str(at(c, "workload")), 50));
  row("prompts seeded by", at(at(report, "prompts"), "block_hash"));
  return out + "</dl></section>";
}

// The scored prompts in order (from the verdict, else from the first run).
std::vector<int> prompt_indices(const json& report, const std::vector<RunView>& runs) {
  std::vector<int> out;
  const json& vp = at(at(report, "verdict"), "prompts");
  if (vp.is_array())
    for (const json& p : vp)
      if (at(p, "prompt_index").is_number_integer())
        out.push_back(at(p, "prompt_index").get<int>());
  if (out.empty() && !runs.empty())
    for (const json* r : runs.front().requests)
      if (at(*r, "prompt_index").is_number_integer())
        out.push_back(at(*r, "prompt_index").get<int>());
  return out;
}

const json& verdict_prompt(const json& report, int index) {
  static const json kNull;
  const json& vp = at(at(report, "verdict"), "prompts");
  if (vp.is_array())
    for (const json& p : vp)
      if (at(p, "prompt_index").is_number_integer() && at(p, "prompt_index").get<int>() == index)
        return p;
  return kNull;
}

bool gates_passed(const json& vp) {
  const json& gates = at(vp, "gates");
  if (!gates.is_array()) return true;
  return std::none_of(gates.begin(), gates.end(),
                      [](const json& g) { return str(at(g, "status")) == "fail"; });
}

std::string prompt_table(const json& report, const std::vector<RunView>& runs,
                         const std::vector<int>& prompts) {
  std::string out =
      "<section aria-labelledby=\"perprompt\"><h2 id=\"perprompt\">Baseline vs candidate per "
      "prompt</h2><p class=\"muted\">TTFT and e2e in ms, decode tokens/s, per run in the order "
      "they ran (B baseline, C candidate, B' the baseline again). The improvement is the "
      "policy's, against the baseline runs.</p><div class=\"scroll\"><table><thead><tr>"
      "<th scope=\"col\" class=\"l\">prompt</th>";
  for (const RunView& r : runs)
    out += fmt::format("<th scope=\"col\">{0} TTFT</th><th scope=\"col\">{0} e2e</th>"
                       "<th scope=\"col\">{0} tok/s</th><th scope=\"col\">{0} tokens</th>",
                       esc(r.label, 8));
  out += "<th scope=\"col\">improvement</th><th scope=\"col\">gates</th></tr></thead><tbody>";
  int shown = 0;
  for (int p : prompts) {
    if (shown++ >= kMaxPrompts) break;
    out += fmt::format("<tr><th scope=\"row\" class=\"l\">{}</th>", p);
    for (const RunView& r : runs) {
      const json* req = r.request_for(p);
      const json& m = req ? at(*req, "metrics") : at(json(), "");
      const bool ok = req && at(*req, "ok").is_boolean() && at(*req, "ok").get<bool>();
      if (req && !ok) {
        out += fmt::format("<td colspan=\"4\" class=\"l\"><span class=\"badge fail\">{}</span></td>",
                           esc(str(at(*req, "error_code")), 80));
        continue;
      }
      out += fmt::format("<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                         fixed(num(at(m, "ttft_ms")), 1), fixed(num(at(m, "e2e_ms")), 1),
                         fixed(num(at(m, "decode_tps")), 1),
                         req ? esc(str(at(m, "tokens")), 20) : "&mdash;");
    }
    const json& vp = verdict_prompt(report, p);
    const json& score = at(vp, "score");
    const std::string note = str(at(score, "note"));
    out += fmt::format("<td>{}{}</td><td>{}</td></tr>", pct(num(at(score, "improvement"))),
                       note.empty() ? "" : " <span class=\"muted\">(" + esc(note, 200) + ")</span>",
                       vp.is_null()            ? "&mdash;"
                       : gates_passed(vp)      ? "<span class=\"badge pass\">pass</span>"
                                               : "<span class=\"badge fail\">fail</span>");
  }
  out += "</tbody></table></div>";
  if (static_cast<int>(prompts.size()) > kMaxPrompts)
    out += fmt::format("<p class=\"muted\">{} more prompts are in the JSON report.</p>",
                       prompts.size() - kMaxPrompts);
  return out + "</section>";
}

// The tokens around `pos` of one request, the token at pos marked.
std::string token_context(const json* req, int64_t pos) {
  if (!req) return "&mdash;";
  const json& tokens = at(*req, "tokens");
  if (!tokens.is_array() || tokens.empty()) return "&mdash;";
  std::string out;
  const int64_t from = std::max<int64_t>(0, pos - 12);
  const int64_t to = std::min<int64_t>(static_cast<int64_t>(tokens.size()), pos + 4);
  if (from > 0) out += "&hellip;";
  for (int64_t i = from; i < to; ++i) {
    const std::string t = esc(str(at(tokens[static_cast<size_t>(i)], "token")), 200);
    out += i == pos ? "<mark>" + t + "</mark>" : t;
  }
  if (to < static_cast<int64_t>(tokens.size())) out += "&hellip;";
  return out;
}

std::string gates_section(const json& report, const std::vector<RunView>& runs,
                          const std::vector<int>& prompts) {
  std::string out = "<section aria-labelledby=\"gates\"><h2 id=\"gates\">Correctness gates</h2>";
  const RunView* base = nullptr;
  const RunView* cand = nullptr;
  for (const RunView& r : runs) {
    if (r.baseline && !base) base = &r;
    if (!r.baseline && !cand) cand = &r;
  }
  int shown = 0;
  for (int p : prompts) {
    if (shown++ >= kMaxPrompts) break;
    const json& gates = at(verdict_prompt(report, p), "gates");
    if (!gates.is_array() || gates.empty()) continue;
    out += fmt::format("<h3>Prompt {}</h3><div class=\"scroll\"><table><thead><tr><th scope=\"col\" "
                       "class=\"l\">gate</th><th scope=\"col\" class=\"l\">result</th><th "
                       "scope=\"col\" class=\"l\">detail</th></tr></thead><tbody>",
                       p);
    for (const json& g : gates) {
      const std::string status = str(at(g, "status"));
      const char* cls = status == "pass" ? "pass" : status == "fail" ? "fail" : "undecided";
      out += fmt::format("<tr><th scope=\"row\" class=\"l\">{}</th><td class=\"l\"><span "
                         "class=\"badge {}\">{}</span></td><td class=\"l\" style=\"white-space:"
                         "normal\">{}</td></tr>",
                         esc(str(at(g, "gate")), 60), cls, esc(status, 30),
                         esc(str(at(g, "message")), 1000));
      const json& pos = at(at(g, "details"), "position");
      if (status == "fail" && pos.is_number_integer()) {
        const int64_t at_pos = pos.get<int64_t>();
        out += fmt::format(
            "<tr><td colspan=\"3\" class=\"l\" style=\"white-space:normal\"><div class=\"div\">"
            "First divergence at token {}:<br>baseline: <span class=\"mono\">{}</span><br>"
            "candidate: <span class=\"mono\">{}</span></div></td></tr>",
            at_pos, token_context(base ? base->request_for(p) : nullptr, at_pos),
            token_context(cand ? cand->request_for(p) : nullptr, at_pos));
      }
    }
    out += "</tbody></table></div>";
  }
  return out + "</section>";
}

std::string timelines_section(const std::vector<RunView>& runs, const std::vector<int>& prompts) {
  std::string out =
      "<section aria-labelledby=\"timelines\"><h2 id=\"timelines\">Token arrivals</h2><p "
      "class=\"muted\">Tokens received (y) against ms since the request was sent (x), per "
      "prompt and run, as timed at the socket.</p><div class=\"grid\">";
  int shown = 0;
  for (int p : prompts) {
    if (shown++ >= kMaxPrompts) break;
    out += fmt::format("<figure><figcaption>Prompt {}</figcaption>{}</figure>", p,
                       timeline_svg(p, runs));
  }
  return out + "</div></section>";
}

std::string overhead_section(const std::vector<RunView>& runs) {
  std::string out =
      "<section aria-labelledby=\"overhead\"><h2 id=\"overhead\">Harness overhead</h2><p "
      "class=\"muted\">What measuring cost the client: CPU time, the delay from a chunk's "
      "arrival to its parse, and how late requests were sent against their schedule.</p>"
      "<div class=\"scroll\"><table><thead><tr><th scope=\"col\" class=\"l\">run</th><th "
      "scope=\"col\">client CPU s</th><th scope=\"col\">parse delay p50 ms</th><th "
      "scope=\"col\">parse delay p99 ms</th><th scope=\"col\">send lateness max ms</th><th "
      "scope=\"col\">wall s</th></tr></thead><tbody>";
  for (const RunView& r : runs) {
    const json& o = at(at(*r.run, "metrics"), "overhead");
    out += fmt::format(
        "<tr><th scope=\"row\" class=\"l\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>",
        esc(r.label, 8), fixed(num(at(o, "client_cpu_s")), 3),
        fixed(num(at(at(o, "parse_delay_ms"), "p50")), 3),
        fixed(num(at(at(o, "parse_delay_ms"), "p99")), 3),
        fixed(num(at(at(o, "dispatch_lateness_ms"), "max")), 3),
        fixed(num(at(*r.run, "wall_s")), 2));
  }
  return out + "</tbody></table></div></section>";
}

std::string provenance_section(const json& report) {
  const json& p = at(report, "provenance");
  std::string out = "<section aria-labelledby=\"prov\"><h2 id=\"prov\">Provenance</h2><dl class=\"kv\">";
  if (p.is_object()) {
    size_t n = 0;
    for (auto it = p.begin(); it != p.end() && n < 30; ++it, ++n)
      out += fmt::format("<dt>{}</dt><dd class=\"mono\">{}</dd>", esc(it.key(), 60),
                         esc(str(it.value()), 300));
  }
  return out + "</dl></section>";
}

std::string page(const json& report) {
  const std::vector<RunView> runs = run_views(report);
  const std::vector<int> prompts = prompt_indices(report, runs);
  std::string body = verdict_section(report) + context_section(report) +
                     prompt_table(report, runs, prompts) + timelines_section(runs, prompts) +
                     gates_section(report, runs, prompts) + overhead_section(runs) +
                     provenance_section(report);
  return fmt::format(
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width,initial-scale=1\"><title>Cacheon evaluation report</title>"
      "<style>{}</style></head><body><main><h1>Cacheon evaluation report</h1>{}</main></body>"
      "</html>\n",
      kStyle, body);
}

}  // namespace

std::string eval_report_html(const nlohmann::json& report) {
  try {
    return page(report);
  } catch (const std::exception& e) {  // a last resort: the reads above are guarded
    return fmt::format(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Cacheon "
        "evaluation report</title></head><body><p>The report could not be rendered: {}</p>"
        "</body></html>\n",
        html::esc(e.what(), 500));
  }
}

}  // namespace cacheon::harness

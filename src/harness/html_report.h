// One evaluation as a single self-contained HTML page (`cacheon eval --html`, and the dashboard's
// report.html for stored evaluations): the verdict and its confidence, baseline vs candidate per
// prompt (TTFT, e2e, tokens/s), token-arrival timelines (inline SVG), every gate per prompt with
// the first divergence in text, the harness's own overhead and the provenance.
//
// Input is the complete JSON report of run_eval (harness/eval.h), possibly read back from disk:
// a missing or mistyped field renders as "—" and never throws. Every string in it came from or
// through a submitted server, so all of it is HTML-escaped and bounded; the page has no script,
// no external reference, and inline CSS only.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace cacheon::harness {

std::string eval_report_html(const nlohmann::json& report);

}  // namespace cacheon::harness

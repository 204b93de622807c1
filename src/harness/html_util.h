// Internal to the HTML report (html_report.cpp, html_timeline.cpp): safe reads of a report that
// may be partial or mistyped, and HTML escaping with a length bound.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cacheon::harness::html {

using nlohmann::json;

// j[key] when j is an object holding key; else a null json (never throws, never inserts).
const json& at(const json& j, std::string_view key);
// j[i] when j is an array long enough; else null.
const json& at(const json& j, size_t i);
std::optional<double> num(const json& j);  // finite numbers only
std::string str(const json& j);            // strings as is, numbers/bools printed, else ""
// HTML-escaped (& < > " '), cut at `max` bytes (on a UTF-8 boundary) with an ellipsis.
std::string esc(std::string_view s, size_t max = 2000);
// "—" when absent; else the number with `digits` decimals and the unit.
std::string fixed(std::optional<double> v, int digits, std::string_view unit = "");

// One run of the report: its display label (B, C, B'), role and the scored requests by prompt.
struct RunView {
  std::string label;
  bool baseline = false;
  const json* run = nullptr;
  std::vector<const json*> requests;  // non-warmup requests, in report order
  const json* request_for(int prompt_index) const;
};
std::vector<RunView> run_views(const json& report);

// The token-arrival timeline of one prompt across runs, as an inline SVG (bounded points).
std::string timeline_svg(int prompt_index, const std::vector<RunView>& runs);

}  // namespace cacheon::harness::html

#include "harness/html_util.h"

#include <cmath>

#include <fmt/format.h>

namespace cacheon::harness::html {

const json& at(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

const json& at(const json& j, size_t i) {
  static const json kNull;
  if (!j.is_array() || i >= j.size()) return kNull;
  return j[i];
}

std::optional<double> num(const json& j) {
  if (!j.is_number()) return std::nullopt;
  double v = j.get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::string str(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
  if (j.is_number_integer()) return std::to_string(j.get<int64_t>());
  if (auto v = num(j)) return fmt::format("{}", *v);
  return "";
}

std::string esc(std::string_view s, size_t max) {
  bool cut = s.size() > max;
  if (cut) {
    size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    s = s.substr(0, end);
  }
  std::string out;
  out.reserve(s.size() + 16);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  if (cut) out += "&hellip;";
  return out;
}

std::string fixed(std::optional<double> v, int digits, std::string_view unit) {
  if (!v) return "&mdash;";
  return fmt::format("{:.{}f}{}", *v, digits, unit);
}

const json* RunView::request_for(int prompt_index) const {
  for (const json* r : requests)
    if (at(*r, "prompt_index").is_number_integer() &&
        at(*r, "prompt_index").get<int64_t>() == prompt_index)
      return r;
  return nullptr;
}

std::vector<RunView> run_views(const json& report) {
  std::vector<RunView> out;
  const json& runs = at(report, "runs");
  if (!runs.is_array()) return out;
  int baselines = 0;
  for (const json& run : runs) {
    if (!run.is_object() || out.size() >= 8) continue;
    RunView v;
    v.run = &run;
    v.baseline = str(at(run, "role")) != "candidate";
    v.label = v.baseline ? (baselines++ == 0 ? "B" : "B" + std::string(baselines - 1, '\'')) : "C";
    const json& reqs = at(run, "requests");
    if (reqs.is_array())
      for (const json& r : reqs)
        if (r.is_object() && at(r, "warmup") != json(true)) v.requests.push_back(&r);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace cacheon::harness::html

// The token-arrival timeline of one prompt: token index (y) against ms since the request was
// sent (x), one line per run. Inline SVG with at most kMaxPoints points per line.
#include <algorithm>

#include <fmt/format.h>

#include "harness/html_util.h"

namespace cacheon::harness::html {
namespace {

constexpr size_t kMaxPoints = 300;
constexpr double kW = 520, kH = 180, kLeft = 44, kBottom = 26, kTop = 8, kRight = 10;

struct Line {
  std::string label;
  bool baseline;
  std::vector<double> ms;  // arrival of token i, ms after the request was sent
};

const char* color_of(const std::string& label) {
  if (label == "C") return "#c2410c";
  if (label == "B") return "#1d4ed8";
  return "#0f766e";
}

}  // namespace

std::string timeline_svg(int prompt_index, const std::vector<RunView>& runs) {
  std::vector<Line> lines;
  double max_ms = 0;
  size_t max_tokens = 0;
  for (const RunView& run : runs) {
    const json* req = run.request_for(prompt_index);
    if (!req) continue;
    auto sent = num(at(*req, "sent_ms"));
    const json& tokens = at(*req, "tokens");
    if (!sent || !tokens.is_array()) continue;
    Line l{run.label, run.baseline, {}};
    for (const json& t : tokens) {
      auto a = num(at(t, "arrival_ms"));
      if (!a) continue;
      l.ms.push_back(std::max(0.0, *a - *sent));
    }
    if (l.ms.empty()) continue;
    max_ms = std::max(max_ms, l.ms.back());
    max_tokens = std::max(max_tokens, l.ms.size());
    lines.push_back(std::move(l));
  }
  if (lines.empty()) return "<p class=\"muted\">No per-token times recorded for this prompt.</p>";
  max_ms = std::max(max_ms, 1.0);
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  auto x = [&](double ms) { return kLeft + ms / max_ms * pw; };
  auto y = [&](double i) { return kTop + ph - i / std::max<double>(1, max_tokens) * ph; };
  std::string desc;
  for (const Line& l : lines)
    desc += fmt::format("{} {} tokens, last at {:.0f} ms; ", l.label, l.ms.size(), l.ms.back());
  std::string svg = fmt::format(
      "<svg class=\"timeline\" viewBox=\"0 0 {} {}\" role=\"img\" aria-labelledby=\"tl{}t\">"
      "<title id=\"tl{}t\">Token arrivals, prompt {}: {}</title>",
      kW, kH, prompt_index, prompt_index, prompt_index, esc(desc, 400));
  // Axes with a few ticks.
  svg += fmt::format("<path d=\"M{0} {1}V{2}H{3}\" class=\"axis\"/>", kLeft, kTop, kTop + ph,
                     kLeft + pw);
  for (int i = 0; i <= 4; ++i) {
    const double ms = max_ms * i / 4;
    svg += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"middle\">{:.0f}</text>",
        x(ms), kH - 10, ms);
    const double tok = static_cast<double>(max_tokens) * i / 4;
    svg += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">{:.0f}</text>",
        kLeft - 4, y(tok) + 3, tok);
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">ms after "
                     "send</text>",
                     kLeft + pw, kH - 1);
  for (const Line& l : lines) {
    const size_t n = l.ms.size();
    const size_t step = (n + kMaxPoints - 1) / kMaxPoints;
    std::string pts = fmt::format("{:.1f},{:.1f}", x(l.ms[0]), y(0));
    for (size_t i = 0; i < n; i += std::max<size_t>(1, step))
      pts += fmt::format(" {:.1f},{:.1f}", x(l.ms[i]), y(static_cast<double>(i + 1)));
    if ((n - 1) % std::max<size_t>(1, step) != 0)
      pts += fmt::format(" {:.1f},{:.1f}", x(l.ms[n - 1]), y(static_cast<double>(n)));
    svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\"{}/>",
                       pts, color_of(l.label), l.baseline && l.label != "B" ?
                                                   " stroke-dasharray=\"4 3\"" : "");
  }
  svg += "</svg>";
  std::string legend = "<div class=\"legend\">";
  for (const Line& l : lines)
    legend += fmt::format("<span><i style=\"background:{}\"></i>{} ({} tokens)</span>",
                          color_of(l.label), esc(l.label, 8), l.ms.size());
  return svg + legend + "</div>";
}

}  // namespace cacheon::harness::html

#include "dashboard/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace cacheon::dashboard {
namespace {

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 200)) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void header(std::string& out, std::string_view name, std::string_view type,
            std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void by_label(std::string& out, std::string_view name, std::string_view help,
              std::string_view label, const std::map<std::string, int64_t>& values,
              std::initializer_list<std::string_view> always = {}) {
  header(out, name, "gauge", help);
  std::map<std::string, int64_t> all(values.begin(), values.end());
  for (auto k : always) all.try_emplace(std::string(k), 0);
  for (const auto& [k, v] : all) out += metric_line(name, label, k, static_cast<double>(v));
}

// Nearest-rank quantile of sorted values.
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  return fmt::format("{}", v);
}

}  // namespace

std::string metric_line(std::string_view name, std::string_view label, std::string_view value,
                        double v) {
  if (label.empty()) return fmt::format("{} {}\n", name, number(v));
  return fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, escape_label(value), number(v));
}

std::string prometheus_text(const MetricsInput& in) {
  const auto& c = in.counts;
  std::string out;
  by_label(out, "cacheon_rounds", "Rounds by state.", "state", c.rounds,
           {"planned", "running", "scored", "weights_set", "done"});
  by_label(out, "cacheon_evaluations", "Evaluations by state.", "state", c.evaluations,
           {"pending", "running", "done"});
  by_label(out, "cacheon_evaluation_results", "Finished evaluations by outcome.", "outcome",
           {{"passed", c.passed}, {"failed", c.failed}, {"undecided", c.undecided}});
  by_label(out, "cacheon_evaluation_failures", "Evaluations that did not pass, by reason code.",
           "reason", c.failures);
  by_label(out, "cacheon_submissions", "Submissions by intake state.", "state", c.submissions,
           {"seen", "payment_ok", "rejected", "deferred", "duplicate", "queued", "evaluated"});
  header(out, "cacheon_queue_length", "gauge", "Challengers queued for a round.");
  auto q = c.submissions.find("queued");
  out += metric_line("cacheon_queue_length", "", "",
                     q == c.submissions.end() ? 0.0 : static_cast<double>(q->second));

  std::vector<double> d = c.recent_durations_s;
  std::sort(d.begin(), d.end());
  header(out, "cacheon_evaluation_duration_seconds", "summary",
         "Wall time of the newest 1000 timed evaluations (server start to verdict).");
  for (double qq : {0.5, 0.9, 0.99})
    out += fmt::format("cacheon_evaluation_duration_seconds{{quantile=\"{}\"}} {}\n", qq,
                       number(quantile(d, qq)));
  out += fmt::format("cacheon_evaluation_duration_seconds_sum {}\n",
                     number(std::accumulate(d.begin(), d.end(), 0.0)));
  out += fmt::format("cacheon_evaluation_duration_seconds_count {}\n", d.size());

  header(out, "cacheon_last_scanned_block", "gauge", "The last ledger block fully scanned.");
  out += metric_line("cacheon_last_scanned_block", "", "",
                     in.last_scanned_block ? static_cast<double>(*in.last_scanned_block) : NAN);
  header(out, "cacheon_leader_score", "gauge", "The leader's score (NaN with no leader).");
  out += metric_line("cacheon_leader_score", "", "", in.leader_score ? *in.leader_score : NAN);
  return out;
}

}  // namespace cacheon::dashboard

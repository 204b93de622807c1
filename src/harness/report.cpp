#include "harness/report.h"

#include <cmath>
#include <unistd.h>

#include <fmt/format.h>

#include "core/clock.h"
#include "harness/gates.h"

#ifndef CACHEON_GIT_REVISION
#define CACHEON_GIT_REVISION "unknown"
#endif
#ifndef CACHEON_BUILD_TYPE
#define CACHEON_BUILD_TYPE "unknown"
#endif

namespace cacheon::harness {
using json = nlohmann::json;

namespace {

// Relative ms with microsecond precision; null when the event did not happen.
json rel_ms(int64_t t, int64_t origin) {
  if (t < 0 || origin < 0) return nullptr;
  return std::round((t - origin) / 1e3) / 1e3;
}

json opt(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

json provenance_json() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return {{"tool", "cacheon"},
          {"git_revision", CACHEON_GIT_REVISION},
          {"build_type", CACHEON_BUILD_TYPE},
          {"host", host},
          {"cpus", sysconf(_SC_NPROCESSORS_ONLN)},
          {"wall_time_ms", wall_ms()}};
}

json run_to_json(const RunResult& run, const RunMetrics& metrics) {
  json reqs = json::array();
  const int64_t origin = run.start_ns;
  for (const auto& r : run.requests) {
    json tokens = json::array();
    for (const auto& t : r.tokens) {
      json top = json::array();
      for (const auto& tl : t.top) top.push_back({sanitize_utf8(tl.token), tl.logprob});
      tokens.push_back({{"token", sanitize_utf8(t.token)},
                        {"logprob", std::isfinite(t.logprob) ? json(t.logprob) : json(nullptr)},
                        {"arrival_ms", rel_ms(t.arrival_ns, origin)},
                        {"chunk", t.chunk_index},
                        {"top", std::move(top)}});
    }
    json chunks = json::array();
    for (const auto& c : r.chunks)
      chunks.push_back({{"arrival_ms", rel_ms(c.arrival_ns, origin)},
                        {"parsed_ms", rel_ms(c.parsed_ns, origin)},
                        {"tokens", c.tokens},
                        {"bytes", c.content_bytes}});
    reqs.push_back({
        {"prompt_index", r.prompt_index},
        {"warmup", r.warmup},
        {"ok", r.ok()},
        {"error_code", r.error_code},
        {"error_message", sanitize_utf8(r.error_message)},
        {"http_status", r.http_status},
        {"scheduled_ms", rel_ms(r.scheduled_ns, origin)},
        {"sent_ms", rel_ms(r.sent_ns, origin)},
        {"first_byte_ms", rel_ms(r.first_byte_ns, origin)},
        {"first_token_ms", rel_ms(r.first_token_ns, origin)},
        {"done_ms", rel_ms(r.done_ns, origin)},
        {"finish_reason", sanitize_utf8(r.finish_reason)},
        {"max_tokens", r.max_tokens_requested},
        {"usage", {{"prompt_tokens", opt(r.usage_prompt_tokens)},
                   {"completion_tokens", opt(r.usage_completion_tokens)}}},
        {"stream", {{"saw_role", r.saw_role},
                    {"saw_done", r.saw_done},
                    {"events_after_done", r.events_after_done},
                    {"tokens_after_finish", r.tokens_after_finish},
                    {"content_events_without_logprobs", r.content_events_without_logprobs}}},
        {"metrics", to_json(request_metrics(r))},
        {"text", sanitize_utf8(r.content)},
        {"tokens", std::move(tokens)},
        {"chunks", std::move(chunks)},
    });
  }
  return {{"server", run.server},
          {"workload", run.workload},
          {"wall_s", (run.end_ns - run.start_ns) / 1e9},
          {"client_cpu_s", run.client_cpu_ns / 1e9},
          {"metrics", to_json(metrics)},
          {"requests", std::move(reqs)}};
}

std::string run_summary_table(const std::string& title, const RunMetrics& m,
                              double client_cpu_s) {
  std::string out = fmt::format("{}\n", title);
  out += fmt::format("  requests: {} completed, {} failed", m.completed, m.failed);
  for (const auto& [code, n] : m.failed_by_code) out += fmt::format(" [{}: {}]", code, n);
  out += "\n";
  out += fmt::format("  {:<26}{:>10}{:>10}{:>10}{:>10}{:>8}\n", "metric (ms)", "p50", "p90",
                     "p99", "max", "n");
  auto row = [&](const char* name, const Summary& s) {
    if (s.count == 0) {
      out += fmt::format("  {:<26}{:>10}{:>10}{:>10}{:>10}{:>8}\n", name, "-", "-", "-", "-", 0);
      return;
    }
    out += fmt::format("  {:<26}{:>10.3f}{:>10.3f}{:>10.3f}{:>10.3f}{:>8}\n", name, s.p50, s.p90,
                       s.p99, s.max, s.count);
  };
  const auto& a = m.all;
  row("TTFT (from send)", a.ttft_ms);
  row("TTFT (from schedule)", a.ttft_from_scheduled_ms);
  row("ITL per token", a.itl_ms);
  row("gap per chunk", a.chunk_gap_ms);
  row("TPOT", a.tpot_ms);
  row("e2e latency", a.e2e_ms);
  row("harness dispatch lateness", m.overhead.dispatch_lateness_ms);
  row("harness arrival->parsed", m.overhead.parse_delay_ms);
  out += fmt::format("  output tokens: {}  |  {:.1f} tok/s  |  {:.3f} req/s  |  wall {:.2f} s\n",
                     a.output_tokens, a.output_tokens_per_s, a.requests_per_s, a.wall_ms / 1e3);
  if (m.steady.summaries.requests > 0)
    out += fmt::format("  steady state ({} requests): {:.1f} tok/s, TTFT p50 {:.3f} ms\n",
                       m.steady.summaries.requests, m.steady.summaries.output_tokens_per_s,
                       m.steady.summaries.ttft_ms.p50);
  out += fmt::format("  client CPU: {:.3f} s\n", client_cpu_s);
  if (m.any_tokens_from_usage)
    out += "  note: some requests had no logprobs; their token counts come from usage\n";
  return out;
}

}  // namespace cacheon::harness

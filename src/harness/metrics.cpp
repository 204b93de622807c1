#include "harness/metrics.h"

#include <algorithm>
#include <limits>

namespace cacheon::harness {
namespace {

constexpr double kNsPerMs = 1e6;

bool token_times_known(const RequestRecord& r) {
  if (r.tokens.empty()) return false;
  return std::all_of(r.tokens.begin(), r.tokens.end(),
                     [](const TokenRecord& t) { return t.arrival_ns >= 0; });
}

bool carries_content(const ChunkRecord& c) {
  return c.tokens > 0 || c.content_bytes > 0;
}

// Arrival of the first and last token; event arrivals stand in when token records are absent.
std::optional<std::pair<int64_t, int64_t>> first_last_token_ns(const RequestRecord& r) {
  if (token_times_known(r))
    return std::make_pair(r.tokens.front().arrival_ns, r.tokens.back().arrival_ns);
  if (!r.tokens.empty()) return std::nullopt;  // records without times: do not guess
  int64_t last = -1;
  for (const ChunkRecord& c : r.chunks) {
    if (carries_content(c) && c.arrival_ns >= 0) last = std::max(last, c.arrival_ns);
  }
  if (r.first_token_ns < 0 || last < 0) return std::nullopt;
  return std::make_pair(r.first_token_ns, last);
}

std::optional<double> positive_rate(double count, std::optional<double> ms) {
  if (!ms || *ms <= 0) return std::nullopt;
  return count / (*ms / 1000.0);
}

nlohmann::json opt_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

void push(std::vector<double>& out, const std::optional<double>& v) {
  if (v) out.push_back(*v);
}

LatencySummaries summarize_ptrs(const std::vector<const RequestRecord*>& set) {
  LatencySummaries s;
  std::vector<double> ttft, ttft_s, fb, itl, gaps, tpot, e2e, otps, dtps;
  int64_t t0 = std::numeric_limits<int64_t>::max();
  int64_t t1 = -1;
  for (const RequestRecord* r : set) {
    const RequestMetrics m = request_metrics(*r);
    ++s.requests;
    s.output_tokens += m.tokens;
    push(ttft, m.ttft_ms);
    push(ttft_s, m.ttft_from_scheduled_ms);
    push(fb, m.first_byte_ms);
    push(tpot, m.tpot_ms);
    push(e2e, m.e2e_ms);
    push(otps, m.output_tps);
    push(dtps, m.decode_tps);
    itl.insert(itl.end(), m.itl_ms.begin(), m.itl_ms.end());
    gaps.insert(gaps.end(), m.chunk_gap_ms.begin(), m.chunk_gap_ms.end());
    if (r->sent_ns >= 0) t0 = std::min(t0, r->sent_ns);
    t1 = std::max(t1, r->done_ns);
  }
  s.ttft_ms = summarize(ttft);
  s.ttft_from_scheduled_ms = summarize(ttft_s);
  s.first_byte_ms = summarize(fb);
  s.itl_ms = summarize(itl);
  s.chunk_gap_ms = summarize(gaps);
  s.tpot_ms = summarize(tpot);
  s.e2e_ms = summarize(e2e);
  s.output_tps = summarize(otps);
  s.decode_tps = summarize(dtps);
  if (t1 >= 0 && t0 != std::numeric_limits<int64_t>::max() && t1 > t0) {
    s.wall_ms = double(t1 - t0) / kNsPerMs;
    s.output_tokens_per_s = double(s.output_tokens) / (s.wall_ms / 1000.0);
    s.requests_per_s = double(s.requests) / (s.wall_ms / 1000.0);
  }
  return s;
}

}  // namespace

std::optional<double> interval_ms(int64_t from_ns, int64_t to_ns) {
  if (from_ns < 0 || to_ns < 0) return std::nullopt;
  return double(to_ns - from_ns) / kNsPerMs;
}

int64_t token_count(const RequestRecord& r) {
  if (!r.tokens.empty()) return int64_t(r.tokens.size());
  return std::max<int64_t>(0, r.usage_completion_tokens.value_or(0));
}

std::optional<double> time_to_kth_token_ms(const RequestRecord& r, int64_t k) {
  if (k < 1 || k > int64_t(r.tokens.size())) return std::nullopt;
  return interval_ms(r.sent_ns, r.tokens[size_t(k - 1)].arrival_ns);
}

RequestMetrics request_metrics(const RequestRecord& r) {
  RequestMetrics m;
  m.prompt_index = r.prompt_index;
  m.warmup = r.warmup;
  m.ok = r.ok();
  m.error_code = r.error_code;

  int64_t first_tok = r.first_token_ns;
  if (first_tok < 0 && !r.tokens.empty()) first_tok = r.tokens.front().arrival_ns;
  m.ttft_ms = interval_ms(r.sent_ns, first_tok);
  m.ttft_from_scheduled_ms = interval_ms(r.scheduled_ns, first_tok);
  m.first_byte_ms = interval_ms(r.sent_ns, r.first_byte_ns);
  m.e2e_ms = interval_ms(r.sent_ns, r.done_ns);
  m.e2e_from_scheduled_ms = interval_ms(r.scheduled_ns, r.done_ns);
  m.dispatch_lateness_ms = interval_ms(r.scheduled_ns, r.sent_ns);

  m.tokens = token_count(r);
  m.tokens_from_usage = r.tokens.empty();
  if (const auto fl = first_last_token_ns(r)) m.decode_ms = interval_ms(fl->first, fl->second);
  if (m.tokens >= 2 && m.decode_ms && *m.decode_ms >= 0) {
    m.tpot_ms = *m.decode_ms / double(m.tokens - 1);
    m.decode_tps = positive_rate(double(m.tokens - 1), m.decode_ms);
  }
  if (m.tokens > 0) m.output_tps = positive_rate(double(m.tokens), m.e2e_ms);

  if (token_times_known(r)) {
    m.itl_ms.reserve(r.tokens.size() - 1);
    for (size_t i = 1; i < r.tokens.size(); ++i) {
      m.itl_ms.push_back(double(r.tokens[i].arrival_ns - r.tokens[i - 1].arrival_ns) / kNsPerMs);
    }
  }
  int64_t prev = -1;
  for (const ChunkRecord& c : r.chunks) {
    if (c.arrival_ns >= 0 && c.parsed_ns >= 0) {
      m.parse_delay_ms.push_back(double(c.parsed_ns - c.arrival_ns) / kNsPerMs);
    }
    if (!carries_content(c) || c.arrival_ns < 0) continue;
    if (prev >= 0) m.chunk_gap_ms.push_back(double(c.arrival_ns - prev) / kNsPerMs);
    prev = c.arrival_ns;
  }
  return m;
}

LatencySummaries summarize_requests(std::span<const RequestRecord> completed) {
  std::vector<const RequestRecord*> set;
  for (const RequestRecord& r : completed) {
    if (r.ok()) set.push_back(&r);
  }
  return summarize_ptrs(set);
}

RunMetrics run_metrics(std::span<const RequestRecord> records, const RunMetricsOptions& opt) {
  RunMetrics out;
  std::vector<const RequestRecord*> done;
  std::vector<double> lateness, parse;
  int64_t t0 = std::numeric_limits<int64_t>::max();
  int64_t t1 = -1;
  for (const RequestRecord& r : records) {
    if (r.warmup && !opt.include_warmup) continue;
    ++out.selected;
    if (const auto l = interval_ms(r.scheduled_ns, r.sent_ns)) lateness.push_back(*l);
    for (const ChunkRecord& c : r.chunks) {
      if (const auto d = interval_ms(c.arrival_ns, c.parsed_ns)) parse.push_back(*d);
    }
    if (r.sent_ns >= 0) t0 = std::min(t0, r.sent_ns);
    t1 = std::max(t1, r.done_ns);
    if (!r.ok()) {
      ++out.failed;
      ++out.failed_by_code[r.error_code];
      continue;
    }
    ++out.completed;
    if (r.tokens.empty()) out.any_tokens_from_usage = true;
    done.push_back(&r);
  }
  out.all = summarize_ptrs(done);
  out.overhead.dispatch_lateness_ms = summarize(lateness);
  out.overhead.parse_delay_ms = summarize(parse);

  const double f = std::clamp(opt.steady_trim_fraction, 0.0, 0.49);
  out.steady.trim_fraction = f;
  if (t1 >= 0 && t0 != std::numeric_limits<int64_t>::max() && t1 > t0) {
    const double span = double(t1 - t0);
    const int64_t ws = t0 + int64_t(f * span);
    const int64_t we = t1 - int64_t(f * span);
    out.steady.window_start_ms = double(ws - t0) / kNsPerMs;
    out.steady.window_end_ms = double(we - t0) / kNsPerMs;
    std::vector<const RequestRecord*> in_window;
    for (const RequestRecord* r : done) {
      if (r->sent_ns >= ws && r->done_ns >= 0 && r->done_ns <= we) in_window.push_back(r);
    }
    out.steady.summaries = summarize_ptrs(in_window);
  }
  return out;
}

nlohmann::json to_json(const RequestMetrics& m) {
  nlohmann::json j;
  j["prompt_index"] = m.prompt_index;
  j["warmup"] = m.warmup;
  j["ok"] = m.ok;
  j["error_code"] = m.error_code;
  j["ttft_ms"] = opt_json(m.ttft_ms);
  j["ttft_from_scheduled_ms"] = opt_json(m.ttft_from_scheduled_ms);
  j["first_byte_ms"] = opt_json(m.first_byte_ms);
  j["e2e_ms"] = opt_json(m.e2e_ms);
  j["e2e_from_scheduled_ms"] = opt_json(m.e2e_from_scheduled_ms);
  j["dispatch_lateness_ms"] = opt_json(m.dispatch_lateness_ms);
  j["tokens"] = m.tokens;
  j["tokens_from_usage"] = m.tokens_from_usage;
  j["decode_ms"] = opt_json(m.decode_ms);
  j["tpot_ms"] = opt_json(m.tpot_ms);
  j["output_tps"] = opt_json(m.output_tps);
  j["decode_tps"] = opt_json(m.decode_tps);
  // Summaries, not the raw lists: a report holds many requests of hundreds of tokens.
  j["itl_ms"] = to_json(summarize(m.itl_ms));
  j["chunk_gap_ms"] = to_json(summarize(m.chunk_gap_ms));
  j["parse_delay_ms"] = to_json(summarize(m.parse_delay_ms));
  return j;
}

nlohmann::json to_json(const LatencySummaries& s) {
  nlohmann::json j;
  j["requests"] = s.requests;
  j["ttft_ms"] = to_json(s.ttft_ms);
  j["ttft_from_scheduled_ms"] = to_json(s.ttft_from_scheduled_ms);
  j["first_byte_ms"] = to_json(s.first_byte_ms);
  j["itl_ms"] = to_json(s.itl_ms);
  j["chunk_gap_ms"] = to_json(s.chunk_gap_ms);
  j["tpot_ms"] = to_json(s.tpot_ms);
  j["e2e_ms"] = to_json(s.e2e_ms);
  j["output_tps"] = to_json(s.output_tps);
  j["decode_tps"] = to_json(s.decode_tps);
  j["output_tokens"] = s.output_tokens;
  j["wall_ms"] = s.wall_ms;
  j["output_tokens_per_s"] = s.output_tokens_per_s;
  j["requests_per_s"] = s.requests_per_s;
  return j;
}

nlohmann::json to_json(const RunMetrics& m) {
  nlohmann::json j;
  j["selected"] = m.selected;
  j["completed"] = m.completed;
  j["failed"] = m.failed;
  j["failed_by_code"] = m.failed_by_code;
  j["any_tokens_from_usage"] = m.any_tokens_from_usage;
  j["all"] = to_json(m.all);
  j["steady_state"] = {{"trim_fraction", m.steady.trim_fraction},
                       {"window_start_ms", m.steady.window_start_ms},
                       {"window_end_ms", m.steady.window_end_ms},
                       {"summaries", to_json(m.steady.summaries)}};
  j["overhead"] = {{"dispatch_lateness_ms", to_json(m.overhead.dispatch_lateness_ms)},
                   {"parse_delay_ms", to_json(m.overhead.parse_delay_ms)},
                   {"client_cpu_s", opt_json(m.overhead.client_cpu_s)}};
  return j;
}

}  // namespace cacheon::harness

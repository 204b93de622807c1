#include "harness/scoring.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "harness/metrics.h"
#include "harness/stats.h"

namespace cacheon::harness {
namespace {

bool usable(const std::optional<double>& v) {
  return v && std::isfinite(*v) && *v > 0;
}

// Mean of the values that exist; nullopt when none does.
std::optional<double> mean_present(const std::vector<std::optional<double>>& xs) {
  double sum = 0;
  int n = 0;
  for (const auto& x : xs) {
    if (x && std::isfinite(*x)) {
      sum += *x;
      ++n;
    }
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

// Relative improvement (b - m) / b clamped at 0; 0 when b is not a usable reference.
double gain(std::optional<double> b, std::optional<double> m, bool lower_is_better) {
  if (!usable(b) || !m || !std::isfinite(*m)) return 0.0;
  const double rel = lower_is_better ? (*b - *m) / *b : (*m - *b) / *b;
  return std::isfinite(rel) ? std::max(0.0, rel) : 0.0;
}

// Baseline records of one prompt, one per baseline run that completed it.
std::vector<const RequestRecord*> baseline_records(const std::vector<Run>& baselines, int prompt) {
  std::vector<const RequestRecord*> out;
  for (const Run& b : baselines) {
    const RequestRecord* r = find_scored(b, prompt);
    if (r != nullptr && r->ok()) out.push_back(r);
  }
  return out;
}

}  // namespace

std::string ScoringPolicy::name() const {
  return fmt::format("{}@{}", kind == PolicyKind::e2e ? "e2e" : "ttft-tps", version);
}

Result<ScoringPolicy> parse_policy(std::string_view text) {
  const size_t at = text.find('@');
  const std::string_view base = text.substr(0, at);
  ScoringPolicy p;
  if (base == "e2e") {
    p.kind = PolicyKind::e2e;
  } else if (base == "ttft-tps") {
    p.kind = PolicyKind::ttft_tps;
  } else {
    return Error{"invalid_policy",
                 fmt::format("unknown scoring policy '{}'; known: e2e@1, ttft-tps@1", text)};
  }
  if (at != std::string_view::npos && text.substr(at + 1) != "1") {
    return Error{"invalid_policy", fmt::format("unknown version in '{}'; known: {}@1", text, base)};
  }
  return p;
}

std::vector<int> scored_prompts(Run run) {
  std::vector<int> out;
  for (const RequestRecord& r : run) {
    if (!r.warmup && std::find(out.begin(), out.end(), r.prompt_index) == out.end()) {
      out.push_back(r.prompt_index);
    }
  }
  return out;
}

const RequestRecord* find_scored(Run run, int prompt) {
  for (const RequestRecord& r : run) {
    if (!r.warmup && r.prompt_index == prompt) return &r;
  }
  return nullptr;
}

int64_t e2e_min_tokens(int64_t baseline_tokens) {
  const int64_t ceil90 = (9 * std::max<int64_t>(0, baseline_tokens) + 9) / 10;
  return std::max<int64_t>(2, ceil90);
}

std::optional<double> median_with_missing(std::vector<std::optional<double>> xs,
                                          bool missing_is_high) {
  if (xs.empty()) return std::nullopt;
  std::vector<double> present;
  for (const auto& x : xs) {
    if (x && std::isfinite(*x)) present.push_back(*x);
  }
  std::sort(present.begin(), present.end());
  const size_t n = xs.size();
  const size_t missing = n - present.size();
  // Ranks of the two middle order statistics in the full (n-element) sample.
  const size_t lo = (n - 1) / 2;
  const size_t hi = n / 2;
  const auto at = [&](size_t rank) -> std::optional<double> {
    if (missing_is_high) return rank < present.size() ? std::optional(present[rank]) : std::nullopt;
    return rank >= missing ? std::optional(present[rank - missing]) : std::nullopt;
  };
  const auto a = at(lo);
  const auto b = at(hi);
  if (!a || !b) return std::nullopt;
  return (*a + *b) / 2.0;
}

ScoreResult score_e2e(const std::vector<Run>& baselines, Run candidate) {
  ScoreResult out;
  out.policy = ScoringPolicy{PolicyKind::e2e, 1}.name();
  if (baselines.empty()) return out;
  std::vector<double> values;
  for (int prompt : scored_prompts(baselines.front())) {
    PromptScore p;
    p.prompt_index = prompt;
    const RequestRecord* b0 = find_scored(baselines.front(), prompt);
    const RequestRecord* c = find_scored(candidate, prompt);
    const std::vector<const RequestRecord*> bs = baseline_records(baselines, prompt);
    p.baseline_tokens = b0 != nullptr ? int64_t(b0->tokens.size()) : 0;
    if (c != nullptr) {
      p.candidate_tokens = int64_t(c->tokens.size());
      p.candidate_ttft_ms = request_metrics(*c).ttft_ms;
    }
    p.k = std::min(p.baseline_tokens, p.candidate_tokens);
    p.k_min = e2e_min_tokens(p.baseline_tokens);
    if (b0 == nullptr || !b0->ok() || p.baseline_tokens == 0) {
      p.note = "baseline_invalid";
    } else if (c == nullptr) {
      p.note = "candidate_missing";
    } else if (!c->ok()) {
      p.note = "candidate_failed";
    } else if (p.k < p.k_min) {
      p.note = "too_few_tokens";
    } else {
      std::vector<std::optional<double>> bt;
      for (const RequestRecord* b : bs) bt.push_back(time_to_kth_token_ms(*b, p.k));
      p.baseline_e2e_ms = mean_present(bt);
      p.candidate_e2e_ms = time_to_kth_token_ms(*c, p.k);
      if (!usable(p.baseline_e2e_ms)) {
        p.note = "baseline_invalid";
      } else if (!p.candidate_e2e_ms) {
        p.note = "no_token_times";
      } else if (*p.candidate_e2e_ms < 0) {
        p.note = "invalid_times";  // a token before the send: a clock or runner bug
      } else {
        p.earned = true;
        p.improvement = std::min(1.0, gain(p.baseline_e2e_ms, p.candidate_e2e_ms, true));
      }
    }
    values.push_back(p.improvement);
    out.prompts.push_back(std::move(p));
  }
  out.score = median(values);
  return out;
}

ScoreResult score_ttft_tps(const std::vector<Run>& baselines, Run candidate) {
  ScoreResult out;
  out.policy = ScoringPolicy{PolicyKind::ttft_tps, 1}.name();
  if (baselines.empty()) return out;
  std::vector<std::optional<double>> b_ttft, m_ttft, b_tps, m_tps;
  for (int prompt : scored_prompts(baselines.front())) {
    PromptScore p;
    p.prompt_index = prompt;
    std::vector<std::optional<double>> bt, bp;
    for (const RequestRecord* b : baseline_records(baselines, prompt)) {
      const RequestMetrics bm = request_metrics(*b);
      bt.push_back(bm.ttft_ms);
      bp.push_back(bm.decode_tps);
    }
    if (const RequestRecord* b0 = find_scored(baselines.front(), prompt)) {
      p.baseline_tokens = token_count(*b0);
    }
    p.baseline_ttft_ms = mean_present(bt);
    p.baseline_tps = mean_present(bp);
    const RequestRecord* c = find_scored(candidate, prompt);
    if (c == nullptr) {
      p.note = "candidate_missing";
    } else if (!c->ok()) {
      p.note = "candidate_failed";
    } else {
      const RequestMetrics cm = request_metrics(*c);
      p.candidate_tokens = cm.tokens;
      p.candidate_ttft_ms = cm.ttft_ms;
      p.candidate_tps = cm.decode_tps;
      if (p.candidate_ttft_ms && *p.candidate_ttft_ms < 0) p.candidate_ttft_ms.reset();
      p.earned = p.candidate_ttft_ms.has_value() && p.candidate_tps.has_value();
      if (!p.earned) p.note = "no_token_times";
    }
    if (!usable(p.baseline_ttft_ms) || !usable(p.baseline_tps)) {
      if (p.note.empty()) p.note = "baseline_invalid";
      p.earned = false;
    }
    // A prompt without a usable baseline value leaves both medians of that metric (compare
    // like with like); a candidate without a value enters its median as the worst value.
    if (usable(p.baseline_ttft_ms)) {
      b_ttft.push_back(p.baseline_ttft_ms);
      m_ttft.push_back(p.candidate_ttft_ms);
    }
    if (usable(p.baseline_tps)) {
      b_tps.push_back(p.baseline_tps);
      m_tps.push_back(p.candidate_tps);
    }
    out.prompts.push_back(std::move(p));
  }
  out.baseline_ttft_ms = median_with_missing(b_ttft, true);
  out.baseline_tps = median_with_missing(b_tps, false);
  out.candidate_ttft_ms = median_with_missing(m_ttft, true);
  out.candidate_tps = median_with_missing(m_tps, false);
  out.ttft_term = gain(out.baseline_ttft_ms, out.candidate_ttft_ms, true);
  out.tps_term = gain(out.baseline_tps, out.candidate_tps, false);
  out.score = 0.5 * out.ttft_term + 0.5 * out.tps_term;
  return out;
}

ScoreResult score_run(const ScoringPolicy& policy, const std::vector<Run>& baselines,
                      Run candidate) {
  return policy.kind == PolicyKind::e2e ? score_e2e(baselines, candidate)
                                        : score_ttft_tps(baselines, candidate);
}

nlohmann::json to_json(const PromptScore& p) {
  const auto o = [](const std::optional<double>& v) {
    return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  return {{"prompt_index", p.prompt_index},
          {"earned", p.earned},
          {"note", p.note},
          {"baseline_tokens", p.baseline_tokens},
          {"candidate_tokens", p.candidate_tokens},
          {"k", p.k},
          {"k_min", p.k_min},
          {"baseline_e2e_ms", o(p.baseline_e2e_ms)},
          {"candidate_e2e_ms", o(p.candidate_e2e_ms)},
          {"improvement", p.improvement},
          {"baseline_ttft_ms", o(p.baseline_ttft_ms)},
          {"candidate_ttft_ms", o(p.candidate_ttft_ms)},
          {"baseline_tps", o(p.baseline_tps)},
          {"candidate_tps", o(p.candidate_tps)}};
}

nlohmann::json to_json(const ScoreResult& r) {
  const auto o = [](const std::optional<double>& v) {
    return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json prompts = nlohmann::json::array();
  for (const PromptScore& p : r.prompts) prompts.push_back(to_json(p));
  nlohmann::json j = {{"policy", r.policy}, {"score", r.score}, {"prompts", prompts}};
  if (r.policy.rfind("ttft-tps", 0) == 0) {
    j["baseline_ttft_ms"] = o(r.baseline_ttft_ms);
    j["candidate_ttft_ms"] = o(r.candidate_ttft_ms);
    j["baseline_tps"] = o(r.baseline_tps);
    j["candidate_tps"] = o(r.candidate_tps);
    j["ttft_term"] = r.ttft_term;
    j["tps_term"] = r.tps_term;
  }
  return j;
}

}  // namespace cacheon::harness

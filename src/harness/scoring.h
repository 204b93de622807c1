// Scoring policies: speed of a candidate run relative to the baseline run(s), on the same prompts.
// Versioned: a result always names "<policy>@<version>"; a changed formula is a new version.
//
// Scored prompts are the non-warm-up prompt indices of the first baseline run, in its order; a
// run holding a prompt twice is judged on its first scored record of it. With two baseline runs
// (B, B') the baseline reference for a prompt is the mean of the runs' values (only runs that
// completed the prompt with enough tokens count).
//
// e2e@1 (default). Per prompt: b = baseline tokens (token records of B), m = candidate tokens,
//   k = min(b, m), k_min = max(2, ceil(0.9 * b)) computed in integers as (9b + 9) / 10.
//   k < k_min earns 0; else e2e = sent -> arrival of the k-th token for both sides and
//   improvement = max(0, (b_e2e - m_e2e) / b_e2e). Score = median of the per-prompt values
//   (failed, missing or unmeasurable prompts count as 0; median of an even count is the mean of
//   the two middle values).
// ttft-tps@1 (the original V1 formula).
//   score = 0.5 * max(0, (b_ttft - m_ttft) / b_ttft) + 0.5 * max(0, (m_tps - b_tps) / b_tps),
//   each of the four a median over scored prompts. TTFT is ttft_ms. TPS is decode TPS,
//   (tokens - 1) / (last token - first token), so the two terms do not both count the prefill.
//   A candidate prompt that failed or has no measurable value counts as the worst value (TTFT
//   infinitely late, TPS 0); if such a value is the median the term is 0. Known weakness kept
//   for fidelity: decode TPS rewards holding tokens back and sending them in a fast burst; e2e
//   was introduced because of it.
// Guards: a baseline value <= 0 or missing makes that term/prompt earn 0; nothing yields NaN or
//   inf; the score is always in [0, +inf) for ttft-tps and [0, 1] for e2e.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "harness/record.h"

namespace cacheon::harness {

using Run = std::span<const RequestRecord>;

enum class PolicyKind { e2e, ttft_tps };

struct ScoringPolicy {
  PolicyKind kind = PolicyKind::e2e;
  int version = 1;
  std::string name() const;  // "e2e@1", "ttft-tps@1"
};

// Accepts "e2e", "e2e@1", "ttft-tps", "ttft-tps@1" (a bare name means the latest version).
// Unknown names or versions: Error code "invalid_policy".
Result<ScoringPolicy> parse_policy(std::string_view text);

// Non-warm-up prompt indices of a run in first-appearance order, without repeats.
std::vector<int> scored_prompts(Run run);
// The first non-warm-up record of `prompt` in `run`, or nullptr.
const RequestRecord* find_scored(Run run, int prompt);

// k_min = max(2, ceil(0.9 * baseline_tokens)), in integer arithmetic.
int64_t e2e_min_tokens(int64_t baseline_tokens);

struct PromptScore {
  int prompt_index = -1;
  bool earned = false;  // false: the prompt contributes 0 (e2e) / worst values (ttft-tps)
  std::string note;     // why not earned: candidate_failed, candidate_missing, too_few_tokens,
                        // no_token_times, invalid_times, baseline_invalid; "" when earned
  int64_t baseline_tokens = 0;
  int64_t candidate_tokens = 0;
  // e2e
  int64_t k = 0;
  int64_t k_min = 0;
  std::optional<double> baseline_e2e_ms;   // mean over baseline runs, sent -> k-th token
  std::optional<double> candidate_e2e_ms;  // sent -> k-th token
  double improvement = 0;                  // e2e per-prompt value in [0, 1]
  // ttft-tps (TTFT also filled under e2e, for reports)
  std::optional<double> baseline_ttft_ms;
  std::optional<double> candidate_ttft_ms;
  std::optional<double> baseline_tps;  // decode TPS
  std::optional<double> candidate_tps;
};

struct ScoreResult {
  std::string policy;  // ScoringPolicy::name()
  double score = 0;
  std::vector<PromptScore> prompts;
  // ttft-tps aggregates (medians); nullopt when no value or a worst value is the median.
  std::optional<double> baseline_ttft_ms;
  std::optional<double> candidate_ttft_ms;
  std::optional<double> baseline_tps;
  std::optional<double> candidate_tps;
  double ttft_term = 0;
  double tps_term = 0;
};

// baselines: 1 or more runs over the same prompts (2 in a B, C, B' bracket). With none, or no
// scored prompt, the score is 0 with no prompts.
ScoreResult score_run(const ScoringPolicy& policy, const std::vector<Run>& baselines,
                      Run candidate);
ScoreResult score_e2e(const std::vector<Run>& baselines, Run candidate);
ScoreResult score_ttft_tps(const std::vector<Run>& baselines, Run candidate);

// The median of a sample where nullopt means "worse than any value": nullopt sorts high
// (missing_is_high) or low. Returns nullopt when the median would involve a missing value.
std::optional<double> median_with_missing(std::vector<std::optional<double>> xs,
                                          bool missing_is_high);

nlohmann::json to_json(const PromptScore& p);
nlohmann::json to_json(const ScoreResult& r);

}  // namespace cacheon::harness

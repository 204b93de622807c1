// The verdict on one evaluation: reason codes, baseline noise, and the decision procedure.
//
// decide() order (the first that applies wins):
//  1. arena-side input problems (no baseline, no scored prompt)            -> harness_error
//  2. a baseline run failed a prompt or streamed no tokens                  -> baseline_failed
//  3. two baseline runs disagree on a prompt's token sequence               -> baseline_unstable
//     (1-3 blame the arena: nothing is said about the candidate, decided = false)
//  4. the candidate never came up (EvalInputs::startup_error)               -> its code
//  5. a candidate request failed (first failing prompt in prompt order)     -> prompt_error
//  6. correctness gates, prompts in order, gates in order structural, first-mismatch,
//     teacher-forcing: the first fail -> that gate's code, score 0. A fail is decisive even if
//     another gate was unavailable (the failing check did not depend on it); with no fail, an
//     unavailable gate -> its code (scorer_unavailable), arena blame, decided = false.
//  7. the policy's score; passed = true (a score of 0 still passes: correct, not faster).
//
// Noise (two baseline runs B and B'): per prompt relative spread |x - y| / ((x + y) / 2) of the
// policy's metric: e2e -> time to the last common token (k = min of the two token counts);
// ttft-tps -> 0.5 * spread(ttft) + 0.5 * spread(decode TPS), i.e. in score units. noise_floor =
// max(kMinNoiseFloor, kNoiseFactor * the 90th percentile (linear interpolation) of the per-prompt
// spreads): the bracket measures the baseline's spread only, the candidate has its own, and no
// difference under 1% is ever claimed. The score is outside_noise only if score > noise_floor; with one
// baseline run the confidence is unmeasured.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "harness/gates.h"
#include "harness/record.h"
#include "harness/scoring.h"

namespace cacheon::harness {

enum class Blame { none, candidate, arena };
std::string_view to_string(Blame b);

// verdict: a verdict's reason; request_error: a RequestRecord::error_code set by the runner
// (prompt_error on a candidate, baseline_failed on a baseline).
enum class ReasonKind { verdict, request_error };

struct ReasonInfo {
  std::string_view code;
  Blame blame;  // for request errors: the blame when seen on the candidate
  ReasonKind kind;
  // Placeholders {prompt} and {detail}; render_reason fills them.
  std::string_view message_template;
};

namespace reason {
inline constexpr std::string_view kOk = "ok";
inline constexpr std::string_view kFirstMismatch = "correctness_first_mismatch";
inline constexpr std::string_view kTeacherForcing = "correctness_teacher_forcing";
inline constexpr std::string_view kPromptError = "prompt_error";
inline constexpr std::string_view kTooFewTokens = "too_few_tokens";
inline constexpr std::string_view kLogprobCountMismatch = "logprob_count_mismatch";
inline constexpr std::string_view kUsageMismatch = "usage_mismatch";
inline constexpr std::string_view kFinishReasonMissing = "finish_reason_missing";
inline constexpr std::string_view kFinishReasonInvalid = "finish_reason_invalid";
inline constexpr std::string_view kFinishReasonInconsistent = "finish_reason_inconsistent";
inline constexpr std::string_view kTooManyTokens = "too_many_tokens";
inline constexpr std::string_view kDataAfterDone = "data_after_done";
inline constexpr std::string_view kTokensAfterFinish = "tokens_after_finish";
inline constexpr std::string_view kMissingDone = "missing_done";
inline constexpr std::string_view kStartupTimeout = "startup_timeout";
inline constexpr std::string_view kCandidateUnreachable = "candidate_unreachable";
inline constexpr std::string_view kBaselineFailed = "baseline_failed";
inline constexpr std::string_view kBaselineUnstable = "baseline_unstable";
inline constexpr std::string_view kScorerUnavailable = "scorer_unavailable";
inline constexpr std::string_view kHarnessError = "harness_error";
}  // namespace reason

// Every code, verdict reasons first, then request errors.
std::span<const ReasonInfo> reason_catalogue();
const ReasonInfo* find_reason(std::string_view code);  // nullptr when unknown
bool is_request_error(std::string_view code);
// The code's template with {prompt} and {detail} replaced; an unknown code renders as
// "<code>: {detail}".
std::string render_reason(std::string_view code, int prompt, std::string_view detail);

inline constexpr double kNoiseFactor = 2.0;
inline constexpr double kMinNoiseFloor = 0.01;

struct PromptSpread {
  int prompt_index = -1;
  std::optional<double> b;       // B: e2e -> time to the last common token, ttft-tps -> TTFT (ms)
  std::optional<double> b2;      // the same in B'
  std::optional<double> b_tps;   // ttft-tps only: decode TPS in B
  std::optional<double> b2_tps;  // and in B'
  double relative_spread = 0;
};

struct NoiseEstimate {
  bool measured = false;  // two baseline runs with at least one comparable prompt
  std::string metric;     // "time_to_last_common_token_ms" or "ttft_ms+decode_tps"
  std::vector<PromptSpread> prompts;
  double median_spread = 0;
  double max_spread = 0;
  double noise_floor = 0;  // p90 of the per-prompt spreads
};

NoiseEstimate estimate_noise(const ScoringPolicy& policy, Run b, Run b2);

enum class Confidence { outside_noise, within_noise, unmeasured };
std::string_view to_string(Confidence c);

struct EvalInputs {
  std::vector<Run> baselines;  // B, or B and B'; the records must outlive decide()
  Run candidate;
  GateConfig gates;
  ScoringPolicy policy;
  TrustedScorer* scorer = nullptr;  // for teacher-forcing; not owned
  // Prompt messages by prompt index (teacher-forcing needs the prompt).
  std::vector<std::vector<GateMessage>> prompt_messages;
  // Set when the candidate never served (code startup_timeout or candidate_unreachable).
  std::optional<Error> startup_error;
};

struct Verdict {
  bool decided = false;  // false: arena-side failure, nothing is said about the candidate
  bool passed = false;   // decided, no gate failed, scored
  std::string reason_code = std::string(reason::kHarnessError);
  std::string message;
  Blame blame = Blame::arena;
  std::string policy;
  double score = 0;
  int failed_prompt = -1;              // the prompt the reason is about, if any
  std::string request_error_code;      // for prompt_error / baseline_failed
  std::vector<GateResult> gates;       // every gate on every scored prompt that ran
  // The policy's computation whenever every candidate request completed. Its score is the speed
  // alone: after a gate failure it may be > 0 while Verdict::score, the one that counts, is 0.
  std::optional<ScoreResult> scoring;
  NoiseEstimate noise;
  Confidence confidence = Confidence::unmeasured;
  double noise_floor = 0;  // copy of noise.noise_floor when measured
};

Verdict decide(const EvalInputs& in);

nlohmann::json to_json(const NoiseEstimate& n);
nlohmann::json to_json(const Verdict& v);

}  // namespace cacheon::harness

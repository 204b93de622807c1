// Correctness gates: per-prompt checks of a candidate's output, run before any speed credit.
//
// Gates (names as used in configs and reports):
// - "first-mismatch"  greedy tokens against the baseline's (see check_first_mismatch).
// - "structural"      the stream is well formed and self-consistent (see check_structural).
// - "teacher-forcing" a trusted engine scores the candidate's text (see check_teacher_forcing).
// Each gate yields one GateResult per prompt. `unavailable` means the arena could not run the
// gate (no scorer, scorer error, missing baseline): it is never a pass and never the candidate's
// fault.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "harness/record.h"
#include "openai/chat_request.h"

namespace cacheon::harness {

inline constexpr std::string_view kGateFirstMismatch = "first-mismatch";
inline constexpr std::string_view kGateStructural = "structural";
inline constexpr std::string_view kGateTeacherForcing = "teacher-forcing";

enum class GateStatus { pass, fail, unavailable };
std::string_view to_string(GateStatus s);

struct GateResult {
  std::string gate;  // one of the kGate* names
  int prompt_index = -1;
  GateStatus status = GateStatus::unavailable;
  std::string reason_code;  // "ok" on pass; a harness/verdict.h code otherwise
  std::string message;      // one human line
  nlohmann::json details = nlohmann::json::object();  // for the dashboard; strings valid UTF-8
  bool passed() const { return status == GateStatus::pass; }
};

nlohmann::json to_json(const GateResult& g);

struct FirstMismatchConfig {
  int top_k = 5;                 // the baseline token must be in the first top_k entries
  double max_logprob_gap = 0.5;  // candidate top-1 logprob - candidate logprob of baseline token
  double top1_tolerance = 1e-6;  // chosen token counts as top-1 within this of the list's max
};

struct TeacherForcingConfig {
  double min_mean_logprob = -4.0;    // pass needs mean >= this
  double min_token_logprob = -12.0;  // and every token >= this
};

struct GateConfig {
  // Teacher-forcing needs a trusted scorer, so it is opt-in; the other two are on by default.
  bool first_mismatch = true;
  bool structural = true;
  bool teacher_forcing = false;
  FirstMismatchConfig first_mismatch_cfg;
  TeacherForcingConfig teacher_forcing_cfg;
};

// "first-mismatch,structural,teacher-forcing" in any order, spaces allowed; "none" turns all
// off. Thresholds keep their defaults. Errors (code "invalid_gate_list"): empty list, unknown
// name (the message lists the known ones), duplicate, "none" mixed with names.
Result<GateConfig> parse_gate_list(std::string_view list);
std::string gate_list_string(const GateConfig& cfg);  // canonical comma list, or "none"

// Token identity: the raw bytes when both sides report them, else the `token` strings.
bool same_token(const TokenRecord& a, const TokenRecord& b);

// first-mismatch: walk candidate tokens against the baseline's. At the first position i where
// they differ, pass only if all three hold, judged on the candidate's own top list at i:
//  (a) chosen_is_top1: the candidate's chosen logprob >= max(top logprobs) - top1_tolerance
//      (a tie with the best entry counts as top-1; an empty top list fails);
//  (b) in_top_k: the baseline token's string is among the first top_k entries;
//  (c) gap_ok: max(top logprobs) - (top logprob of the baseline token) <= max_logprob_gap
//      (+1e-9 for rounding).
// No difference over the common prefix passes (length is the scoring policy's business),
// except a candidate with 0 tokens against a baseline with some: fail, too_few_tokens.
// Compares only the first divergence: after it the contexts differ and tokens mean nothing.
GateResult check_first_mismatch(const RequestRecord& baseline, const RequestRecord& candidate,
                                const FirstMismatchConfig& cfg = {});

// structural: the candidate stream's self-consistency. Fails on the first of these (all found
// are listed in details.issues):
//  logprob_count_mismatch  content events without logprobs (when logprobs were requested)
//  usage_mismatch          usage.completion_tokens != streamed tokens (usage absent is fine)
//  too_many_tokens         tokens > max_tokens_requested (when > 0)
//  finish_reason_missing   no finish_reason
//  finish_reason_invalid   finish_reason other than "stop" / "length"
//  finish_reason_inconsistent  "length" with tokens != max_tokens_requested
//  tokens_after_finish     tokens in events after the finish_reason event
//  data_after_done         data events after [DONE]
//  missing_done            the stream never sent [DONE] (the contract requires it)
// With logprobs_requested false the token count comes from usage and the first two checks
// are skipped.
GateResult check_structural(const RequestRecord& candidate, bool logprobs_requested = true);

// The prompt as chat messages: the wire type itself, so prompts pass through unconverted.
using GateMessage = openai::ChatMessage;

// A validator-owned engine that scores text under a prompt (teacher forcing): it tokenizes
// `assistant_text` itself and returns the logprob of each of its tokens given the prompt and the
// preceding tokens. Miner-reported logprobs are never used for this gate.
class TrustedScorer {
 public:
  virtual ~TrustedScorer() = default;
  virtual Result<std::vector<double>> token_logprobs(
      const std::vector<GateMessage>& prompt_messages, std::string_view assistant_text) = 0;
};

// teacher-forcing: pass if mean >= min_mean_logprob and min >= min_token_logprob over the
// scorer's logprobs of candidate.content. `unavailable` (scorer_unavailable) when scorer is null,
// errors, returns NaN, or returns nothing for non-empty text. Empty text passes (nothing to judge;
// first-mismatch covers empty output).
GateResult check_teacher_forcing(TrustedScorer* scorer, const std::vector<GateMessage>& prompt,
                                 const RequestRecord& candidate,
                                 const TeacherForcingConfig& cfg = {});

// Valid UTF-8 copy of s (invalid sequences become U+FFFD), and a quoted, escaped form for
// messages: "\"a\\nb\"".
std::string sanitize_utf8(std::string_view s);
std::string quote_token(std::string_view s);

}  // namespace cacheon::harness

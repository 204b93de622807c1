// Standings: the leader and the runner-up, updated once per round from every participant's fresh
// result. Pure: (previous standings, round results, metagraph at the round block, margin policy,
// round block) -> (new standings, events with reason codes).
//
// Rules (README.md gives the reasons):
//  1. Eligible to hold a place: registered (the metagraph at the round block maps the hotkey to a
//     UID), passed, not arena-blamed, finite score, score > 0 (a server not faster than the
//     baseline never leads and never earns the runner-up share).
//  2. Incumbents (leader, runner-up) are matched by (hotkey, commit_block). One whose UID now
//     holds another hotkey (deregistered, recycled) loses its place, even if the hotkey has
//     registered again elsewhere. One that failed (not passed, candidate's fault) loses its place
//     (disqualified); one whose fresh score is <= 0 loses it too (no_speedup). One with no
//     judgement (arena blame, a non-finite score, or no result at all) keeps competing with its
//     last recorded score: arena failures neither shield nor punish.
//  3. Challengers: every other result. A non-finite score is an arena fault (no_judgement-like
//     event invalid_score), never a crowning.
//  4. A challenger takes the lead only if challenger_score > leader_score + margin(round block):
//     ADDITIVE on the score (scores are relative speed-ups: 0.05 = 5% faster than the baseline,
//     so a 1% margin means one more percentage point). Equal is not enough. With no incumbent
//     leader the best eligible participant is crowned without a margin.
//  5. Runner-up: the best eligible participant whose hotkey differs from the leader's (the
//     dethroned leader included). No margin.
//  6. Order among participants ("best"): higher score, then earlier commit block, then smaller
//     hotkey (lexicographic). Duplicate results for one (hotkey, commit_block): the first counts.
//
// Margin policies: decaying: margin(b) = initial * max(0, 1 - (b - crowned_block) / decay_blocks)
// evaluated in exact integers for the block difference (clamped to [0, decay_blocks]); fixed:
// margin(b) = fixed.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arena/types.h"
#include "core/status.h"

namespace cacheon::arena {

struct MarginPolicy {
  enum class Kind { decaying, fixed };
  Kind kind = Kind::decaying;
  double initial = 0.01;          // decaying: margin at the crowning block
  int64_t decay_blocks = 50'400;  // decaying: blocks until the margin reaches 0 (~7 days)
  double fixed = 0.01;            // fixed
};
std::string_view to_string(MarginPolicy::Kind k);
// "decaying" / "fixed"; error code margin_policy_invalid otherwise.
Result<MarginPolicy::Kind> parse_margin_kind(std::string_view name);
// Margins finite and in [0, 1); decay_blocks > 0. Error code "margin_policy_invalid".
Status validate_margin_policy(const MarginPolicy& p);
double margin_at(const MarginPolicy& p, BlockNumber crowned_block, BlockNumber block);

struct Holder {
  std::string hotkey;
  BlockNumber commit_block = 0;
  int uid = -1;
  BlockNumber crowned_block = 0;  // the block it took this place
  double score = 0;               // its latest judged score
};

struct Standings {
  std::optional<Holder> leader;
  std::optional<Holder> runner_up;
};

struct MetagraphEntry {
  int uid = -1;
  std::string hotkey;
};

namespace standings_code {
inline constexpr std::string_view kCrowned = "crowned";
inline constexpr std::string_view kDefended = "defended";
inline constexpr std::string_view kDethroned = "dethroned";
inline constexpr std::string_view kReplaced = "replaced";  // by its own hotkey's newer commit
inline constexpr std::string_view kLeaderVacant = "leader_vacant";
inline constexpr std::string_view kRunnerUpSet = "runner_up_set";
inline constexpr std::string_view kRunnerUpKept = "runner_up_kept";
inline constexpr std::string_view kRunnerUpCleared = "runner_up_cleared";
inline constexpr std::string_view kDeregistered = "deregistered";
inline constexpr std::string_view kDisqualified = "disqualified";
inline constexpr std::string_view kNoSpeedup = "no_speedup";
inline constexpr std::string_view kNoJudgement = "no_judgement";
inline constexpr std::string_view kInvalidScore = "invalid_score";
inline constexpr std::string_view kNotEvaluated = "not_evaluated";
inline constexpr std::string_view kNotRegistered = "not_registered";
inline constexpr std::string_view kEligible = "eligible";
}  // namespace standings_code

namespace role {
inline constexpr std::string_view kLeader = "leader";
inline constexpr std::string_view kRunnerUp = "runner_up";
inline constexpr std::string_view kChallenger = "challenger";
}  // namespace role

struct StandingsEvent {
  std::string code;  // standings_code
  std::string role;  // the participant's role coming into the round
  std::string hotkey;
  BlockNumber commit_block = 0;
  double score = 0;     // the score the decision used (0 when none)
  std::string message;  // one human line
};

struct RoundInput {
  Standings previous;
  std::vector<RoundResult> results;       // every participant, incumbents included
  std::vector<MetagraphEntry> metagraph;  // at the round block
  MarginPolicy margin;
  BlockNumber block = 0;  // the round block
};

struct RoundOutcome {
  Standings standings;
  // Per participant (incumbents first, then challengers by (commit_block, hotkey)), then the
  // leader decision, then the runner-up decision.
  std::vector<StandingsEvent> events;
  // With an incumbent leader that competed: the margin at the round block and the score a
  // challenger had to beat (incumbent's score + margin). Unset otherwise (no margin applies).
  std::optional<double> margin;
  std::optional<double> overtake_threshold;
};

// Fails only on an invalid margin policy (margin_policy_invalid).
Result<RoundOutcome> update_standings(const RoundInput& in);

}  // namespace cacheon::arena

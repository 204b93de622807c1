// Weights: how the standings become the weight vector a validator sets on chain, and when to set
// it. Pure.
//
//   pool      = schedule step in force at the block, else min(1, leader_score / target)
//   leader    = pool * leader_share (0.8), or the whole pool without a runner-up
//   runner-up = pool * (1 - leader_share)
//   burn UID  = 1 - pool (everything without a leader)
// Fractions of the same UID add up (e.g. the leader sitting on the burn UID). Then u16
// normalization by largest remainder: each UID gets floor(f * 65535), and the units left over go
// one each to the largest fractional parts (ties: smaller UID), so the sum is exactly 65535. The
// chain may rescale (subtensor normalizes so the max is 65535); ratios survive up to rounding.
//
// Schedule: steps (from_block, fraction) sorted strictly by from_block, each fraction in [0, 1].
// The step with the greatest from_block <= block sets the pool; before the first step the score
// formula applies, so an operator can schedule a future change.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "arena/standings.h"
#include "arena/types.h"
#include "core/status.h"

namespace cacheon::arena {

inline constexpr uint16_t kU16Total = 65535;

struct PoolStep {
  BlockNumber from_block = 0;
  double fraction = 0;
};

struct WeightPolicy {
  double leader_share = 0.8;  // of the pool, when there is a runner-up
  double target = 0.10;       // the leader score that earns the whole pool
  std::vector<PoolStep> schedule;
  int burn_uid = 0;
};
// Error code "weight_policy_invalid": shares/fractions outside [0, 1], target not positive and
// finite, schedule not strictly increasing, burn UID negative.
Status validate_weight_policy(const WeightPolicy& p);

// Same field layout as ledger::UidWeight (arena does not depend on ledger).
struct UidWeight {
  int uid = 0;
  uint16_t weight = 0;
  bool operator==(const UidWeight&) const = default;
};

struct UidFraction {
  int uid = 0;
  double fraction = 0;
};

struct WeightPlan {
  double pool = 0;                     // the share that goes to miners
  std::string pool_source;             // "score", "schedule" or "no_leader"
  std::vector<UidFraction> fractions;  // by UID, fraction > 0 only; sum 1
  std::vector<UidWeight> weights;      // by UID, weight > 0 only; sum exactly 65535
};

// A leader or runner-up with a negative UID is treated as absent.
Result<WeightPlan> compute_weights(const Standings& standings, const WeightPolicy& policy,
                                   BlockNumber block);

// Largest-remainder u16 normalization of non-negative fractions (any positive sum; NaN,
// infinite and negative entries count as 0). Sorted by UID, zero weights dropped; entries of the
// same UID are added. All zero: empty.
std::vector<UidWeight> normalize_u16(std::span<const UidFraction> fractions);

struct SetWeightsDecision {
  bool set = false;
  std::string reason;  // "first", "changed", "tempo_elapsed", "rate_limited", "unchanged",
                       // "block_before_last_set"
};

// last_set_block / last_weights: what this validator last set (nullopt: never). Weights are set
// when they differ from the last ones and the chain's rate limit allows, and at least every
// tempo blocks (to stay active) once the rate limit allows. Compared as sets of (uid, weight).
SetWeightsDecision should_set_weights(std::optional<BlockNumber> last_set_block,
                                      std::span<const UidWeight> last_weights,
                                      std::span<const UidWeight> new_weights,
                                      BlockNumber current_block, int64_t tempo = 360,
                                      int64_t rate_limit = 0);

}  // namespace cacheon::arena

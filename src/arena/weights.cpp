#include "arena/weights.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>

namespace cacheon::arena {
namespace {

Error invalid(std::string message) { return {"weight_policy_invalid", std::move(message)}; }

bool unit_interval(double x) { return std::isfinite(x) && x >= 0 && x <= 1; }

// Sorted by UID, zero weights dropped: the canonical form for comparison.
std::vector<UidWeight> canonical(std::span<const UidWeight> w) {
  std::map<int, uint32_t> by_uid;
  for (const UidWeight& x : w) by_uid[x.uid] += x.weight;
  std::vector<UidWeight> out;
  for (const auto& [uid, weight] : by_uid)
    if (weight > 0) out.push_back({uid, uint16_t(std::min<uint32_t>(weight, kU16Total))});
  return out;
}

}  // namespace

Status validate_weight_policy(const WeightPolicy& p) {
  if (!unit_interval(p.leader_share)) return invalid("leader_share must be in [0, 1]");
  if (!std::isfinite(p.target) || p.target <= 0) return invalid("target must be positive");
  if (p.burn_uid < 0) return invalid("burn_uid must be >= 0");
  for (size_t i = 0; i < p.schedule.size(); ++i) {
    if (!unit_interval(p.schedule[i].fraction))
      return invalid("schedule fractions must be in [0, 1]");
    if (i > 0 && p.schedule[i].from_block <= p.schedule[i - 1].from_block)
      return invalid("schedule steps must be sorted by strictly increasing from_block");
  }
  return Status::Ok();
}

std::vector<UidWeight> normalize_u16(std::span<const UidFraction> fractions) {
  std::map<int, long double> by_uid;
  for (const UidFraction& f : fractions)
    by_uid[f.uid] += (std::isfinite(f.fraction) && f.fraction > 0) ? f.fraction : 0.0L;
  long double total = 0;
  for (const auto& [uid, f] : by_uid) total += f;
  if (!(total > 0) || !std::isfinite(double(total))) return {};

  struct Share {
    int uid;
    int64_t units;
    long double remainder;
  };
  std::vector<Share> shares;
  int64_t assigned = 0;
  for (const auto& [uid, f] : by_uid) {
    const long double quota = f / total * kU16Total;
    const int64_t units = std::clamp<int64_t>(int64_t(std::floor(quota)), 0, kU16Total);
    shares.push_back({uid, units, quota - units});
    assigned += units;
  }
  // Largest remainder first (ties: smaller UID) receives the units left over; if rounding ever
  // overshot, the smallest remainders give back first.
  std::vector<Share*> order;
  for (Share& s : shares) order.push_back(&s);
  std::sort(order.begin(), order.end(), [](const Share* a, const Share* b) {
    return a->remainder != b->remainder ? a->remainder > b->remainder : a->uid < b->uid;
  });
  for (size_t i = 0; assigned < kU16Total; i = (i + 1) % order.size()) {
    ++order[i]->units;
    ++assigned;
  }
  for (size_t i = order.size(); assigned > kU16Total; i = (i == 0 ? order.size() : i) - 1) {
    if (i < order.size() && order[i]->units > 0) {
      --order[i]->units;
      --assigned;
    }
  }
  std::vector<UidWeight> out;
  for (const Share& s : shares)
    if (s.units > 0) out.push_back({s.uid, uint16_t(s.units)});
  return out;
}

Result<WeightPlan> compute_weights(const Standings& standings, const WeightPolicy& policy,
                                   BlockNumber block) {
  if (Status s = validate_weight_policy(policy); !s) return s.error();
  WeightPlan plan;
  std::map<int, double> f;
  // A holder without a UID cannot receive weight: treated as absent.
  const bool has_runner_up = standings.runner_up && standings.runner_up->uid >= 0;
  if (!standings.leader || standings.leader->uid < 0) {
    plan.pool = 0;
    plan.pool_source = "no_leader";
  } else {
    const PoolStep* step = nullptr;
    for (const PoolStep& s : policy.schedule)
      if (s.from_block <= block) step = &s;
    if (step) {
      plan.pool = step->fraction;
      plan.pool_source = "schedule";
    } else {
      const double score = standings.leader->score;
      plan.pool = std::isfinite(score) ? std::clamp(score / policy.target, 0.0, 1.0) : 0.0;
      plan.pool_source = "score";
    }
    if (has_runner_up) {
      f[standings.leader->uid] += plan.pool * policy.leader_share;
      f[standings.runner_up->uid] += plan.pool * (1 - policy.leader_share);
    } else {
      f[standings.leader->uid] += plan.pool;
    }
  }
  f[policy.burn_uid] += 1 - plan.pool;
  std::vector<UidFraction> fr;
  for (const auto& [uid, x] : f)
    if (x > 0) fr.push_back({uid, x});
  plan.weights = normalize_u16(fr);
  plan.fractions = std::move(fr);
  return plan;
}

SetWeightsDecision should_set_weights(std::optional<BlockNumber> last_set_block,
                                      std::span<const UidWeight> last_weights,
                                      std::span<const UidWeight> new_weights,
                                      BlockNumber current_block, int64_t tempo,
                                      int64_t rate_limit) {
  if (!last_set_block) return {true, "first"};
  if (current_block < *last_set_block) return {false, "block_before_last_set"};
  // Saturating: hostile block numbers must not overflow.
  const int64_t elapsed = (*last_set_block < 0 && current_block > INT64_MAX + *last_set_block)
                              ? INT64_MAX
                              : current_block - *last_set_block;
  const bool allowed = elapsed >= rate_limit;
  if (canonical(last_weights) != canonical(new_weights))
    return allowed ? SetWeightsDecision{true, "changed"}
                   : SetWeightsDecision{false, "rate_limited"};
  if (elapsed >= tempo)
    return allowed ? SetWeightsDecision{true, "tempo_elapsed"}
                   : SetWeightsDecision{false, "rate_limited"};
  return {false, "unchanged"};
}

}  // namespace cacheon::arena

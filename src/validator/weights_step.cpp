// Weights: the intent is stored before the signed ledger call; the ledger's own record of what
// this validator last set is the truth for "when", so a crash between the call and the store
// update is reconciled on the next pass instead of setting twice.
#include "arena/weights.h"
#include "validator/validator.h"

namespace cacheon::validator {
namespace {

std::vector<store::UidWeightRow> rows_of(const std::vector<arena::UidWeight>& w) {
  std::vector<store::UidWeightRow> out;
  for (const auto& x : w) out.push_back({x.uid, x.weight});
  return out;
}

std::vector<arena::UidWeight> arena_of(const std::vector<ledger::UidWeight>& w) {
  std::vector<arena::UidWeight> out;
  for (const auto& x : w) out.push_back({x.uid, x.weight});
  return out;
}

bool same_vector(const std::vector<store::UidWeightRow>& a, const std::vector<ledger::UidWeight>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].uid != b[i].uid || a[i].weight != b[i].weight) return false;
  return true;
}

}  // namespace

Status Validator::weights_step(std::optional<int64_t> round_id, PassReport& rep) {
  const std::string me = hotkey_.address();
  auto head = ledger_.head();
  if (!head.ok()) return head.error();
  auto last = ledger_.weights(config_.netuid, me, head->number);
  if (!last.ok()) return last.error();

  // An intent left by a crash: did the ledger take it?
  auto pending = store_.pending_weights();
  if (!pending.ok()) return pending.error();
  if (pending->has_value()) {
    const store::WeightsRow& p = **pending;
    bool landed = last->has_value() && (*last)->block >= p.intent_block &&
                  same_vector(p.weights, (*last)->weights);
    Status s = landed ? store_.finish_weights(p.id, store::WeightsState::set, (*last)->block)
                      : store_.finish_weights(p.id, store::WeightsState::failed, std::nullopt,
                                              "interrupted");
    if (!s) return s;
  }

  auto standings = current_standings();
  if (!standings.ok()) return standings.error();
  auto plan = arena::compute_weights(*standings, config_.weights, head->number);
  if (!plan.ok()) return plan.error();
  auto rate = ledger_.weights_rate_limit(config_.netuid);
  if (!rate.ok()) return rate.error();
  std::optional<arena::BlockNumber> last_block;
  std::vector<arena::UidWeight> last_weights;
  if (last->has_value()) {
    last_block = (*last)->block;
    last_weights = arena_of((*last)->weights);
  }
  arena::SetWeightsDecision d = arena::should_set_weights(
      last_block, last_weights, plan->weights, head->number, config_.tempo, *rate);
  rep.weights = d.reason;
  if (!d.set) return {};

  auto id = store_.begin_weights(round_id, head->number, rows_of(plan->weights), d.reason);
  if (!id.ok()) return id.error();
  crash_.hit("weights.intent");
  std::vector<ledger::UidWeight> vec;
  for (const auto& w : plan->weights) vec.push_back({w.uid, w.weight});
  auto set = ledger_.set_weights(hotkey_, config_.netuid, vec);
  if (set.ok()) {
    crash_.hit("weights.submitted");
    if (Status s = store_.finish_weights(*id, store::WeightsState::set, set->block); !s) return s;
  } else {
    rep.weights = set.error().code;
    if (Status s = store_.finish_weights(*id, store::WeightsState::failed, std::nullopt,
                                         set.error().code);
        !s)
      return s;
  }
  crash_.hit("weights.recorded");
  return {};
}

}  // namespace cacheon::validator

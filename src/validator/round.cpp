// Rounds: plan (the job), run (claim -> worker -> record per participant), score (standings).
#include <map>
#include <set>

#include <fmt/format.h>

#include "arena/copies.h"
#include "validator/validator.h"

namespace cacheon::validator {

using store::RoundState;
using store::SubmissionState;

namespace {

nlohmann::json events_json(const std::vector<arena::StandingsEvent>& events) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& e : events)
    a.push_back({{"code", e.code},
                 {"role", e.role},
                 {"hotkey", e.hotkey},
                 {"commit_block", e.commit_block},
                 {"score", e.score},
                 {"message", e.message}});
  return a;
}

bool same_holder(const std::optional<arena::Holder>& a, const std::optional<arena::Holder>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->hotkey == b->hotkey && a->commit_block == b->commit_block && a->uid == b->uid);
}

}  // namespace

Result<std::optional<int64_t>> Validator::plan_round(const ledger::BlockInfo& fin) {
  auto queued = store_.submissions({SubmissionState::queued});
  if (!queued.ok()) return queued.error();
  if (queued->empty()) return std::optional<int64_t>{};
  auto standings = current_standings();
  if (!standings.ok()) return standings.error();
  auto graph = metagraph_at(fin.number);
  if (!graph.ok()) return graph.error();
  auto registered = [&](const arena::Holder& h) {
    for (const auto& n : *graph)
      if (n.hotkey == h.hotkey) return true;
    return false;
  };

  std::vector<store::Participant> parts;
  std::set<std::pair<std::string, arena::BlockNumber>> taken;
  auto add_incumbent = [&](const std::optional<arena::Holder>& h, store::Role role) -> Status {
    if (!h || !registered(*h)) return {};  // a deregistered incumbent is not re-run
    auto row = store_.submission({h->hotkey, h->commit_block});
    if (!row.ok()) return row.error();
    if (!row->has_value() || (*row)->state == SubmissionState::duplicate) return {};
    store::Participant p{static_cast<int>(parts.size()), (*row)->key(), role, (*row)->sub.image,
                         (*row)->sub.digest};
    taken.insert({p.key.hotkey, p.key.commit_block});
    parts.push_back(std::move(p));
    return {};
  };
  if (Status s = add_incumbent(standings->leader, store::Role::leader); !s) return s.error();
  if (Status s = add_incumbent(standings->runner_up, store::Role::runner_up); !s)
    return s.error();
  int challengers = 0;
  for (const auto& r : *queued) {  // (commit_block, hotkey) order: earliest first
    if (challengers >= config_.max_challengers) break;
    if (!taken.insert({r.sub.hotkey, r.sub.commit_block}).second) continue;
    parts.push_back({static_cast<int>(parts.size()), r.key(), store::Role::challenger, r.sub.image,
                     r.sub.digest});
    ++challengers;
  }
  auto id = store_.plan_round(fin.number, fin.hash, parts);
  if (!id.ok()) return id.error();
  crash_.hit("round.planned");
  progress_.message(fmt::format("round {} planned at block {}: {} participants ({} challengers)",
                                *id, fin.number, parts.size(), challengers));
  return std::optional<int64_t>{*id};
}

Status Validator::run_round(const store::RoundRow& start, PassReport& rep,
                            const std::atomic<bool>* stop) {
  rep.round_id = start.id;
  for (;;) {
    auto round = store_.round(start.id);
    if (!round.ok()) return round.error();
    if (!round->has_value()) return Error{"store_corrupt", "the open round vanished"};
    const store::RoundRow& r = **round;
    switch (r.state) {
      case RoundState::planned:
        if (Status s = store_.set_round_state(r.id, RoundState::planned, RoundState::running); !s)
          return s;
        crash_.hit("round.running");
        break;
      case RoundState::running: {
        auto evals = store_.evaluations(r.id);
        if (!evals.ok()) return evals.error();
        EvalJob job{r.id, r.block, r.block_hash, {}};
        for (const auto& e : *evals) job.participants.push_back(e.participant);
        live_.begin_round(r.id, *evals);
        for (const auto& e : *evals) {
          if (e.state == store::EvalState::done) continue;
          if (stop && stop->load()) {
            rep.stopped = true;
            worker_.finish_job();
            live_.end_round();
            return {};
          }
          auto claimed = store_.claim_evaluation(r.id, e.participant.key);
          if (!claimed.ok()) return claimed.error();
          if (!*claimed) continue;  // someone else's (cannot happen with one validator)
          crash_.hit("eval.claimed");
          live_.evaluating(e.participant.key);
          store::EvalResult result = worker_.evaluate(job, e.participant, e.attempts + 1,
                                                      [&] { crash_.hit("eval.launched"); });
          crash_.hit("eval.finished");
          if (Status s = store_.record_evaluation(r.id, e.participant.key, result); !s) return s;
          live_.evaluated(e.participant.key, result);
          crash_.hit("eval.recorded");
          ++rep.evaluations;
        }
        worker_.finish_job();
        live_.end_round();
        // Fingerprints learned in this round may reveal copies: judge them before ranking.
        if (Status s = dedupe_and_queue(rep); !s) return s;
        if (Status s = score_round(r); !s) return s;
        crash_.hit("round.scored");
        break;
      }
      case RoundState::scored: {
        if (Status s = weights_step(r.id, rep); !s) return s;
        if (Status s = store_.set_round_state(r.id, RoundState::scored, RoundState::weights_set);
            !s)
          return s;
        crash_.hit("round.weights_set");
        break;
      }
      case RoundState::weights_set:
        if (Status s = publish_status(); !s) return s;
        crash_.hit("status.published");
        if (Status s = store_.set_round_state(r.id, RoundState::weights_set, RoundState::done); !s)
          return s;
        crash_.hit("round.done");
        break;
      case RoundState::done:
        rep.round_finished = true;
        return {};
    }
  }
}

Status Validator::score_round(const store::RoundRow& round) {
  auto evals = store_.evaluations(round.id);
  if (!evals.ok()) return evals.error();
  auto graph = metagraph_at(round.block);
  if (!graph.ok()) return graph.error();
  std::map<std::string, int> uid_of;
  for (const auto& n : *graph) uid_of[n.hotkey] = n.uid;
  auto previous = current_standings();
  if (!previous.ok()) return previous.error();

  arena::RoundInput in;
  in.previous = *previous;
  in.metagraph = *graph;
  in.margin = config_.margin;
  in.block = round.block;
  std::vector<store::SubmissionKey> retry;
  nlohmann::json results = nlohmann::json::array();
  for (const auto& e : *evals) {
    if (!e.result) return Error{"store_corrupt", "scoring a round with an unfinished evaluation"};
    const store::EvalResult& res = *e.result;
    arena::RoundResult rr;
    rr.hotkey = e.participant.key.hotkey;
    rr.commit_block = e.participant.key.commit_block;
    auto it = uid_of.find(rr.hotkey);
    rr.uid = it == uid_of.end() ? -1 : it->second;
    rr.passed = res.passed;
    rr.score = res.score;
    rr.reason_code = res.reason_code;
    rr.arena_blame = !res.decided;
    auto sub = store_.submission(e.participant.key);
    if (!sub.ok()) return sub.error();
    if (sub->has_value() && (*sub)->state == SubmissionState::duplicate) {
      // Its content fingerprint matched an earlier commit by another hotkey.
      rr.passed = false;
      rr.score = 0;
      rr.reason_code = std::string(arena::kDuplicateCode);
      rr.arena_blame = false;
    }
    in.results.push_back(rr);
    results.push_back({{"hotkey", rr.hotkey},
                       {"commit_block", rr.commit_block},
                       {"role", store::to_string(e.participant.role)},
                       {"uid", rr.uid},
                       {"passed", rr.passed},
                       {"score", rr.score},
                       {"reason_code", rr.reason_code},
                       {"blame", res.blame}});
    if (rr.arena_blame && e.participant.role == store::Role::challenger) {
      auto history = store_.evaluations_of(e.participant.key);
      if (!history.ok()) return history.error();
      if (static_cast<int>(history->size()) <= config_.max_arena_retries)
        retry.push_back(e.participant.key);
    }
  }
  auto out = arena::update_standings(in);
  if (!out.ok()) return out.error();
  nlohmann::json detail = {{"round", round.id},
                           {"results", results},
                           {"events", events_json(out->events)},
                           {"margin", out->margin ? nlohmann::json(*out->margin) : nullptr},
                           {"overtake_threshold", out->overtake_threshold
                                                      ? nlohmann::json(*out->overtake_threshold)
                                                      : nullptr}};
  auto id = store_.record_standings(round.id, row_from_standings(out->standings, round.block, detail),
                                    retry);
  if (!id.ok()) return id.error();
  return {};
}

// Between rounds: an incumbent whose UID changed hands, or whose content turned out to be a
// copy, loses its place without waiting for the next round.
Status Validator::refresh_standings(const ledger::BlockInfo& fin) {
  auto prev = current_standings();
  if (!prev.ok()) return prev.error();
  if (!prev->leader && !prev->runner_up) return {};
  arena::Standings pruned = *prev;
  for (auto* h : {&pruned.leader, &pruned.runner_up}) {
    if (!*h) continue;
    auto row = store_.submission({(*h)->hotkey, (*h)->commit_block});
    if (!row.ok()) return row.error();
    if (row->has_value() && (*row)->state == SubmissionState::duplicate) h->reset();
  }
  auto graph = metagraph_at(fin.number);
  if (!graph.ok()) return graph.error();
  arena::RoundInput in{pruned, {}, *graph, config_.margin, fin.number};
  auto out = arena::update_standings(in);
  if (!out.ok()) return out.error();
  if (same_holder(out->standings.leader, prev->leader) &&
      same_holder(out->standings.runner_up, prev->runner_up))
    return {};
  nlohmann::json detail = {{"refresh", true}, {"events", events_json(out->events)}};
  auto id = store_.append_standings(row_from_standings(out->standings, fin.number, detail));
  if (!id.ok()) return id.error();
  return {};
}

}  // namespace cacheon::validator

#include "arena/standings.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

namespace cacheon::arena {
namespace {

namespace code = standings_code;

std::string fmt_score(double s) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.4f", s);
  return buf;
}

// One participant able to hold a place this round.
struct Candidate {
  std::string hotkey;
  BlockNumber commit_block = 0;
  int uid = -1;
  double score = 0;
  std::string_view role;
};

// "Best" order: higher score, earlier commit block, smaller hotkey.
bool better(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.commit_block != b.commit_block) return a.commit_block < b.commit_block;
  return a.hotkey < b.hotkey;
}

bool same_key(const Holder& h, const RoundResult& r) {
  return h.hotkey == r.hotkey && h.commit_block == r.commit_block;
}
bool same_key(const Candidate& c, const Holder& h) {
  return c.hotkey == h.hotkey && c.commit_block == h.commit_block;
}

const Candidate* best_of(const std::vector<Candidate>& cs, auto&& keep) {
  const Candidate* best = nullptr;
  for (const Candidate& c : cs)
    if (keep(c) && (!best || better(c, *best))) best = &c;
  return best;
}

class Round {
 public:
  explicit Round(const RoundInput& in) : in_(in) {
    for (const MetagraphEntry& n : in.metagraph) {
      uid_to_hotkey_.emplace(n.uid, n.hotkey);
      hotkey_to_uid_.emplace(n.hotkey, n.uid);
    }
    std::set<std::pair<std::string, BlockNumber>> seen;
    for (const RoundResult& r : in.results)
      if (seen.insert({r.hotkey, r.commit_block}).second) results_.push_back(&r);
  }

  RoundOutcome run() {
    const Standings& prev = in_.previous;
    const Candidate* leader_c = nullptr;
    // Incumbents first: index into candidates_ survives later push_backs.
    std::optional<size_t> leader_i;
    if (prev.leader) leader_i = incumbent(*prev.leader, role::kLeader);
    if (prev.runner_up) incumbent(*prev.runner_up, role::kRunnerUp);
    challengers();
    if (leader_i) leader_c = &candidates_[*leader_i];
    decide_leader(leader_c);
    decide_runner_up();
    return std::move(out_);
  }

 private:
  void event(std::string_view c, std::string_view r, const std::string& hotkey,
             BlockNumber commit_block, double score, std::string message) {
    out_.events.push_back(
        {std::string(c), std::string(r), hotkey, commit_block, score, std::move(message)});
  }

  const RoundResult* result_for(const Holder& h) const {
    for (const RoundResult* r : results_)
      if (same_key(h, *r)) return r;
    return nullptr;
  }

  // Judges one result: the candidate it makes, or nullopt with an event saying why not.
  std::optional<Candidate> judge(const RoundResult& r, int uid, std::string_view role) {
    const std::string who = r.hotkey;
    if (r.arena_blame) {
      event(code::kNoJudgement, role, who, r.commit_block, 0,
            "arena-side failure (" + r.reason_code + "): no judgement on this participant");
      return std::nullopt;
    }
    if (!std::isfinite(r.score)) {
      event(code::kInvalidScore, role, who, r.commit_block, 0,
            "score is not a finite number: treated as an arena fault, no judgement");
      return std::nullopt;
    }
    if (!r.passed) {
      event(code::kDisqualified, role, who, r.commit_block, 0,
            "failed the evaluation (" + r.reason_code + ")");
      return std::nullopt;
    }
    if (r.score <= 0) {
      event(code::kNoSpeedup, role, who, r.commit_block, r.score,
            "correct but not faster than the baseline (score " + fmt_score(r.score) +
                "): cannot hold a place");
      return std::nullopt;
    }
    event(code::kEligible, role, who, r.commit_block, r.score, "fresh score " + fmt_score(r.score));
    return Candidate{r.hotkey, r.commit_block, uid, r.score, role};
  }

  // An incumbent's candidate index, or nullopt when it loses its place.
  std::optional<size_t> incumbent(const Holder& h, std::string_view role) {
    auto at_uid = uid_to_hotkey_.find(h.uid);
    if (at_uid == uid_to_hotkey_.end() || at_uid->second != h.hotkey) {
      event(code::kDeregistered, role, h.hotkey, h.commit_block, h.score,
            "UID " + std::to_string(h.uid) +
                (at_uid == uid_to_hotkey_.end() ? " is empty" : " now holds " + at_uid->second) +
                ": deregistered, loses its place");
      return std::nullopt;
    }
    const RoundResult* r = result_for(h);
    Candidate stale{h.hotkey, h.commit_block, h.uid, h.score, role};
    if (!r) {
      event(code::kNotEvaluated, role, h.hotkey, h.commit_block, h.score,
            "no result this round: competes with its last score " + fmt_score(h.score));
    } else if (r->arena_blame || !std::isfinite(r->score)) {
      judge(*r, h.uid, role);  // records why there is no judgement
      out_.events.back().score = h.score;
      out_.events.back().message += "; competes with its last score " + fmt_score(h.score);
    } else {
      std::optional<Candidate> c = judge(*r, h.uid, role);
      if (!c) return std::nullopt;
      stale = *c;
    }
    candidates_.push_back(stale);
    return candidates_.size() - 1;
  }

  void challengers() {
    std::vector<const RoundResult*> rs;
    for (const RoundResult* r : results_) {
      const Standings& p = in_.previous;
      if ((p.leader && same_key(*p.leader, *r)) || (p.runner_up && same_key(*p.runner_up, *r)))
        continue;
      rs.push_back(r);
    }
    std::sort(rs.begin(), rs.end(), [](const RoundResult* a, const RoundResult* b) {
      return a->commit_block != b->commit_block ? a->commit_block < b->commit_block
                                                : a->hotkey < b->hotkey;
    });
    for (const RoundResult* r : rs) {
      auto uid = hotkey_to_uid_.find(r->hotkey);
      if (uid == hotkey_to_uid_.end()) {
        event(code::kNotRegistered, role::kChallenger, r->hotkey, r->commit_block, 0,
              "hotkey holds no UID at the round block: cannot hold a place");
        continue;
      }
      if (std::optional<Candidate> c = judge(*r, uid->second, role::kChallenger))
        candidates_.push_back(*c);
    }
  }

  void crown(const Candidate& c, std::string why) {
    leader_ = Holder{c.hotkey, c.commit_block, c.uid, in_.block, c.score};
    event(code::kCrowned, c.role, c.hotkey, c.commit_block, c.score, std::move(why));
  }

  void decide_leader(const Candidate* incumbent) {
    const Standings& prev = in_.previous;
    if (!incumbent) {
      const Candidate* best = best_of(candidates_, [](const Candidate&) { return true; });
      if (best) {
        crown(*best, "no incumbent leader: best eligible score " + fmt_score(best->score));
      } else if (prev.leader) {
        event(code::kLeaderVacant, role::kLeader, prev.leader->hotkey, prev.leader->commit_block, 0,
              "no eligible participant: no leader");
      }
      return;
    }
    const Candidate* challenger =
        best_of(candidates_, [&](const Candidate& c) { return &c != incumbent; });
    const double margin = margin_at(in_.margin, prev.leader->crowned_block, in_.block);
    const double needed = incumbent->score + margin;
    out_.margin = margin;
    out_.overtake_threshold = needed;
    if (challenger && challenger->score > needed) {
      const bool own = challenger->hotkey == incumbent->hotkey;
      event(own ? code::kReplaced : code::kDethroned, role::kLeader, incumbent->hotkey,
            incumbent->commit_block, incumbent->score,
            std::string(own ? "replaced by its own newer submission"
                            : "beaten by " + challenger->hotkey) +
                ": " + fmt_score(challenger->score) + " > " + fmt_score(incumbent->score) +
                " + margin " + fmt_score(margin));
      crown(*challenger, "beat the leader: " + fmt_score(challenger->score) + " > " +
                             fmt_score(incumbent->score) + " + margin " + fmt_score(margin));
      return;
    }
    leader_ = *prev.leader;
    leader_->score = incumbent->score;
    event(code::kDefended, role::kLeader, incumbent->hotkey, incumbent->commit_block,
          incumbent->score,
          challenger ? "best challenger " + challenger->hotkey + " scored " +
                           fmt_score(challenger->score) + ", needed more than " +
                           fmt_score(needed) + " (margin " + fmt_score(margin) + ")"
                     : "no eligible challenger (margin " + fmt_score(margin) + ")");
  }

  void decide_runner_up() {
    const Standings& prev = in_.previous;
    out_.standings.leader = leader_;
    const Candidate* best = best_of(
        candidates_, [&](const Candidate& c) { return !leader_ || c.hotkey != leader_->hotkey; });
    if (!best) {
      if (prev.runner_up && !(leader_ && leader_->hotkey == prev.runner_up->hotkey))
        event(code::kRunnerUpCleared, role::kRunnerUp, prev.runner_up->hotkey,
              prev.runner_up->commit_block, 0, "no eligible participant: no runner-up");
      return;
    }
    if (prev.runner_up && same_key(*best, *prev.runner_up)) {
      Holder h = *prev.runner_up;
      h.score = best->score;
      out_.standings.runner_up = h;
      event(code::kRunnerUpKept, best->role, best->hotkey, best->commit_block, best->score,
            "stays runner-up with score " + fmt_score(best->score));
      return;
    }
    out_.standings.runner_up =
        Holder{best->hotkey, best->commit_block, best->uid, in_.block, best->score};
    event(code::kRunnerUpSet, best->role, best->hotkey, best->commit_block, best->score,
          "runner-up: best remaining hotkey with score " + fmt_score(best->score));
  }

  const RoundInput& in_;
  std::map<int, std::string> uid_to_hotkey_;
  std::map<std::string, int> hotkey_to_uid_;
  std::vector<const RoundResult*> results_;
  std::vector<Candidate> candidates_;
  std::optional<Holder> leader_;
  RoundOutcome out_;
};

}  // namespace

std::string_view to_string(MarginPolicy::Kind k) {
  return k == MarginPolicy::Kind::fixed ? "fixed" : "decaying";
}

Result<MarginPolicy::Kind> parse_margin_kind(std::string_view name) {
  if (name == "decaying") return MarginPolicy::Kind::decaying;
  if (name == "fixed") return MarginPolicy::Kind::fixed;
  return Error{"margin_policy_invalid", "margin policy must be \"decaying\" or \"fixed\""};
}

Status validate_margin_policy(const MarginPolicy& p) {
  auto ok = [](double m) { return std::isfinite(m) && m >= 0 && m < 1; };
  if (!ok(p.initial) || !ok(p.fixed))
    return Error{"margin_policy_invalid", "margins must be finite and in [0, 1)"};
  if (p.decay_blocks <= 0) return Error{"margin_policy_invalid", "decay_blocks must be positive"};
  return Status::Ok();
}

double margin_at(const MarginPolicy& p, BlockNumber crowned_block, BlockNumber block) {
  if (p.kind == MarginPolicy::Kind::fixed) return p.fixed;
  if (p.decay_blocks <= 0) return 0;
  // Saturating difference: hostile block numbers must not overflow.
  BlockNumber elapsed = 0;
  if (block > crowned_block)
    elapsed = (crowned_block < 0 && block > INT64_MAX + crowned_block) ? p.decay_blocks
                                                                       : block - crowned_block;
  elapsed = std::min<BlockNumber>(elapsed, p.decay_blocks);
  return p.initial * (double(p.decay_blocks - elapsed) / double(p.decay_blocks));
}

Result<RoundOutcome> update_standings(const RoundInput& in) {
  if (Status s = validate_margin_policy(in.margin); !s) return s.error();
  return Round(in).run();
}

}  // namespace cacheon::arena

// Named crash points for the kill -9 tests: CACHEON_CRASH_AT=<point>:<n> makes the validator
// SIGKILL itself the n-th time (1-based) it passes <point>, exactly as `kill -9` would (no
// destructors, no flushing; launched servers die with it through PR_SET_PDEATHSIG). A test can
// enumerate every point deterministically, and kill at random times on top.
//
// The points, in the order a round passes them (each "after" = its store transaction has
// committed; "before" = the side effect has not started):
//   scan.recorded        after the scanned commitments and the cursor are stored
//   payment.decided      after one submission's payment verdict is stored
//   intake.marked        after one superseded/duplicate/queued transition
//   round.planned        after the round, its participants and pending evaluations are stored
//   round.running        after the round is marked running
//   eval.claimed         after an evaluation is claimed, before its server is launched
//   eval.launched        after the candidate's server is up, before the harness runs
//   eval.finished        after the harness finished, before the result is stored
//   eval.recorded        after the result is stored
//   round.scored         after the standings of the round are stored
//   weights.intent       after the weights intent is stored, before the ledger call
//   weights.submitted    after the ledger accepted the weights, before the store knows
//   weights.recorded     after the weights outcome is stored
//   round.weights_set    after the round is marked weights_set
//   status.published     after the status file is written
//   round.done           after the round is marked done
// No hidden global: the Validator owns its CrashPoints (the CLI builds it from the environment).
#pragma once
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cacheon::validator {

class CrashPoints {
 public:
  CrashPoints() = default;  // never crashes
  // "point:n" with a known point and 1 <= n <= 1e6; "" = never. Error code "bad_crash_point".
  static Result<CrashPoints> parse(std::string_view spec);
  // From $CACHEON_CRASH_AT (unset or empty = never).
  static Result<CrashPoints> from_env();
  static std::span<const std::string_view> names();

  // Counts a pass through `point`; SIGKILLs the process on the configured pass.
  void hit(std::string_view point);
  int hits(std::string_view point) const;
  bool armed() const { return !target_.empty(); }

 private:
  std::string target_;
  int at_ = 0;
  std::map<std::string, int, std::less<>> counts_;
};

}  // namespace cacheon::validator

#include "validator/crash_points.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include <fmt/format.h>

namespace cacheon::validator {
namespace {

constexpr std::array<std::string_view, 16> kNames = {
    "scan.recorded",   "payment.decided",  "intake.marked",     "round.planned",
    "round.running",   "eval.claimed",     "eval.launched",     "eval.finished",
    "eval.recorded",   "round.scored",     "weights.intent",    "weights.submitted",
    "weights.recorded", "round.weights_set", "status.published", "round.done"};

}  // namespace

std::span<const std::string_view> CrashPoints::names() { return kNames; }

Result<CrashPoints> CrashPoints::parse(std::string_view spec) {
  CrashPoints c;
  if (spec.empty()) return c;
  auto bad = [&](std::string_view why) {
    return Error{"bad_crash_point",
                 fmt::format("crash point '{}': {} (want <point>:<n>, e.g. eval.claimed:2)", spec,
                             why)};
  };
  size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos) return bad("no ':<n>'");
  std::string_view name = spec.substr(0, colon), num = spec.substr(colon + 1);
  if (std::find(kNames.begin(), kNames.end(), name) == kNames.end()) return bad("unknown point");
  if (num.empty() || num.size() > 7 ||
      !std::all_of(num.begin(), num.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return bad("n must be a positive integer");
  int n = std::stoi(std::string(num));
  if (n < 1 || n > 1'000'000) return bad("n must be in 1..1000000");
  c.target_ = std::string(name);
  c.at_ = n;
  return c;
}

Result<CrashPoints> CrashPoints::from_env() {
  const char* v = std::getenv("CACHEON_CRASH_AT");
  return parse(v ? std::string_view(v) : std::string_view());
}

void CrashPoints::hit(std::string_view point) {
  auto it = counts_.find(point);
  if (it == counts_.end()) it = counts_.emplace(std::string(point), 0).first;
  int n = ++it->second;
  if (!target_.empty() && point == target_ && n == at_) {
    // As kill -9: no cleanup of any kind.
    ::kill(::getpid(), SIGKILL);
    ::_exit(137);  // not reached
  }
}

int CrashPoints::hits(std::string_view point) const {
  auto it = counts_.find(point);
  return it == counts_.end() ? 0 : it->second;
}

}  // namespace cacheon::validator

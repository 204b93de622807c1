#include "harness/verdict.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "harness/metrics.h"
#include "harness/stats.h"

namespace cacheon::harness {
namespace {

using B = Blame;
using K = ReasonKind;

constexpr std::array kCatalogue = {
    ReasonInfo{reason::kOk, B::none, K::verdict, "passed: {detail}"},
    ReasonInfo{
        reason::kFirstMismatch, B::candidate, K::verdict,
        "prompt {prompt}: greedy output diverges from the baseline beyond tolerance: {detail}"},
    ReasonInfo{reason::kTeacherForcing, B::candidate, K::verdict,
               "prompt {prompt}: the trusted scorer finds the output implausible: {detail}"},
    ReasonInfo{reason::kPromptError, B::candidate, K::verdict,
               "prompt {prompt}: the request failed: {detail}"},
    ReasonInfo{reason::kTooFewTokens, B::candidate, K::verdict,
               "prompt {prompt}: too few tokens: {detail}"},
    ReasonInfo{reason::kLogprobCountMismatch, B::candidate, K::verdict,
               "prompt {prompt}: logprob entries do not match the tokens streamed: {detail}"},
    ReasonInfo{reason::kUsageMismatch, B::candidate, K::verdict,
               "prompt {prompt}: usage.completion_tokens disagrees with the stream: {detail}"},
    ReasonInfo{reason::kFinishReasonMissing, B::candidate, K::verdict,
               "prompt {prompt}: no finish_reason: {detail}"},
    ReasonInfo{reason::kFinishReasonInvalid, B::candidate, K::verdict,
               "prompt {prompt}: finish_reason is neither stop nor length: {detail}"},
    ReasonInfo{reason::kFinishReasonInconsistent, B::candidate, K::verdict,
               "prompt {prompt}: finish_reason disagrees with the token count: {detail}"},
    ReasonInfo{reason::kTooManyTokens, B::candidate, K::verdict,
               "prompt {prompt}: more tokens than max_tokens: {detail}"},
    ReasonInfo{reason::kDataAfterDone, B::candidate, K::verdict,
               "prompt {prompt}: data events after [DONE]: {detail}"},
    ReasonInfo{reason::kTokensAfterFinish, B::candidate, K::verdict,
               "prompt {prompt}: tokens after the finish_reason event: {detail}"},
    ReasonInfo{reason::kMissingDone, B::candidate, K::verdict,
               "prompt {prompt}: the stream did not end with [DONE]: {detail}"},
    ReasonInfo{reason::kStartupTimeout, B::candidate, K::verdict,
               "the server did not become healthy in time: {detail}"},
    ReasonInfo{reason::kCandidateUnreachable, B::candidate, K::verdict,
               "the server could not be reached: {detail}"},
    ReasonInfo{reason::kBaselineFailed, B::arena, K::verdict,
               "arena: the baseline failed on prompt {prompt}: {detail}"},
    ReasonInfo{reason::kBaselineUnstable, B::arena, K::verdict,
               "arena: the baseline runs disagree on prompt {prompt}: {detail}"},
    ReasonInfo{reason::kScorerUnavailable, B::arena, K::verdict,
               "arena: the trusted scorer is unavailable (prompt {prompt}): {detail}"},
    ReasonInfo{reason::kHarnessError, B::arena, K::verdict, "arena: harness error: {detail}"},
    // Request errors the load runner writes into RequestRecord::error_code.
    ReasonInfo{"connect_failed", B::candidate, K::request_error, "could not connect: {detail}"},
    ReasonInfo{"timeout_connect", B::candidate, K::request_error, "connect timed out: {detail}"},
    ReasonInfo{"timeout_first_byte", B::candidate, K::request_error,
               "no response byte in time: {detail}"},
    ReasonInfo{"timeout_read", B::candidate, K::request_error, "the stream stalled: {detail}"},
    ReasonInfo{"timeout_total", B::candidate, K::request_error,
               "the request exceeded its total time limit: {detail}"},
    ReasonInfo{"http_error", B::candidate, K::request_error, "HTTP error status: {detail}"},
    ReasonInfo{"http_malformed", B::candidate, K::request_error, "malformed HTTP: {detail}"},
    ReasonInfo{"header_too_large", B::candidate, K::request_error, "headers too large: {detail}"},
    ReasonInfo{"body_too_large", B::candidate, K::request_error, "body too large: {detail}"},
    ReasonInfo{"disconnected", B::candidate, K::request_error,
               "the connection closed early: {detail}"},
    ReasonInfo{"stream_malformed_json", B::candidate, K::request_error,
               "an SSE event is not valid chunk JSON: {detail}"},
    ReasonInfo{"stream_invalid_utf8", B::candidate, K::request_error,
               "the stream is not valid UTF-8: {detail}"},
    ReasonInfo{"stream_error_object", B::candidate, K::request_error,
               "the stream carried an error object: {detail}"},
    ReasonInfo{"sse_line_too_long", B::candidate, K::request_error, "SSE line too long: {detail}"},
    ReasonInfo{"sse_event_too_large", B::candidate, K::request_error,
               "SSE event too large: {detail}"},
    ReasonInfo{"sse_truncated", B::candidate, K::request_error,
               "the stream ended mid-event: {detail}"},
};

double rel_spread(double x, double y) {
  const double m = (x + y) / 2.0;
  if (!(m > 0) || !std::isfinite(m)) return 0.0;
  const double r = std::fabs(x - y) / m;
  return std::isfinite(r) ? r : 0.0;
}

bool positive(const std::optional<double>& v) {
  return v && std::isfinite(*v) && *v > 0;
}

// Index of the first token where two streams differ (or the shorter length when one is a
// prefix of the other); -1 when identical.
int64_t first_difference(const RequestRecord& a, const RequestRecord& b) {
  const size_t n = std::min(a.tokens.size(), b.tokens.size());
  for (size_t i = 0; i < n; ++i) {
    if (!same_token(a.tokens[i], b.tokens[i])) return int64_t(i);
  }
  return a.tokens.size() == b.tokens.size() ? -1 : int64_t(n);
}

Verdict arena_fail(Verdict v, std::string_view code, int prompt, std::string_view detail) {
  v.decided = false;
  v.passed = false;
  v.blame = Blame::arena;
  v.reason_code = std::string(code);
  v.failed_prompt = prompt;
  v.score = 0;
  v.message = render_reason(code, prompt, detail);
  return v;
}

Verdict candidate_fail(Verdict v, std::string_view code, int prompt, std::string_view detail) {
  v.decided = true;
  v.passed = false;
  v.blame = Blame::candidate;
  v.reason_code = std::string(code);
  v.failed_prompt = prompt;
  v.score = 0;
  v.message = render_reason(code, prompt, detail);
  return v;
}

}  // namespace

std::string_view to_string(Blame b) {
  switch (b) {
    case Blame::none: return "none";
    case Blame::candidate: return "candidate";
    case Blame::arena: return "arena";
  }
  return "arena";
}

std::string_view to_string(Confidence c) {
  switch (c) {
    case Confidence::outside_noise: return "outside_noise";
    case Confidence::within_noise: return "within_noise";
    case Confidence::unmeasured: return "unmeasured";
  }
  return "unmeasured";
}

std::span<const ReasonInfo> reason_catalogue() {
  return kCatalogue;
}

const ReasonInfo* find_reason(std::string_view code) {
  for (const ReasonInfo& r : kCatalogue) {
    if (r.code == code) return &r;
  }
  return nullptr;
}

bool is_request_error(std::string_view code) {
  const ReasonInfo* r = find_reason(code);
  return r != nullptr && r->kind == ReasonKind::request_error;
}

std::string render_reason(std::string_view code, int prompt, std::string_view detail) {
  const ReasonInfo* r = find_reason(code);
  std::string out =
      r != nullptr ? std::string(r->message_template) : std::string(code) + ": {detail}";
  const auto replace = [&out](std::string_view key, std::string_view value) {
    for (size_t pos = out.find(key); pos != std::string::npos;
         pos = out.find(key, pos + value.size())) {
      out.replace(pos, key.size(), value);
    }
  };
  replace("{prompt}", prompt >= 0 ? std::to_string(prompt) : std::string("?"));
  replace("{detail}", sanitize_utf8(detail));
  return out;
}

NoiseEstimate estimate_noise(const ScoringPolicy& policy, Run b, Run b2) {
  NoiseEstimate n;
  n.metric = policy.kind == PolicyKind::e2e ? "time_to_last_common_token_ms" : "ttft_ms+decode_tps";
  std::vector<double> spreads;
  for (int prompt : scored_prompts(b)) {
    const RequestRecord* x = find_scored(b, prompt);
    const RequestRecord* y = find_scored(b2, prompt);
    if (x == nullptr || y == nullptr || !x->ok() || !y->ok()) continue;
    PromptSpread s;
    s.prompt_index = prompt;
    if (policy.kind == PolicyKind::e2e) {
      const int64_t k = int64_t(std::min(x->tokens.size(), y->tokens.size()));
      s.b = time_to_kth_token_ms(*x, k);
      s.b2 = time_to_kth_token_ms(*y, k);
      if (!positive(s.b) || !positive(s.b2)) continue;
      s.relative_spread = rel_spread(*s.b, *s.b2);
    } else {
      const RequestMetrics mx = request_metrics(*x);
      const RequestMetrics my = request_metrics(*y);
      s.b = mx.ttft_ms;
      s.b2 = my.ttft_ms;
      s.b_tps = mx.decode_tps;
      s.b2_tps = my.decode_tps;
      if (!positive(s.b) || !positive(s.b2) || !positive(s.b_tps) || !positive(s.b2_tps)) continue;
      s.relative_spread = 0.5 * rel_spread(*s.b, *s.b2) + 0.5 * rel_spread(*s.b_tps, *s.b2_tps);
    }
    spreads.push_back(s.relative_spread);
    n.prompts.push_back(s);
  }
  n.measured = !spreads.empty();
  n.median_spread = median(spreads);
  n.max_spread = max_of(spreads);
  // B vs B' shows one server's run-to-run spread; C vs B carries the candidate's spread too,
  // which the bracket cannot see, hence the factor 2. Under kMinNoiseFloor no claim is made.
  n.noise_floor = std::max(kMinNoiseFloor, kNoiseFactor * percentile(spreads, 90));
  return n;
}

Verdict decide(const EvalInputs& in) {
  Verdict v;
  v.policy = in.policy.name();
  if (in.baselines.empty() || in.baselines.size() > 2) {
    return arena_fail(v, reason::kHarnessError, -1,
                      fmt::format("expected 1 or 2 baseline runs, got {}", in.baselines.size()));
  }
  const std::vector<int> prompts = scored_prompts(in.baselines.front());
  if (prompts.empty()) return arena_fail(v, reason::kHarnessError, -1, "no scored prompts");

  // 2. Baseline failures: the arena's problem, never the candidate's.
  for (size_t run = 0; run < in.baselines.size(); ++run) {
    for (int p : prompts) {
      const RequestRecord* r = find_scored(in.baselines[run], p);
      const std::string which = run == 0 ? "B" : "B'";
      if (r == nullptr) {
        return arena_fail(v, reason::kBaselineFailed, p, which + ": no record for this prompt");
      }
      if (!r->ok()) {
        v.request_error_code = r->error_code;
        return arena_fail(v, reason::kBaselineFailed, p,
                          fmt::format("{}: {}: {}", which, r->error_code, r->error_message));
      }
      if (r->tokens.empty()) {
        return arena_fail(v, reason::kBaselineFailed, p,
                          which + ": streamed no tokens with logprobs");
      }
    }
  }
  // 3. Baseline stability.
  if (in.baselines.size() == 2) {
    for (int p : prompts) {
      const RequestRecord& x = *find_scored(in.baselines[0], p);
      const RequestRecord& y = *find_scored(in.baselines[1], p);
      const int64_t at = first_difference(x, y);
      if (at >= 0) {
        return arena_fail(v, reason::kBaselineUnstable, p,
                          fmt::format("token sequences differ at position {} ({} vs {} tokens)", at,
                                      x.tokens.size(), y.tokens.size()));
      }
    }
    v.noise = estimate_noise(in.policy, in.baselines[0], in.baselines[1]);
    v.noise_floor = v.noise.noise_floor;
  }

  // 4-5. The candidate did not serve, or a request failed.
  if (in.startup_error) {
    const ReasonInfo* r = find_reason(in.startup_error->code);
    if (r != nullptr && r->blame == Blame::arena) {
      return arena_fail(v, r->code, -1, in.startup_error->message);
    }
    // Unknown codes are reported as unreachable, keeping the original code in the message.
    const bool known = r != nullptr && r->kind == ReasonKind::verdict && r->code != reason::kOk;
    return candidate_fail(v, known ? r->code : reason::kCandidateUnreachable, -1,
                          known ? in.startup_error->message
                                : in.startup_error->code + ": " + in.startup_error->message);
  }
  for (int p : prompts) {
    const RequestRecord* c = find_scored(in.candidate, p);
    if (c == nullptr) {
      return arena_fail(v, reason::kHarnessError, p, "no candidate record for this prompt");
    }
    if (!c->ok()) {
      v.request_error_code = c->error_code;
      return candidate_fail(v, reason::kPromptError, p,
                            fmt::format("{}: {}", c->error_code, c->error_message));
    }
  }

  // 6. Correctness gates, all of them on every prompt (the dashboard shows each).
  static const std::vector<GateMessage> kNoMessages;
  for (int p : prompts) {
    const RequestRecord& c = *find_scored(in.candidate, p);
    if (in.gates.structural) v.gates.push_back(check_structural(c));
    if (in.gates.first_mismatch) {
      v.gates.push_back(
          check_first_mismatch(*find_scored(in.baselines[0], p), c, in.gates.first_mismatch_cfg));
    }
    if (in.gates.teacher_forcing) {
      const bool have = p >= 0 && size_t(p) < in.prompt_messages.size();
      if (!have && in.scorer != nullptr) {
        GateResult g;
        g.gate = std::string(kGateTeacherForcing);
        g.prompt_index = p;
        g.status = GateStatus::unavailable;
        g.reason_code = std::string(reason::kHarnessError);
        g.message = "no prompt messages for this prompt";
        v.gates.push_back(std::move(g));
      } else {
        v.gates.push_back(check_teacher_forcing(in.scorer,
                                                have ? in.prompt_messages[size_t(p)] : kNoMessages,
                                                c, in.gates.teacher_forcing_cfg));
      }
    }
  }
  v.scoring = score_run(in.policy, in.baselines, in.candidate);
  const auto fail = std::find_if(v.gates.begin(), v.gates.end(),
                                 [](const GateResult& g) { return g.status == GateStatus::fail; });
  if (fail != v.gates.end()) {
    return candidate_fail(v, fail->reason_code, fail->prompt_index,
                          fmt::format("{}: {}", fail->gate, fail->message));
  }
  const auto unavailable = std::find_if(v.gates.begin(), v.gates.end(), [](const GateResult& g) {
    return g.status == GateStatus::unavailable;
  });
  if (unavailable != v.gates.end()) {
    return arena_fail(v, unavailable->reason_code, unavailable->prompt_index,
                      fmt::format("{}: {}", unavailable->gate, unavailable->message));
  }

  // 7. Score and confidence.
  v.decided = true;
  v.passed = true;
  v.blame = Blame::none;
  v.reason_code = std::string(reason::kOk);
  v.score = v.scoring->score;
  if (v.noise.measured) {
    v.confidence =
        v.score > v.noise.noise_floor ? Confidence::outside_noise : Confidence::within_noise;
  }
  v.message = render_reason(reason::kOk, -1,
                            fmt::format("score {:.4f} under {} ({}, noise floor {:.4f})", v.score,
                                        v.policy, to_string(v.confidence), v.noise_floor));
  return v;
}

nlohmann::json to_json(const NoiseEstimate& n) {
  const auto o = [](const std::optional<double>& x) {
    return x && std::isfinite(*x) ? nlohmann::json(*x) : nlohmann::json(nullptr);
  };
  nlohmann::json prompts = nlohmann::json::array();
  for (const PromptSpread& s : n.prompts) {
    nlohmann::json j = {{"prompt_index", s.prompt_index},
                        {"b", o(s.b)},
                        {"b2", o(s.b2)},
                        {"relative_spread", s.relative_spread}};
    if (s.b_tps || s.b2_tps) {
      j["b_tps"] = o(s.b_tps);
      j["b2_tps"] = o(s.b2_tps);
    }
    prompts.push_back(std::move(j));
  }
  return {{"measured", n.measured},           {"metric", n.metric},
          {"median_spread", n.median_spread}, {"max_spread", n.max_spread},
          {"noise_floor", n.noise_floor},     {"prompts", prompts}};
}

nlohmann::json to_json(const Verdict& v) {
  nlohmann::json j = {
      {"decided", v.decided},
      {"passed", v.passed},
      {"reason_code", v.reason_code},
      {"message", sanitize_utf8(v.message)},
      {"blame", to_string(v.blame)},
      {"policy", v.policy},
      {"score", std::isfinite(v.score) ? v.score : 0.0},
      {"failed_prompt", v.failed_prompt},
      {"request_error_code", v.request_error_code},
      {"confidence",
       {{"state", to_string(v.confidence)}, {"noise_floor", v.noise_floor}, {"score", v.score}}},
      {"noise", to_json(v.noise)}};
  // Per prompt: the gate results and the policy's breakdown side by side, for the dashboard.
  nlohmann::json prompts = nlohmann::json::array();
  std::vector<int> order;
  if (v.scoring) {
    for (const PromptScore& p : v.scoring->prompts) order.push_back(p.prompt_index);
  }
  for (const GateResult& g : v.gates) {
    if (std::find(order.begin(), order.end(), g.prompt_index) == order.end())
      order.push_back(g.prompt_index);
  }
  for (int p : order) {
    nlohmann::json gates = nlohmann::json::array();
    for (const GateResult& g : v.gates) {
      if (g.prompt_index == p) gates.push_back(to_json(g));
    }
    nlohmann::json entry = {{"prompt_index", p}, {"gates", gates}, {"score", nullptr}};
    if (v.scoring) {
      for (const PromptScore& s : v.scoring->prompts) {
        if (s.prompt_index == p) entry["score"] = to_json(s);
      }
    }
    prompts.push_back(std::move(entry));
  }
  j["prompts"] = std::move(prompts);
  if (v.scoring) {
    nlohmann::json s = to_json(*v.scoring);
    s.erase("prompts");
    j["scoring"] = std::move(s);
  } else {
    j["scoring"] = nullptr;
  }
  return j;
}

}  // namespace cacheon::harness

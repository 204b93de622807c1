#include "harness/gates.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "harness/verdict.h"

namespace cacheon::harness {
namespace {

GateResult make(std::string_view gate, int prompt, GateStatus status, std::string_view code,
                std::string message) {
  GateResult g;
  g.gate = std::string(gate);
  g.prompt_index = prompt;
  g.status = status;
  g.reason_code = std::string(code);
  g.message = std::move(message);
  return g;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string hex(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

nlohmann::json token_json(const TokenRecord& t) {
  nlohmann::json j = {{"token", sanitize_utf8(t.token)}, {"logprob", t.logprob}};
  if (t.bytes) j["bytes_hex"] = hex(*t.bytes);
  return j;
}

}  // namespace

std::string_view to_string(GateStatus s) {
  switch (s) {
    case GateStatus::pass: return "pass";
    case GateStatus::fail: return "fail";
    case GateStatus::unavailable: return "unavailable";
  }
  return "unavailable";
}

nlohmann::json to_json(const GateResult& g) {
  return {{"gate", g.gate},
          {"prompt_index", g.prompt_index},
          {"status", to_string(g.status)},
          {"passed", g.passed()},
          {"reason_code", g.reason_code},
          {"message", sanitize_utf8(g.message)},
          {"details", g.details}};
}

Result<GateConfig> parse_gate_list(std::string_view list) {
  GateConfig cfg;
  cfg.first_mismatch = cfg.structural = cfg.teacher_forcing = false;
  const std::string known =
      fmt::format("{}, {}, {} or none", kGateFirstMismatch, kGateStructural, kGateTeacherForcing);
  if (trim(list).empty()) {
    return Error{"invalid_gate_list", "gate list is empty; name gates (" + known + ")"};
  }
  std::vector<std::string> seen;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = std::min(list.find(',', pos), list.size());
    const std::string name = trim(list.substr(pos, comma - pos));
    pos = comma + 1;
    if (name.empty()) return Error{"invalid_gate_list", "empty gate name in list"};
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return Error{"invalid_gate_list", "gate listed twice: " + name};
    }
    seen.push_back(name);
    if (name == kGateFirstMismatch) {
      cfg.first_mismatch = true;
    } else if (name == kGateStructural) {
      cfg.structural = true;
    } else if (name == kGateTeacherForcing) {
      cfg.teacher_forcing = true;
    } else if (name != "none") {
      return Error{"invalid_gate_list",
                   fmt::format("unknown gate '{}'; known: {}", sanitize_utf8(name), known)};
    }
  }
  if (std::find(seen.begin(), seen.end(), "none") != seen.end() && seen.size() > 1) {
    return Error{"invalid_gate_list", "'none' cannot be combined with other gates"};
  }
  return cfg;
}

std::string gate_list_string(const GateConfig& cfg) {
  std::vector<std::string_view> on;
  if (cfg.first_mismatch) on.push_back(kGateFirstMismatch);
  if (cfg.structural) on.push_back(kGateStructural);
  if (cfg.teacher_forcing) on.push_back(kGateTeacherForcing);
  return on.empty() ? "none" : fmt::format("{}", fmt::join(on, ","));
}

bool same_token(const TokenRecord& a, const TokenRecord& b) {
  if (a.bytes && b.bytes) return *a.bytes == *b.bytes;
  return a.token == b.token;
}

GateResult check_first_mismatch(const RequestRecord& baseline, const RequestRecord& candidate,
                                const FirstMismatchConfig& cfg) {
  const std::string_view gate = kGateFirstMismatch;
  const int prompt = candidate.prompt_index;
  const size_t nb = baseline.tokens.size();
  const size_t nc = candidate.tokens.size();
  if (nc == 0 && nb > 0) {
    GateResult g =
        make(gate, prompt, GateStatus::fail, reason::kTooFewTokens,
             fmt::format("candidate streamed 0 tokens with logprobs; baseline streamed {}", nb));
    g.details = {{"baseline_tokens", nb}, {"candidate_tokens", 0}};
    return g;
  }
  const size_t common = std::min(nb, nc);
  size_t i = 0;
  while (i < common && same_token(baseline.tokens[i], candidate.tokens[i])) ++i;
  if (i == common) {
    GateResult g = make(gate, prompt, GateStatus::pass, reason::kOk,
                        fmt::format("no mismatch over {} common tokens", common));
    g.details = {{"common_tokens", common}, {"baseline_tokens", nb}, {"candidate_tokens", nc}};
    return g;
  }

  const TokenRecord& b = baseline.tokens[i];
  const TokenRecord& c = candidate.tokens[i];
  const size_t k = std::min(c.top.size(), size_t(std::max(cfg.top_k, 0)));
  double top1 = -INFINITY;
  for (const TopLogprob& t : c.top) top1 = std::max(top1, t.logprob);
  const bool chosen_is_top1 = !c.top.empty() && c.logprob >= top1 - cfg.top1_tolerance;
  std::optional<double> baseline_lp;  // the candidate's logprob of the baseline token
  for (size_t j = 0; j < k; ++j) {
    if (c.top[j].token == b.token) {
      baseline_lp = c.top[j].logprob;
      break;
    }
  }
  const bool in_top_k = baseline_lp.has_value();
  std::optional<double> gap;
  if (baseline_lp && std::isfinite(top1) && std::isfinite(*baseline_lp)) gap = top1 - *baseline_lp;
  const bool gap_ok = gap && *gap <= cfg.max_logprob_gap + 1e-9;

  std::vector<std::string> failed;
  if (!chosen_is_top1) failed.push_back("candidate token is not its own top-1");
  if (!in_top_k) failed.push_back(fmt::format("baseline token not in candidate top-{}", cfg.top_k));
  if (in_top_k && !gap_ok) {
    failed.push_back(gap ? fmt::format("logprob gap {:.4f} > {}", *gap, cfg.max_logprob_gap)
                         : std::string("logprob gap not finite"));
  }
  const bool pass = failed.empty();
  GateResult g =
      make(gate, prompt, pass ? GateStatus::pass : GateStatus::fail,
           pass ? reason::kOk : reason::kFirstMismatch,
           fmt::format("first mismatch at position {} (0-based): baseline {} vs candidate {}: {}",
                       i, quote_token(b.token), quote_token(c.token),
                       pass ? std::string("within tolerance")
                            : fmt::format("{}", fmt::join(failed, "; "))));
  nlohmann::json top = nlohmann::json::array();
  for (const TopLogprob& t : c.top)
    top.push_back({{"token", sanitize_utf8(t.token)}, {"logprob", t.logprob}});
  g.details = {{"position", i},
               {"baseline_token", token_json(b)},
               {"candidate_token", token_json(c)},
               {"candidate_top", top},
               {"gap", gap ? nlohmann::json(*gap) : nlohmann::json(nullptr)},
               {"max_gap", cfg.max_logprob_gap},
               {"in_top_k", in_top_k},
               {"gap_ok", gap_ok},
               {"chosen_is_top1", chosen_is_top1},
               {"baseline_tokens", nb},
               {"candidate_tokens", nc}};
  return g;
}

GateResult check_structural(const RequestRecord& r, bool logprobs_requested) {
  const std::string_view gate = kGateStructural;
  const int64_t tokens =
      logprobs_requested ? int64_t(r.tokens.size()) : r.usage_completion_tokens.value_or(0);
  std::vector<std::pair<std::string_view, std::string>> issues;
  if (logprobs_requested && r.content_events_without_logprobs > 0) {
    issues.emplace_back(
        reason::kLogprobCountMismatch,
        fmt::format("{} content events carried no logprobs", r.content_events_without_logprobs));
  }
  if (logprobs_requested && r.usage_completion_tokens && *r.usage_completion_tokens != tokens) {
    issues.emplace_back(reason::kUsageMismatch,
                        fmt::format("usage.completion_tokens {} but {} tokens streamed",
                                    *r.usage_completion_tokens, tokens));
  }
  if (r.max_tokens_requested > 0 && tokens > r.max_tokens_requested) {
    issues.emplace_back(reason::kTooManyTokens, fmt::format("{} tokens streamed, max_tokens was {}",
                                                            tokens, r.max_tokens_requested));
  }
  if (r.finish_reason.empty()) {
    issues.emplace_back(reason::kFinishReasonMissing, "no finish_reason was sent");
  } else if (r.finish_reason != "stop" && r.finish_reason != "length") {
    issues.emplace_back(
        reason::kFinishReasonInvalid,
        fmt::format("finish_reason {} (expected stop or length)", quote_token(r.finish_reason)));
  } else if (r.finish_reason == "length" && r.max_tokens_requested > 0 &&
             tokens != r.max_tokens_requested) {
    issues.emplace_back(reason::kFinishReasonInconsistent,
                        fmt::format("finish_reason length after {} tokens, max_tokens was {}",
                                    tokens, r.max_tokens_requested));
  }
  if (r.tokens_after_finish > 0) {
    issues.emplace_back(
        reason::kTokensAfterFinish,
        fmt::format("{} tokens arrived after the finish_reason event", r.tokens_after_finish));
  }
  if (r.events_after_done > 0) {
    issues.emplace_back(reason::kDataAfterDone,
                        fmt::format("{} data events after [DONE]", r.events_after_done));
  }
  if (!r.saw_done) issues.emplace_back(reason::kMissingDone, "the stream ended without [DONE]");

  GateResult g;
  if (issues.empty()) {
    g = make(gate, r.prompt_index, GateStatus::pass, reason::kOk,
             fmt::format("{} tokens, finish_reason {}", tokens, r.finish_reason));
  } else {
    g = make(gate, r.prompt_index, GateStatus::fail, issues.front().first, issues.front().second);
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [code, msg] : issues) list.push_back({{"code", code}, {"message", msg}});
  g.details = {{"issues", list},
               {"tokens", tokens},
               {"max_tokens_requested", r.max_tokens_requested},
               {"finish_reason", sanitize_utf8(r.finish_reason)},
               {"usage_completion_tokens", r.usage_completion_tokens
                                               ? nlohmann::json(*r.usage_completion_tokens)
                                               : nlohmann::json(nullptr)}};
  return g;
}

GateResult check_teacher_forcing(TrustedScorer* scorer, const std::vector<GateMessage>& prompt,
                                 const RequestRecord& candidate, const TeacherForcingConfig& cfg) {
  const std::string_view gate = kGateTeacherForcing;
  const int p = candidate.prompt_index;
  if (scorer == nullptr) {
    return make(gate, p, GateStatus::unavailable, reason::kScorerUnavailable,
                "no trusted scorer is configured");
  }
  if (candidate.content.empty()) {
    GateResult g = make(gate, p, GateStatus::pass, reason::kOk, "empty output; nothing to score");
    g.details = {{"scored_tokens", 0}};
    return g;
  }
  Result<std::vector<double>> lps = scorer->token_logprobs(prompt, candidate.content);
  if (!lps) {
    GateResult g =
        make(gate, p, GateStatus::unavailable, reason::kScorerUnavailable,
             fmt::format("trusted scorer failed: {}: {}", lps.error().code, lps.error().message));
    g.details = {{"scorer_error", lps.error().code}};
    return g;
  }
  const std::vector<double>& v = *lps;
  const bool has_nan = std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
  if (v.empty() || has_nan) {
    return make(gate, p, GateStatus::unavailable, reason::kScorerUnavailable,
                v.empty() ? "trusted scorer returned no logprobs for non-empty text"
                          : "trusted scorer returned NaN logprobs");
  }
  // -inf is a legitimate logprob (an impossible token); it fails both thresholds.
  double sum = 0;
  size_t argmin = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    sum += v[i];
    if (v[i] < v[argmin]) argmin = i;
  }
  const double mean = sum / double(v.size());
  const double min = v[argmin];
  const bool mean_ok = mean >= cfg.min_mean_logprob;
  const bool min_ok = min >= cfg.min_token_logprob;
  std::vector<std::string> failed;
  if (!mean_ok)
    failed.push_back(fmt::format("mean logprob {:.3f} < {}", mean, cfg.min_mean_logprob));
  if (!min_ok) {
    failed.push_back(
        fmt::format("token {} logprob {:.3f} < {}", argmin, min, cfg.min_token_logprob));
  }
  const bool pass = failed.empty();
  GateResult g =
      make(gate, p, pass ? GateStatus::pass : GateStatus::fail,
           pass ? reason::kOk : reason::kTeacherForcing,
           pass ? fmt::format("mean logprob {:.3f}, min {:.3f} over {} tokens", mean, min, v.size())
                : fmt::format("{}", fmt::join(failed, "; ")));
  const auto num = [](double x) {
    return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
  };
  g.details = {{"scored_tokens", v.size()},
               {"mean_logprob", num(mean)},
               {"min_logprob", num(min)},
               {"min_position", argmin},
               {"mean_ok", mean_ok},
               {"min_ok", min_ok},
               {"min_mean_threshold", cfg.min_mean_logprob},
               {"min_token_threshold", cfg.min_token_logprob}};
  return g;
}

std::string sanitize_utf8(std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c0 = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min_cp = 0;
    if (c0 < 0x80) {
      out += char(c0);
      ++i;
      continue;
    }
    if ((c0 & 0xE0) == 0xC0) {
      len = 2;
      cp = c0 & 0x1F;
      min_cp = 0x80;
    } else if ((c0 & 0xF0) == 0xE0) {
      len = 3;
      cp = c0 & 0x0F;
      min_cp = 0x800;
    } else if ((c0 & 0xF8) == 0xF0) {
      len = 4;
      cp = c0 & 0x07;
      min_cp = 0x10000;
    }
    bool valid = len > 0 && i + len <= s.size();
    for (size_t j = 1; valid && j < len; ++j) {
      const auto cj = static_cast<unsigned char>(s[i + j]);
      valid = (cj & 0xC0) == 0x80;
      cp = (cp << 6) | (cj & 0x3F);
    }
    valid = valid && cp >= min_cp && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (valid) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append(kReplacement);
      ++i;
    }
  }
  return out;
}

std::string quote_token(std::string_view s) {
  return nlohmann::json(sanitize_utf8(s)).dump();
}

}  // namespace cacheon::harness

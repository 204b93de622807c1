#include "harness/eval.h"

#include <fmt/format.h>

#include "harness/http_scorer.h"
#include "harness/report.h"
#include "harness/server_probe.h"

namespace cacheon::harness {
using json = nlohmann::json;

Result<std::vector<char>> parse_sequence(std::string_view text) {
  std::vector<char> seq;
  int b = 0, c = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t comma = text.find(',', i);
    std::string_view item = text.substr(i, comma == std::string_view::npos ? text.npos : comma - i);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == "B" || item == "b" || item == "B'") {
      seq.push_back('B');
      ++b;
    } else if (item == "C" || item == "c") {
      seq.push_back('C');
      ++c;
    } else {
      return Error{"bad_sequence", fmt::format("run sequence '{}': unknown item '{}' (use B for "
                                               "the baseline and C for the candidate)",
                                               text, item)};
    }
    if (comma == std::string_view::npos) break;
    i = comma + 1;
  }
  if (c != 1 || b < 1 || b > 4)
    return Error{"bad_sequence", fmt::format("run sequence '{}' must hold exactly one C and one "
                                             "to four B's, e.g. B,C,B",
                                             text)};
  return seq;
}

namespace {

Verdict early_verdict(std::string_view code, Blame blame, std::string_view detail,
                      const ScoringPolicy& policy) {
  Verdict v;
  v.decided = blame == Blame::candidate;
  v.passed = false;
  v.reason_code = std::string(code);
  v.blame = blame;
  v.policy = policy.name();
  v.message = render_reason(code, -1, detail);
  return v;
}

int exit_code_for(const Verdict& v) {
  if (!v.decided) return 3;
  return v.passed ? 0 : 1;
}

json config_json(const EvalConfig& c) {
  std::string seq;
  for (char x : c.sequence) seq += seq.empty() ? std::string(1, x) : std::string(",") + x;
  return {{"baseline", c.baseline.str()},
          {"candidate", c.candidate.str()},
          {"model", c.model},
          {"policy", c.policy.name()},
          {"gates", gate_list_string(c.gates)},
          {"sequence", seq},
          {"workload", c.workload.str()},
          {"warmup", c.prompts.spec.warmup},
          {"scored", c.prompts.spec.scored},
          {"input_tokens", c.prompts.spec.input_tokens},
          {"output_tokens", c.prompts.spec.output_tokens},
          {"top_logprobs", c.run.top_logprobs},
          {"corpus", c.prompts.corpus.empty() ? "builtin" : c.prompts.corpus},
          {"scorer", c.scorer ? c.scorer->str() : ""},
          {"startup_timeout_s", c.startup_timeout.count() / 1000.0}};
}

std::string fmt_opt(const std::optional<double>& v, const char* spec = "{:.1f}") {
  return v ? fmt::format(fmt::runtime(spec), *v) : std::string("-");
}

std::string verdict_summary(const Verdict& v, const EvalConfig& c) {
  std::string out;
  std::string head = !v.decided ? "NO VERDICT (arena-side failure)"
                     : v.passed ? "PASS"
                                : "FAIL";
  out += fmt::format("verdict: {}  reason: {}  blame: {}\n", head, v.reason_code,
                     to_string(v.blame));
  out += fmt::format("  {}\n", v.message);
  out += fmt::format("score ({}): {:.4f}", v.policy, v.score);
  if (v.noise.measured)
    out += fmt::format("  | baseline noise floor {:.4f} (median spread {:.4f}) -> {}",
                       v.noise.noise_floor, v.noise.median_spread, to_string(v.confidence));
  else
    out += "  | noise unmeasured (one baseline run)";
  out += "\n";
  if (v.scoring && !v.scoring->prompts.empty()) {
    out += fmt::format("  {:>6} {:>7} {:>7} {:>6} {:>12} {:>12} {:>11} {:>10}  {}\n", "prompt",
                       "b_tok", "c_tok", "k", "b_e2e_ms", "c_e2e_ms", "improvement",
                       "c_ttft_ms", "gates");
    for (const auto& p : v.scoring->prompts) {
      std::string gates;
      for (const auto& g : v.gates)
        if (g.prompt_index == p.prompt_index && !g.passed())
          gates += fmt::format("{}:{} ", g.gate, g.reason_code);
      if (gates.empty()) gates = "ok";
      out += fmt::format("  {:>6} {:>7} {:>7} {:>6} {:>12} {:>12} {:>11.4f} {:>10}  {}{}\n",
                         p.prompt_index, p.baseline_tokens, p.candidate_tokens, p.k,
                         fmt_opt(p.baseline_e2e_ms), fmt_opt(p.candidate_e2e_ms), p.improvement,
                         fmt_opt(p.candidate_ttft_ms), gates,
                         p.note.empty() ? "" : " (" + p.note + ")");
    }
  }
  (void)c;
  return out;
}

}  // namespace

EvalOutcome run_eval(const EvalConfig& cfg, Progress& progress) {
  EvalOutcome out;
  json report = {{"kind", "cacheon.eval"},
                 {"version", 1},
                 {"provenance", provenance_json()},
                 {"config", config_json(cfg)}};
  auto finish = [&](Verdict v) {
    report["verdict"] = to_json(v);
    out.summary = verdict_summary(v, cfg) + out.summary;
    out.exit_code = exit_code_for(v);
    out.verdict = std::move(v);
    out.report = std::move(report);
    return std::move(out);
  };

  progress.message("checking " + cfg.baseline.str() + " (baseline) and " + cfg.candidate.str() +
                   " (candidate)");
  if (Status st = wait_healthy(cfg.baseline, cfg.startup_timeout); !st.ok())
    return finish(early_verdict(reason::kBaselineFailed, Blame::arena, st.error().message,
                                cfg.policy));
  if (Status st = wait_healthy(cfg.candidate, cfg.startup_timeout); !st.ok()) {
    auto code = st.error().code == "unreachable" ? reason::kCandidateUnreachable
                                                 : reason::kStartupTimeout;
    return finish(early_verdict(code, Blame::candidate, st.error().message, cfg.policy));
  }
  json warnings = json::array();
  for (const auto& [who, url] : {std::pair{"baseline", cfg.baseline}, {"candidate", cfg.candidate}}) {
    auto models = served_models(url);
    if (!models.ok()) {
      warnings.push_back(fmt::format("{}: {}", who, models.error().message));
    } else if (std::find(models->begin(), models->end(), cfg.model) == models->end()) {
      warnings.push_back(fmt::format("{}: /v1/models does not list '{}'", who, cfg.model));
    }
  }
  for (const auto& w : warnings) progress.message("warning: " + w.get<std::string>());
  report["warnings"] = warnings;

  // The baseline's tokenizer trims the prompts: everyone gets the same, fitted prompts.
  auto prompts = prepare_prompts(cfg.prompts, cfg.baseline, cfg.model, progress);
  if (!prompts.ok()) {
    bool server_side = prompts.error().code == "tokenize_failed";
    return finish(early_verdict(server_side ? reason::kBaselineFailed : reason::kHarnessError,
                                Blame::arena, prompts.error().message, cfg.policy));
  }
  report["prompts"] = prompt_set_json(*prompts);
  const auto specs = request_specs(*prompts);

  RunOptions ropt = cfg.run;
  ropt.model = cfg.model;
  std::vector<RunResult> runs;
  std::vector<char> roles;
  int b_seen = 0;
  for (char role : cfg.sequence) {
    std::string label = role == 'C' ? "C (candidate)"
                        : b_seen++ == 0 ? "B (baseline)"
                                        : "B' (baseline)";
    progress.phase(label, static_cast<int>(specs.size()));
    ropt.on_request_done = [&](const RequestRecord& r, int done, int) {
      std::string note = r.ok() ? fmt::format("prompt {} ok, {} tokens", r.prompt_index,
                                              r.tokens.size())
                                : fmt::format("prompt {} FAILED: {}", r.prompt_index, r.error_code);
      progress.step(done, note);
    };
    runs.push_back(run_workload(role == 'C' ? cfg.candidate : cfg.baseline, specs, cfg.workload,
                                ropt));
    progress.finish_phase();
    roles.push_back(role);
  }

  EvalInputs in;
  in.gates = cfg.gates;
  in.policy = cfg.policy;
  std::optional<HttpTrustedScorer> scorer;
  if (cfg.scorer) {
    scorer.emplace(*cfg.scorer, cfg.model);
    in.scorer = &*scorer;
  }
  in.prompt_messages.resize(prompts->prompts.size());
  for (const auto& p : prompts->prompts)
    for (const auto& m : p.messages) in.prompt_messages[p.index].push_back({m.role, m.content});
  json runs_json = json::array();
  b_seen = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    Run view(runs[i].requests);
    if (roles[i] == 'C')
      in.candidate = view;
    else
      in.baselines.push_back(view);
    std::string label = roles[i] == 'C' ? "C" : (b_seen++ == 0 ? "B" : "B'");
    RunMetrics m = run_metrics(runs[i].requests);
    m.overhead.client_cpu_s = runs[i].client_cpu_ns / 1e9;
    json rj = run_to_json(runs[i], m);
    rj["label"] = label;
    rj["role"] = roles[i] == 'C' ? "candidate" : "baseline";
    runs_json.push_back(std::move(rj));
    out.summary += "\n" + run_summary_table(fmt::format("run {} — {}", label, runs[i].server), m,
                                            runs[i].client_cpu_ns / 1e9);
  }
  report["runs"] = std::move(runs_json);
  return finish(decide(in));
}

BenchOutcome run_bench(const BenchConfig& cfg, Progress& progress) {
  BenchOutcome out;
  out.report = {{"kind", "cacheon.bench"},
                {"version", 1},
                {"provenance", provenance_json()},
                {"config",
                 {{"server", cfg.server.str()},
                  {"model", cfg.model},
                  {"workload", cfg.workload.str()},
                  {"warmup", cfg.prompts.spec.warmup},
                  {"requests", cfg.prompts.spec.scored},
                  {"input_tokens", cfg.prompts.spec.input_tokens},
                  {"output_tokens", cfg.prompts.spec.output_tokens},
                  {"logprobs", cfg.run.logprobs}}}};
  if (Status st = wait_healthy(cfg.server, cfg.startup_timeout); !st.ok()) {
    out.summary = "error: " + st.error().message + "\n";
    out.report["error"] = {{"code", st.error().code}, {"message", st.error().message}};
    return out;
  }
  auto prompts = prepare_prompts(cfg.prompts, cfg.server, cfg.model, progress);
  if (!prompts.ok()) {
    out.summary = "error: " + prompts.error().message + "\n";
    out.report["error"] = {{"code", prompts.error().code}, {"message", prompts.error().message}};
    return out;
  }
  out.report["prompts"] = prompt_set_json(*prompts);
  RunOptions ropt = cfg.run;
  ropt.model = cfg.model;
  auto specs = request_specs(*prompts);
  progress.phase("bench", static_cast<int>(specs.size()));
  ropt.on_request_done = [&](const RequestRecord& r, int done, int) {
    progress.step(done, r.ok() ? "" : "failed: " + r.error_code);
  };
  RunResult run = run_workload(cfg.server, specs, cfg.workload, ropt);
  progress.finish_phase();
  out.metrics = run_metrics(run.requests);
  out.metrics.overhead.client_cpu_s = run.client_cpu_ns / 1e9;
  out.report["run"] = run_to_json(run, out.metrics);
  out.summary = run_summary_table(fmt::format("bench {} ({})", cfg.server.str(), run.workload),
                                  out.metrics, run.client_cpu_ns / 1e9);
  out.exit_code = out.metrics.failed == 0 ? 0 : 1;
  return out;
}

}  // namespace cacheon::harness

// `cacheon check`: the contract checks (conformance/), then a full local evaluation against a
// baseline with the validator's settings (harness/eval.h). Parsing and printing only.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "conformance/conformance.h"
#include "harness/eval.h"
#include "validator/config.h"
#include "runner/local_launcher.h"

namespace cacheon::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kOk = 0, kFailed = 1, kUsage = 2, kArena = 3;
constexpr double kGivenServerStartupS = 60;

struct CheckOptions {
  std::string server, server_cmd, baseline, baseline_cmd, scorer, model = "Qwen2.5-72B-Instruct";
  std::string logs_dir, out, block_hash, validator_config;
  bool json_out = false, skip_eval = false, quiet = false, model_given = false,
       startup_given = false;
  double startup_timeout_s = 0, request_timeout_s = 120;
  // Workload overrides; unset = the validator's settings.
  std::optional<int> warmup, prompts, input_tokens, output_tokens;
};

std::chrono::milliseconds secs(double s) {
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

std::optional<Url> url_or_none(const std::string& text, const char* what, bool& bad) {
  if (text.empty()) return std::nullopt;
  auto u = Url::parse(text);
  if (!u.ok()) {
    fmt::print(stderr, "error: --{}: {}\n", what, u.error().message);
    bad = true;
    return std::nullopt;
  }
  return *u;
}

// A server given by URL, or started from a shell command (which must print "listening on
// http://HOST:PORT") with the validator's local launcher, stopped when this goes away.
struct Side {
  std::optional<Url> url;
  std::unique_ptr<runner::ServerHandle> process;
  std::string error;
  bool arena_side = false;  // the launcher itself failed (fork, log file), not the server
  bool usage_error = false;
};

Side bring_up(runner::ServerLauncher& launcher, const std::string& url_text,
              std::vector<std::string> argv, const std::string& name, const CheckOptions& o) {
  Side s;
  if (argv.empty()) {
    bool bad = false;
    s.url = url_or_none(url_text, name.c_str(), bad);
    s.usage_error = bad;
    return s;
  }
  runner::LaunchSpec spec;
  spec.name = name;
  spec.argv = std::move(argv);
  spec.logs_path = (fs::path(o.logs_dir) / (name + ".log")).string();
  spec.startup_timeout = secs(o.startup_timeout_s);
  auto started = launcher.start(spec);
  if (!started.ok()) {
    s.error = started.error().code + ": " + started.error().message;
    s.arena_side = started.error().code == runner::launch_code::kLaunchFailed;
    return s;
  }
  s.process = std::move(*started);
  s.url = s.process->url();
  if (!o.quiet)
    fmt::print(stderr, "started {} at {}, log {}\n", name, s.url->str(), spec.logs_path);
  return s;
}

std::vector<std::string> shell(const std::string& cmd) {
  if (cmd.empty()) return {};
  return {"/bin/sh", "-c", cmd};
}

void write_json(const std::string& path, const json& j) {
  std::ofstream f(path, std::ios::trunc);
  f << j.dump(1, ' ', false, json::error_handler_t::replace) << "\n";
  if (!f) fmt::print(stderr, "error: cannot write {}\n", path);
}

int run_check(CheckOptions& o) {
  if (o.server.empty() == o.server_cmd.empty()) {
    fmt::print(stderr, "error: give one of --server URL or --server-cmd CMD\n");
    return kUsage;
  }
  if (!o.baseline.empty() && !o.baseline_cmd.empty()) {
    fmt::print(stderr, "error: give --baseline URL or --baseline-cmd CMD, not both\n");
    return kUsage;
  }
  validator::ValidatorConfig vcfg;  // the documented defaults
  if (!o.validator_config.empty()) {
    auto loaded = validator::load_config(o.validator_config);
    if (!loaded.ok()) {
      fmt::print(stderr, "error: {}\n", loaded.error().message);
      return kUsage;
    }
    vcfg = std::move(*loaded);
  }
  if (!vcfg.source.empty() && o.model_given) {
    fmt::print(stderr, "error: --model comes from the validator config; do not give both\n");
    return kUsage;
  }
  if (!o.model_given) o.model = vcfg.model;
  std::vector<std::string> baseline_argv =
      !o.baseline_cmd.empty() ? shell(o.baseline_cmd)
      : o.baseline.empty()    ? vcfg.baseline.argv
                              : std::vector<std::string>{};
  if (!o.skip_eval && o.baseline.empty() && baseline_argv.empty()) {
    fmt::print(stderr, "error: the local evaluation needs --baseline URL, --baseline-cmd CMD or "
                       "a --validator-config with a [baseline] command (or --skip-eval for the "
                       "contract checks alone)\n");
    return kUsage;
  }
  // Logs of the servers we start are kept for the miner to read: a new directory unless named.
  if (o.logs_dir.empty() && (!o.server_cmd.empty() || !baseline_argv.empty())) {
    std::string tmpl = (fs::temp_directory_path() / "cacheon-check-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      fmt::print(stderr, "error: cannot create a directory for server logs\n");
      return kArena;
    }
    o.logs_dir = tmpl;
  }
  bool bad = false;
  std::optional<Url> scorer = url_or_none(o.scorer, "scorer", bad);
  if (bad) return kUsage;
  // A server we start gets the validator's startup limit; one given by URL should be up already.
  if (!o.startup_given)
    o.startup_timeout_s = o.server_cmd.empty() ? kGivenServerStartupS
                                               : double(vcfg.startup_timeout.count()) / 1000;

  json out = {{"kind", "cacheon.check"}, {"version", 1}, {"eval", nullptr}};
  auto finish = [&](int code) {
    out["exit_code"] = code;
    if (o.json_out) std::cout << out.dump(1, ' ', false, json::error_handler_t::replace) << "\n";
    if (!o.out.empty()) write_json(o.out, out);
    return code;
  };

  runner::LocalProcessLauncher launcher({}, std::chrono::milliseconds(5000));
  Side cand = bring_up(launcher, o.server, shell(o.server_cmd), "server", o);
  if (!cand.url) {
    if (cand.usage_error) return kUsage;
    fmt::print(stderr, "error: the server did not start: {}\n", cand.error);
    out["error"] = {{"code", "server_start_failed"}, {"message", cand.error}};
    return finish(cand.arena_side ? kArena : kFailed);
  }

  conformance::ConformanceOptions co;
  co.server = *cand.url;
  co.model = o.model;
  co.startup_timeout = secs(o.startup_timeout_s);
  co.limits.timeouts.total = secs(o.request_timeout_s);
  co.limits.timeouts.first_byte = secs(o.request_timeout_s);
  if (!o.json_out) {
    fmt::print("contract checks: {} (model {})\n", co.server.str(), o.model);
    std::fflush(stdout);
    co.on_result = [](const conformance::CheckResult& r) {
      fmt::print("{}", conformance::render_line(r));
      std::fflush(stdout);
    };
  }
  conformance::ConformanceReport report = conformance::run_conformance(co);
  out["checks"] = conformance::to_json(report);
  if (!o.json_out) fmt::print("{}", conformance::render_summary(report));
  if (!report.passed()) return finish(kFailed);
  if (o.skip_eval) return finish(kOk);

  Side base = bring_up(launcher, o.baseline, baseline_argv, "baseline", o);
  if (!base.url) {
    if (base.usage_error) return finish(kUsage);
    fmt::print(stderr, "error: the baseline did not start: {}\n", base.error);
    out["error"] = {{"code", "baseline_failed"}, {"message", base.error}};
    return finish(kArena);
  }
  harness::EvalConfig cfg = validator::eval_config_for(vcfg, "");
  cfg.baseline = *base.url;
  cfg.candidate = *cand.url;
  cfg.model = o.model;
  cfg.run.model = o.model;
  cfg.prompts.block_hash = o.block_hash;
  if (vcfg.baseline_is_scorer) cfg.scorer = cfg.baseline;
  if (o.warmup) cfg.prompts.spec.warmup = *o.warmup;
  if (o.prompts) cfg.prompts.spec.scored = *o.prompts;
  if (o.input_tokens) cfg.prompts.spec.input_tokens = *o.input_tokens;
  if (o.output_tokens) cfg.prompts.spec.output_tokens = *o.output_tokens;
  if (scorer) {
    cfg.scorer = scorer;
    cfg.gates.teacher_forcing = true;
  }
  const bool overridden = o.warmup || o.prompts || o.input_tokens || o.output_tokens;
  if (!o.json_out)
    fmt::print("\nlocal evaluation against {}{}\n", cfg.baseline.str(),
               overridden ? " (workload overridden: not the validator's settings)" : "");
  harness::Progress progress(harness::Progress::stderr_is_tty(), o.quiet);
  harness::EvalOutcome eval = harness::run_eval(cfg, progress);
  out["eval"] = eval.report;
  out["eval_overridden"] = overridden;
  if (!o.json_out) fmt::print("{}", eval.summary);
  return finish(eval.exit_code == kOk ? kOk : eval.exit_code == kFailed ? kFailed : kArena);
}

}  // namespace

void add_check_command(CLI::App& app, SubcommandRuns& runs) {
  auto o = std::make_shared<CheckOptions>();
  auto* c = app.add_subcommand(
      "check",
      "Check a server against the arena's contract (SPEC §1), then evaluate it against a local "
      "baseline exactly as the validator will. Exit codes: 0 everything passed, 1 the server "
      "failed a check or the evaluation, 2 bad usage, 3 arena-side failure (the baseline did "
      "not serve).");
  c->add_option("--server", o->server,
                "The server to check, e.g. http://127.0.0.1:8000");
  c->add_option("--server-cmd", o->server_cmd,
                "Start the server to check with this shell command (it must print 'listening on "
                "http://HOST:PORT'; otherwise start it yourself and give --server) and stop it "
                "afterwards");
  c->add_option("--baseline", o->baseline,
                "The baseline server's URL");
  c->add_option("--baseline-cmd", o->baseline_cmd,
                "Start the baseline with this shell command, e.g. 'exec cacheon-engine serve "
                "--model DIR --served-model-name NAME --port 0'");
  c->add_option("--validator-config", o->validator_config,
                "An arena's validator TOML: its model, workload, gates, timeouts and [baseline] "
                "command (default: the validator's documented defaults)");
  c->add_option("--scorer", o->scorer,
                "A trusted scorer (cacheon-engine) URL: adds the teacher-forcing gate");
  c->add_option("--model", o->model, "The model name the arena requests")
      ->capture_default_str()
      ->each([o](const std::string&) { o->model_given = true; });
  c->add_flag("--json", o->json_out, "Print one JSON object (checks and evaluation) on stdout");
  c->add_option("--out", o->out, "Also write that JSON object to this file");
  c->add_flag("--skip-eval", o->skip_eval, "Run the contract checks only");
  c->add_option("--startup-timeout", o->startup_timeout_s,
                "Seconds to wait for GET /health and for a started server's URL (default: the "
                "validator's limit, 750, for --server-cmd; 60 for --server)")
      ->each([o](const std::string&) { o->startup_given = true; })
      ->check(CLI::Range(0.0, 86400.0));
  c->add_option("--request-timeout", o->request_timeout_s,
                "Seconds for each contract-check request")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 86400.0));
  c->add_option("--logs-dir", o->logs_dir, "Where started servers write their logs "
                                           "(default: a new temporary directory)");
  c->add_option("--block-hash", o->block_hash,
                "Hex block hash that seeds the prompts (default: a fresh random one)");
  c->add_option("--warmup", o->warmup, "Override: warm-up prompts (not the validator's setting)")
      ->check(CLI::Range(0, 1000));
  c->add_option("--prompts", o->prompts, "Override: scored prompts")->check(CLI::Range(1, 100000));
  c->add_option("--input-tokens", o->input_tokens, "Override: prompt length in tokens")
      ->check(CLI::Range(16, 10'000'000));
  c->add_option("--output-tokens", o->output_tokens, "Override: max_tokens per request")
      ->check(CLI::Range(1, 10'000'000));
  c->add_flag("--quiet", o->quiet, "No progress output");
  c->footer(
      "\nThe contract checks (ids and failure codes: src/conformance/README.md) print one line "
      "each, with what was expected, what was seen and the fix under every failure. The "
      "evaluation runs only when every check passed.");
  runs.emplace_back(c, [o] { return run_check(*o); });
}

}  // namespace cacheon::cli

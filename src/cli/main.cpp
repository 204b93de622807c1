// `cacheon`: argument parsing and dispatch only; the work lives in harness/, ledger/, validator/.
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "harness/eval.h"
#include "harness/html_report.h"

using namespace cacheon;
using namespace cacheon::harness;

namespace {

constexpr int kExitUsage = 2;

// Options shared by bench and eval: the prompts and the shape of each request.
struct CommonOptions {
  std::string model = "Qwen2.5-72B-Instruct";
  std::string corpus;
  std::string block_hash;
  int warmup = 2;
  int prompts = 10;
  int input_tokens = 6000;
  int output_tokens = 512;
  bool no_trim = false;
  int64_t max_model_len = 0;
  int top_logprobs = 5;
  bool no_logprobs = false;
  bool ignore_eos = false;
  bool busy_poll = false;
  std::string workload = "sequential";
  double connect_timeout_s = 5, first_byte_timeout_s = 120, read_timeout_s = 60,
         request_timeout_s = 900;
  double startup_timeout_s = 750;
  std::string out;
  bool quiet = false;
  bool json_stdout = false;
};

void add_common(CLI::App* app, CommonOptions& o) {
  app->add_option("--model", o.model, "Model name sent in requests and expected in /v1/models")
      ->capture_default_str();
  app->add_option("--corpus", o.corpus,
                  "Prompt corpus: a directory of .txt files, a .txt or a .jsonl file "
                  "({\"text\": ...} per line); default: the built-in corpus");
  app->add_option("--block-hash", o.block_hash,
                  "Hex block hash that seeds the prompt draw (seed = first 8 bytes of "
                  "sha256(hash bytes), big-endian); default: a fresh random hash, printed in "
                  "the report");
  app->add_option("--warmup", o.warmup, "Warm-up prompts (sent first, never scored)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  app->add_option("--prompts", o.prompts, "Scored prompts")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app->add_option("--input-tokens", o.input_tokens, "Target prompt length in tokens")
      ->capture_default_str()
      ->check(CLI::Range(16, 10'000'000));
  app->add_option("--output-tokens", o.output_tokens, "max_tokens of every request")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  app->add_flag("--no-trim", o.no_trim,
                "Do not fit prompts with the server's /tokenize (prompt sizes become estimates)");
  app->add_option("--max-model-len", o.max_model_len,
                  "Context window to fit prompt + max_tokens into (default: what /tokenize "
                  "reports)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  app->add_option("--top-logprobs", o.top_logprobs, "top_logprobs per token (0..20)")
      ->capture_default_str()
      ->check(CLI::Range(0, 20));
  app->add_flag("--ignore-eos", o.ignore_eos, "Ask servers to ignore EOS (vLLM extension)");
  app->add_flag("--busy-poll", o.busy_poll,
                "Spin the client's event loop instead of sleeping: sharper timestamps at low "
                "concurrency, one busy core for the run");
  app->add_option("--workload", o.workload,
                  "sequential | concurrency:N | rate:R[:SEED] (Poisson, requests/s)")
      ->capture_default_str();
  app->add_option("--connect-timeout", o.connect_timeout_s, "Seconds to connect")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 3600.0));
  app->add_option("--first-byte-timeout", o.first_byte_timeout_s,
                  "Seconds from request sent to the first response byte")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));
  app->add_option("--read-timeout", o.read_timeout_s, "Seconds of silence allowed mid-stream")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));
  app->add_option("--request-timeout", o.request_timeout_s, "Seconds for a whole request")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));
  app->add_option("--startup-timeout", o.startup_timeout_s,
                  "Seconds to wait for each server's GET /health to answer 200")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  app->add_option("--out", o.out, "Write the complete JSON report to this file");
  app->add_flag("--json", o.json_stdout, "Print the JSON report on stdout instead of the table");
  app->add_flag("--quiet", o.quiet, "No progress output");
}

std::chrono::milliseconds secs(double s) {
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

// Builds the shared parts of a config; returns false after printing one clear line.
bool common_config(const CommonOptions& o, PromptOptions& p, RunOptions& r, Workload& w) {
  auto wl = Workload::parse(o.workload);
  if (!wl.ok()) {
    fmt::print(stderr, "error: {}\n", wl.error().message);
    return false;
  }
  w = *wl;
  p.corpus = o.corpus;
  p.block_hash = o.block_hash;
  p.spec.warmup = o.warmup;
  p.spec.scored = o.prompts;
  p.spec.input_tokens = o.input_tokens;
  p.spec.output_tokens = o.output_tokens;
  p.trim = !o.no_trim;
  p.max_model_len = o.max_model_len;
  r.logprobs = !o.no_logprobs;
  r.top_logprobs = o.top_logprobs;
  r.ignore_eos = o.ignore_eos;
  r.busy_poll = o.busy_poll;
  r.timeouts.connect = secs(o.connect_timeout_s);
  r.timeouts.first_byte = secs(o.first_byte_timeout_s);
  r.timeouts.read_idle = secs(o.read_timeout_s);
  r.timeouts.total = secs(o.request_timeout_s);
  return true;
}

bool parse_url(const std::string& text, const char* what, Url& out) {
  auto u = Url::parse(text);
  if (!u.ok()) {
    fmt::print(stderr, "error: --{}: {}\n", what, u.error().message);
    return false;
  }
  out = *u;
  return true;
}

// Writes the report; a failure here is reported but does not hide the verdict.
bool write_report(const std::string& path, const nlohmann::json& report) {
  if (path.empty()) return true;
  std::ofstream f(path, std::ios::trunc);
  if (f) f << report.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  if (!f) {
    fmt::print(stderr, "error: cannot write report to {}\n", path);
    return false;
  }
  return true;
}

void emit(const CommonOptions& o, const nlohmann::json& report, const std::string& summary) {
  if (o.json_stdout)
    std::cout << report.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  else
    std::cout << summary << std::flush;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "cacheon: measure and judge OpenAI-compatible LLM inference servers.\n"
      "Exit codes: 0 success/pass, 1 candidate failed or requests failed, 2 bad usage, "
      "3 arena-side failure (server unreachable, baseline failed)."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Every subcommand's options");

  CommonOptions bench_o;
  bench_o.startup_timeout_s = 30;
  std::string bench_server;
  auto* bench = app.add_subcommand("bench", "Measure one server: TTFT, per-token ITL, TPOT, "
                                            "e2e, throughput, harness overhead");
  bench->add_option("--server", bench_server, "Server base URL, e.g. http://127.0.0.1:8000")
      ->required();
  add_common(bench, bench_o);
  bench->add_flag("--no-logprobs", bench_o.no_logprobs,
                  "Do not ask for logprobs (tokens then come from usage; no per-token times)");

  CommonOptions eval_o;
  std::string baseline_url, candidate_url, policy_text = "e2e",
              gates_text = "first-mismatch,structural", sequence_text = "B,C,B", scorer_url;
  auto* eval = app.add_subcommand(
      "eval", "One full evaluation of a candidate against a baseline, with a verdict");
  eval->add_option("--baseline", baseline_url, "Baseline server base URL")->required();
  eval->add_option("--candidate", candidate_url, "Candidate server base URL")->required();
  eval->add_option("--policy", policy_text, "Scoring policy: e2e | ttft-tps (optionally @VERSION)")
      ->capture_default_str();
  eval->add_option("--gates", gates_text,
                   "Correctness gates, comma-separated: first-mismatch, structural, "
                   "teacher-forcing (needs --scorer), or none")
      ->capture_default_str();
  eval->add_option("--scorer", scorer_url,
                   "Trusted scorer base URL for the teacher-forcing gate (a cacheon-engine)");
  eval->add_option("--sequence", sequence_text,
                   "Run order: B baseline, C candidate; B,C,B brackets the candidate to measure "
                   "the baseline's noise")
      ->capture_default_str();
  add_common(eval, eval_o);
  std::string html_path;
  eval->add_option("--html", html_path,
                   "Also write the evaluation as one self-contained HTML page (verdict, per-prompt "
                   "table, token timelines, gates, overhead)");

  cli::SubcommandRuns runs;
  cli::add_ledger_commands(app, runs);
  cli::add_commit_command(app, runs);
  cli::add_check_command(app, runs);
  cli::add_validator_commands(app, runs);
  cli::add_worker_commands(app, runs);
  cli::add_dashboard_command(app, runs);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One clear line, then where to look.
    fmt::print(stderr, "error: {}\nrun '{} --help' for usage\n", e.what(), argv[0]);
    return kExitUsage;
  }

  for (auto& [sub, run] : runs)
    if (sub->parsed()) return run();

  if (bench->parsed()) {
    BenchConfig cfg;
    cfg.model = bench_o.model;
    cfg.startup_timeout = secs(bench_o.startup_timeout_s);
    if (!parse_url(bench_server, "server", cfg.server) ||
        !common_config(bench_o, cfg.prompts, cfg.run, cfg.workload))
      return kExitUsage;
    Progress progress(Progress::stderr_is_tty(), bench_o.quiet);
    BenchOutcome out = run_bench(cfg, progress);
    if (out.exit_code == 3 && !bench_o.json_stdout)
      fmt::print(stderr, "{}", out.summary);  // the server never served: one error line
    else
      emit(bench_o, out.report, out.summary);
    if (!write_report(bench_o.out, out.report)) return 3;
    return out.exit_code;
  }

  EvalConfig cfg;
  cfg.model = eval_o.model;
  if (!parse_url(baseline_url, "baseline", cfg.baseline) ||
      !parse_url(candidate_url, "candidate", cfg.candidate) ||
      !common_config(eval_o, cfg.prompts, cfg.run, cfg.workload))
    return kExitUsage;
  auto policy = parse_policy(policy_text);
  auto gates = parse_gate_list(gates_text);
  auto seq = parse_sequence(sequence_text);
  for (const Error* e : {policy.ok() ? nullptr : &policy.error(),
                         gates.ok() ? nullptr : &gates.error(), seq.ok() ? nullptr : &seq.error()})
    if (e) {
      fmt::print(stderr, "error: {}\n", e->message);
      return kExitUsage;
    }
  cfg.policy = *policy;
  cfg.gates = *gates;
  cfg.sequence = *seq;
  cfg.startup_timeout = secs(eval_o.startup_timeout_s);
  if (!scorer_url.empty()) {
    Url s;
    if (!parse_url(scorer_url, "scorer", s)) return kExitUsage;
    cfg.scorer = s;
  }
  Progress progress(Progress::stderr_is_tty(), eval_o.quiet);
  EvalOutcome out = run_eval(cfg, progress);
  emit(eval_o, out.report, out.summary);
  if (!write_report(eval_o.out, out.report)) return 3;
  if (!html_path.empty()) {
    std::ofstream f(html_path, std::ios::binary | std::ios::trunc);
    f << harness::eval_report_html(out.report);
    if (!f) {
      fmt::print(stderr, "error: cannot write the HTML report to {}\n", html_path);
      return 3;
    }
  }
  return out.exit_code;
}

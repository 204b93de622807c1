// One evaluation end to end: baseline and candidate servers that are already running, the same
// prompts to both, bracketed runs (B, C, B' by default), then the verdict and the report.
// And its single-server sibling, the benchmark.
//
// Not in scope: starting servers (the runner/validator does), chains, containers, payments.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/http_client.h"
#include "harness/gates.h"
#include "harness/metrics.h"
#include "harness/prompt_plan.h"
#include "harness/runner.h"
#include "harness/scoring.h"
#include "harness/verdict.h"

namespace cacheon::harness {

// The order of runs: 'B' baseline, 'C' candidate, e.g. "B,C,B" (default: brackets the
// candidate so the baseline's own spread is measured), "B,C" (no noise estimate).
// Exactly one C and one to four B's. Error code "bad_sequence".
Result<std::vector<char>> parse_sequence(std::string_view text);

struct EvalConfig {
  Url baseline;
  Url candidate;
  std::string model = "Qwen2.5-72B-Instruct";
  ScoringPolicy policy;
  GateConfig gates;
  PromptOptions prompts;
  std::vector<char> sequence{'B', 'C', 'B'};
  Workload workload;  // sequential in V1
  RunOptions run;     // request shape and timeouts (model is taken from `model`)
  std::chrono::milliseconds startup_timeout{750'000};
  std::optional<Url> scorer;  // teacher-forcing's trusted scorer
};

struct EvalOutcome {
  Verdict verdict;
  nlohmann::json report;  // complete: config, prompts, every run, verdict
  std::string summary;    // for people
  // 0 passed, 1 candidate failed (decided), 3 arena-side failure (undecided).
  int exit_code = 3;
};

EvalOutcome run_eval(const EvalConfig& config, Progress& progress);

struct BenchConfig {
  Url server;
  std::string model = "Qwen2.5-72B-Instruct";
  PromptOptions prompts;
  Workload workload;
  RunOptions run;
  std::chrono::milliseconds startup_timeout{60'000};
};

struct BenchOutcome {
  RunMetrics metrics;
  nlohmann::json report;
  std::string summary;
  // 0 every request completed, 1 some failed, 3 the server never served / prompts failed.
  int exit_code = 3;
};

BenchOutcome run_bench(const BenchConfig& config, Progress& progress);

}  // namespace cacheon::harness

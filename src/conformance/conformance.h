// The server contract's conformance tests (SPEC §1), run over real HTTP against a running server:
// /health, /v1/models, /v1/chat/completions (stream and non-stream: SSE framing, chunk fields,
// role, finish_reason, usage, logprobs and top_logprobs, max_tokens / max_completion_tokens,
// ignore_eos, stop, seed and greedy determinism, error objects for bad input) and /tokenize.
// Each check yields pass / fail / skip with a stable code, what was expected, what was seen and
// a one-line fix (conformance/check_result.h). The list with codes is in README.md.
//
// Not in scope: starting servers (runner/launcher.h, the CLI), speed and correctness
// against a baseline (harness/eval.h: `cacheon check` runs it after these checks).
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "conformance/check_result.h"
#include "conformance/probe.h"
#include "core/http_client.h"

namespace cacheon::conformance {

struct ConformanceOptions {
  Url server;
  std::string model = "Qwen2.5-72B-Instruct";  // the served name the arena will request
  ProbeLimits limits;
  // How long /health may take to answer 200 (the contract allows 750 s from container start;
  // `check` targets a server that is already starting or up).
  std::chrono::milliseconds startup_timeout{120'000};
  int max_tokens = 8;  // per generation request: small, the checks are about shape
  // Called after each check, in order (progress for people).
  std::function<void(const CheckResult&)> on_result;
};

ConformanceReport run_conformance(const ConformanceOptions& options);

// Every check id with one line on what it verifies, in run order.
struct CheckInfo {
  std::string_view id;
  std::string_view what;
};
const std::vector<CheckInfo>& check_catalog();

}  // namespace cacheon::conformance

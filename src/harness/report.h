// Reports: complete JSON (per request, per token times) for machines and a readable terminal
// summary for people. Pure formatting: no measurement or judgement happens here.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "harness/metrics.h"
#include "harness/runner.h"

namespace cacheon::harness {

// Where a report came from (STYLE: stamp results with provenance).
nlohmann::json provenance_json();

// One run in full: every request with its timestamps relative to the run start (ms, µs
// precision), every token's arrival, text, logprobs, and the run's metrics.
nlohmann::json run_to_json(const RunResult& run, const RunMetrics& metrics);

// A fixed-width table of the run's latency summaries (p50/p90/p99/max) and throughput.
std::string run_summary_table(const std::string& title, const RunMetrics& metrics,
                              double client_cpu_s);

}  // namespace cacheon::harness

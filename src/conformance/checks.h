// Internal: the request-level checks run by run_conformance, grouped by file.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "conformance/analysis.h"
#include "conformance/conformance.h"

namespace cacheon::conformance {

struct Context {
  const ConformanceOptions& opt;
  ConformanceReport& report;

  void add(CheckResult r);
  // The one prompt every generation request uses.
  nlohmann::json messages() const;
  // A greedy request: temperature 0, ignore_eos, logprobs with 5 alternatives, usage.
  nlohmann::json chat_body(int max_tokens, bool stream) const;
  Expect expect(int max_tokens) const;
};

// checks_endpoints.cpp
CheckResult check_health(Context& c);
CheckResult check_models(Context& c);
CheckResult check_tokenize(Context& c, const Generation& stream);

// checks_sampling.cpp: stream.matches_nonstream, greedy.deterministic, max_completion_tokens,
// top_logprobs.max, seed.deterministic, stop.
void run_sampling_checks(Context& c, const Generation& stream, const Generation& nonstream);

// checks_errors.cpp: error.* (bad input answered with the right status and an error object).
void run_error_checks(Context& c);

// The same token sequence (by bytes)? Returns the first differing index, or -1.
int first_difference(const Generation& a, const Generation& b);

}  // namespace cacheon::conformance

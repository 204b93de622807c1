// Internal: the checks shared by stream and non-stream answers (see analysis.h).
#pragma once
#include <string>
#include <vector>

#include "conformance/analysis.h"

namespace cacheon::conformance {

// <prefix>.greedy, <prefix>.max_tokens, <prefix>.usage, <prefix>.text over what was extracted.
std::vector<CheckResult> generation_checks(const std::string& prefix, const Generation& g,
                                           const Expect& expect, bool usage_required);

}  // namespace cacheon::conformance

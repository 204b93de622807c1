// A reason code in plain words for miners: what happened and what to change. The machine code
// and the evaluation's own one-line message stay next to it in the API.
#pragma once
#include <string>
#include <string_view>

namespace cacheon::dashboard {

// `passed`/`decided`/`score` refine "ok" (faster, not faster, inside the noise).
std::string reason_text(std::string_view code, bool decided, bool passed, double score,
                        std::string_view message);

}  // namespace cacheon::dashboard

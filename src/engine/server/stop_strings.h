// Server-side `stop` strings over streamed text. Text is released as soon as it cannot be the
// start of a stop string: only the longest tail that is a proper prefix of some stop string is
// held back. On a match the output ends right before the stop string (OpenAI / vLLM default:
// the stop string itself is not returned).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace cacheon::engine {

class StopStringFilter {
 public:
  // Empty strings are ignored (they would match everywhere).
  explicit StopStringFilter(std::vector<std::string> stops);

  // Appends decoded text; returns what may be sent now. With `check` false (before min_tokens,
  // as vLLM) stop strings are not looked for and everything pending is released.
  std::string push(std::string_view text, bool check = true);
  // End of generation: whatever is held back (a last look for a stop string included).
  std::string flush(bool check = true);
  bool stopped() const { return stopped_; }

 private:
  std::string release(bool check, bool final);

  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace cacheon::engine

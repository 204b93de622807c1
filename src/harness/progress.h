// Progress output for long runs: a redrawn bar on a terminal, plain lines otherwise (CI, pipes).
// Writes to stderr so stdout stays clean for JSON.
#pragma once
#include <cstdint>
#include <string>

namespace cacheon::harness {

class Progress {
 public:
  // `interactive`: redraw one line (TTY); else print a line every `plain_every` steps and at end.
  explicit Progress(bool interactive, bool quiet = false);
  static bool stderr_is_tty();

  void phase(const std::string& name, int total);  // starts a new bar
  void step(int done, const std::string& note = {});
  void message(const std::string& line);  // a line above the bar
  void finish_phase();

 private:
  bool interactive_;
  bool quiet_;
  std::string phase_;
  int total_ = 0;
  int last_printed_ = -1;
  int64_t start_ns_ = 0;
  bool bar_open_ = false;
};

}  // namespace cacheon::harness

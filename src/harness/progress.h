// Progress output for long runs: a redrawn bar on a terminal, plain lines otherwise (CI, pipes).
// Writes to stderr so stdout stays clean for JSON.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace cacheon::harness {

// What an observer sees: a phase step (message empty) or a message line.
struct ProgressUpdate {
  std::string_view phase;
  int done = 0;
  int total = 0;
  std::string_view note;
  std::string_view message;
};

class Progress {
 public:
  // `interactive`: redraw one line (TTY); else print a line every `plain_every` steps and at end.
  explicit Progress(bool interactive, bool quiet = false);
  static bool stderr_is_tty();

  void phase(const std::string& name, int total);  // starts a new bar
  void step(int done, const std::string& note = {});
  void message(const std::string& line);  // a line above the bar
  void finish_phase();
  // Also hands every message, and in plain mode every printed phase step, to `sink`, even when
  // quiet: a remote worker streams them to the validator. Called on the reporting thread.
  void set_sink(std::function<void(const std::string&)> sink) { sink_ = std::move(sink); }
  // Every phase step and message, unthrottled, even when quiet (the validator's live status
  // and log file). Called on the reporting thread; must be cheap.
  void set_observer(std::function<void(const ProgressUpdate&)> observer) {
    observer_ = std::move(observer);
  }

 private:
  bool interactive_;
  bool quiet_;
  std::string phase_;
  int total_ = 0;
  int last_printed_ = -1;
  int64_t start_ns_ = 0;
  bool bar_open_ = false;
  std::function<void(const std::string&)> sink_;
  std::function<void(const ProgressUpdate&)> observer_;
};

}  // namespace cacheon::harness

#include "harness/progress.h"

#include <cstdio>
#include <unistd.h>

#include <fmt/format.h>

#include "core/clock.h"

namespace cacheon::harness {

Progress::Progress(bool interactive, bool quiet) : interactive_(interactive), quiet_(quiet) {}

bool Progress::stderr_is_tty() { return isatty(STDERR_FILENO) == 1; }

void Progress::phase(const std::string& name, int total) {
  finish_phase();
  phase_ = name;
  total_ = total;
  last_printed_ = -1;
  start_ns_ = mono_ns();
  step(0);
}

void Progress::step(int done, const std::string& note) {
  if (observer_) observer_(ProgressUpdate{phase_, done, total_, note, {}});
  if (quiet_ && !sink_) return;
  double secs = (mono_ns() - start_ns_) / 1e9;
  if (interactive_ && !quiet_) {
    const int width = 30;
    int filled = total_ > 0 ? done * width / total_ : width;
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r\033[K%-14s [%s] %d/%d %.1fs %s", phase_.c_str(), bar.c_str(), done,
                 total_, secs, note.c_str());
    std::fflush(stderr);
    bar_open_ = true;
    return;
  }
  // Plain mode (logs, CI): a line at every 10% of the phase and at its end, none for step 0.
  if (done == 0 || done == last_printed_) return;
  int tenth = total_ > 0 ? done * 10 / total_ : 10;
  int last_tenth = total_ > 0 && last_printed_ > 0 ? last_printed_ * 10 / total_ : 0;
  if (done != total_ && tenth == last_tenth) return;
  last_printed_ = done;
  if (sink_)
    sink_(fmt::format("{} {}/{} ({:.1f}s){}{}", phase_, done, total_, secs, note.empty() ? "" : " ",
                      note));
  if (quiet_) return;
  std::fprintf(stderr, "%s %d/%d (%.1fs)%s%s\n", phase_.c_str(), done, total_, secs,
               note.empty() ? "" : " ", note.c_str());
}

void Progress::message(const std::string& line) {
  if (observer_) observer_(ProgressUpdate{phase_, 0, 0, {}, line});
  if (sink_) sink_(line);
  if (quiet_) return;
  if (bar_open_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", line.c_str());
  bar_open_ = false;
}

void Progress::finish_phase() {
  if (quiet_) return;
  if (interactive_ && bar_open_) std::fprintf(stderr, "\n");
  bar_open_ = false;
}

}  // namespace cacheon::harness

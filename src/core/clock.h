// The one clock: monotonic nanoseconds. Every harness timestamp comes from here.
#pragma once
#include <cstdint>
#include <ctime>

namespace cacheon {

// Monotonic time in nanoseconds (CLOCK_MONOTONIC). Cheap (vDSO), never goes back.
inline int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Wall-clock time in milliseconds since the Unix epoch, for reports only (never for intervals).
inline int64_t wall_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// Process CPU time (user + system) in nanoseconds, for the harness's own-cost report.
inline int64_t process_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace cacheon

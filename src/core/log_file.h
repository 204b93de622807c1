// An append-only, size-capped log file: one line per call, prefixed with the UTC time. When the
// file passes `max_bytes` it is renamed to "<path>.1" (replacing the previous one) and a new one
// starts, so the disk use stays under about twice the cap. Thread-safe. Write errors are
// remembered (last_error) and never thrown: a full disk must not stop the validator.
#pragma once
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace cacheon {

class LogFile {
 public:
  explicit LogFile(std::string path, int64_t max_bytes = 16 * 1024 * 1024);
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // Appends "2026-11-22T10:41:28.123Z <line>\n" (control characters in `line` become spaces).
  void write(std::string_view line);
  const std::string& path() const { return path_; }
  std::string last_error() const;

 private:
  void open_locked();
  std::string path_;
  int64_t max_bytes_;
  std::FILE* file_ = nullptr;
  int64_t size_ = 0;
  std::string last_error_;
  mutable std::mutex mu_;
};

// "2026-11-22T10:41:28.123Z" for a Unix time in milliseconds.
std::string iso_utc_ms(int64_t unix_ms);

}  // namespace cacheon

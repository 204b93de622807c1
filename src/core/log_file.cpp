#include "core/log_file.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "core/clock.h"

namespace cacheon {

std::string iso_utc_ms(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     static_cast<int>(unix_ms % 1000));
}

LogFile::LogFile(std::string path, int64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {
  std::lock_guard lock(mu_);
  open_locked();
}

LogFile::~LogFile() {
  if (file_ != nullptr) std::fclose(file_);
}

void LogFile::open_locked() {
  std::error_code ec;
  std::filesystem::path p(path_);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  file_ = std::fopen(path_.c_str(), "ae");
  if (file_ == nullptr) {
    last_error_ = fmt::format("cannot open {}: {}", path_, std::strerror(errno));
    return;
  }
  auto size = std::filesystem::file_size(p, ec);
  size_ = ec ? 0 : static_cast<int64_t>(size);
}

void LogFile::write(std::string_view line) {
  std::string text = iso_utc_ms(wall_ms());
  text += ' ';
  for (char c : line) text += (static_cast<unsigned char>(c) < 0x20 && c != '\t') ? ' ' : c;
  text += '\n';
  std::lock_guard lock(mu_);
  if (file_ == nullptr) return;
  if (size_ + static_cast<int64_t>(text.size()) > max_bytes_ && size_ > 0) {
    std::fclose(file_);
    file_ = nullptr;
    std::error_code ec;
    std::filesystem::rename(path_, path_ + ".1", ec);
    open_locked();
    if (file_ == nullptr) return;
    size_ = 0;
  }
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0)
    last_error_ = fmt::format("cannot write {}: {}", path_, std::strerror(errno));
  else
    size_ += static_cast<int64_t>(text.size());
}

std::string LogFile::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

}  // namespace cacheon

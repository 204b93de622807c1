// Bounded reads of the validator's files for the dashboard. Paths come from the store (written by
// the validator), but the dashboard still serves only what lies under its logs root: a path that
// resolves (symlinks included) outside it is refused, and no read exceeds its cap.
#pragma once
#include <cstddef>
#include <string>

#include "core/status.h"

namespace cacheon::dashboard {

struct FileTail {
  std::string text;        // valid UTF-8 (invalid bytes replaced by U+FFFD)
  bool truncated = false;  // the file was longer than the tail
};

// The last `max_bytes` of `path`, starting after a line break when cut. Error codes: not_found,
// forbidden (outside `root`; root "" allows any path), unreadable.
Result<FileTail> read_tail(const std::string& path, const std::string& root, size_t max_bytes);
// The whole file when it is at most `max_bytes` (else "too_large"); same checks as read_tail.
Result<std::string> read_whole(const std::string& path, const std::string& root, size_t max_bytes);
// True when `path` exists and lies under `root`.
bool servable(const std::string& path, const std::string& root);

// Replaces invalid UTF-8 sequences by U+FFFD.
std::string sanitize_utf8(std::string_view in);

}  // namespace cacheon::dashboard

#include "engine/server/stop_strings.h"

#include <algorithm>

namespace cacheon::engine {

StopStringFilter::StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopStringFilter::push(std::string_view text, bool check) {
  if (stopped_) return {};
  pending_.append(text);
  return release(check, false);
}

std::string StopStringFilter::flush(bool check) {
  if (stopped_) return {};
  return release(check, true);
}

std::string StopStringFilter::release(bool check, bool final) {
  std::string out;
  if (!check || stops_.empty()) {
    out.swap(pending_);
    return out;
  }
  // A match can only start inside pending_: everything released earlier was, at release time,
  // no prefix of any stop string (see the header).
  size_t first = std::string::npos;
  for (const std::string& s : stops_) first = std::min(first, pending_.find(s));
  if (first != std::string::npos) {
    stopped_ = true;
    out = pending_.substr(0, first);
    pending_.clear();
    return out;
  }
  size_t hold = 0;
  if (!final) {
    for (const std::string& s : stops_) {
      const size_t most = std::min(s.size() - 1, pending_.size());
      for (size_t k = most; k > hold; --k) {
        if (std::string_view(pending_).substr(pending_.size() - k) ==
            std::string_view(s).substr(0, k)) {
          hold = k;
          break;
        }
      }
    }
  }
  out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

}  // namespace cacheon::engine

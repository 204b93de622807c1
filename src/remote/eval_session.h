// One evaluation in flight on a worker: records produced on the evaluation thread (progress,
// launched, the result) and consumed by the connection that streams them. Bounded: progress
// records beyond kMaxQueued are dropped (counted), the result is never dropped.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace cacheon::remote {

class EvalSession {
 public:
  static constexpr size_t kMaxQueued = 4096;

  void push(std::string record) {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(record));
    cv_.notify_all();
  }
  void finish(std::string result_line) {
    std::lock_guard lock(mu_);
    result_ = std::move(result_line);
    cv_.notify_all();
  }
  void wake() { cv_.notify_all(); }

  struct Batch {
    std::vector<std::string> records;
    std::optional<std::string> result;  // set once the evaluation ended
  };
  // Waits until there is something, the result is in, `until` passes or stop() is true.
  template <class Stop>
  Batch take(std::chrono::steady_clock::time_point until, Stop&& stop) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, until, [&] { return !queue_.empty() || result_ || stop(); });
    Batch b;
    b.records.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.end()));
    queue_.clear();
    if (result_) b.result = *result_;
    return b;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t dropped_ = 0;
  std::optional<std::string> result_;
};

}  // namespace cacheon::remote

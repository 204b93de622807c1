// The dashboard's read-only JSON API (docs/dashboard.md): /api/v1/... and /metrics, answered from
// the validator's files. Pure request -> reply mapping (no sockets): server.h puts it on HTTP with
// rate limits and cache headers. Each request opens the store read-only, so the dashboard never
// holds a lock the validator waits on and always sees the latest committed state.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cacheon::dashboard {

// Where the validator keeps its state (docs/dashboard.md "Sources").
struct DashboardSources {
  std::string store_path;     // required
  std::string status_path;    // status.json ("" = none)
  std::string live_path;      // live.json ("" = none)
  std::string validator_log;  // the validator's log ("" = none)
  std::string logs_root;      // evaluation logs and reports live under here ("" = none served)
  // Siblings of the store: status.json, live.json, validator.log, logs/.
  static DashboardSources next_to_store(const std::string& store_path);
};

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply json_reply(int status, const nlohmann::json& body);
Reply error_reply(int status, std::string_view code, std::string_view message);

// Rendered report pages by (path, size, mtime): a stored report never changes once written, and
// rendering a large one costs tens of ms. At most kEntries pages are kept.
class ReportPageCache {
 public:
  static constexpr size_t kEntries = 16;
  bool find(const std::string& key, std::string& html) const;
  void put(const std::string& key, const std::string& html);

 private:
  mutable std::mutex mu_;
  std::deque<std::pair<std::string, std::string>> entries_;  // oldest first
};

class ReadApi {
 public:
  explicit ReadApi(DashboardSources sources)
      : sources_(std::move(sources)), pages_(std::make_shared<ReportPageCache>()) {}
  // `target` is the request's path and query. Handles /api/v1/* and /metrics; anything else is
  // a 404 reply (the server serves static files before asking).
  Reply handle(const std::string& target) const;
  const DashboardSources& sources() const { return sources_; }

  static constexpr int64_t kStaleAfterMs = 60'000;    // live.json not rewritten: stale
  static constexpr size_t kMaxLogBytes = 1 << 20;     // log tails
  static constexpr size_t kMaxReportBytes = 64 << 20; // stored reports

 private:
  DashboardSources sources_;
  std::shared_ptr<ReportPageCache> pages_;
};

}  // namespace cacheon::dashboard

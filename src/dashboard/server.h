// The dashboard on HTTP: the read API and /metrics (read_api.h), the embedded web UI, a rate limit
// per client address, ETags (If-None-Match -> 304) and cache headers. GET only. Served by
// `cacheon dashboard` or inside `cacheon validator` ([dashboard] listen).
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/http_server.h"
#include "dashboard/rate_limiter.h"
#include "dashboard/read_api.h"

namespace cacheon::dashboard {

struct DashboardOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (DashboardServer::port())
  double rate_per_s = 20;
  int burst = 60;
  int threads = 2;
};

// "HOST:PORT" (IPv6 as "[::1]:8080") -> host and port. Error code "bad_listen".
Status parse_listen(const std::string& text, DashboardOptions& options);

class DashboardServer {
 public:
  DashboardServer(DashboardOptions options, DashboardSources sources);
  ~DashboardServer();
  Status start();  // binds; error code "bind_failed"
  void stop();
  uint16_t port() const;

  // What one request gets (no sockets): used by the HTTP handler and by tests.
  Reply respond(const HttpRequest& request);

 private:
  Reply route(const HttpRequest& request);
  std::string server_metrics() const;

  DashboardOptions options_;
  ReadApi api_;
  RateLimiter limiter_;
  std::unique_ptr<HttpServer> http_;
  mutable std::mutex counters_mu_;
  std::map<int, int64_t> responses_by_status_;
};

}  // namespace cacheon::dashboard

#include "dashboard/server.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/sha256.h"
#include "dashboard/metrics.h"
#include "dashboard/web_assets.h"

namespace cacheon::dashboard {
namespace {

constexpr std::string_view kUiPolicy =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'";
// Rendered reports hold text from submitted servers: no script at all, inline styles only.
constexpr std::string_view kReportPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

bool starts_with(std::string_view s, std::string_view p) { return s.rfind(p, 0) == 0; }

}  // namespace

Status parse_listen(const std::string& text, DashboardOptions& o) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Error{"bad_listen", "listen must be HOST:PORT, e.g. 127.0.0.1:8080, not \"" + text + "\""};
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = -1;
  const std::string p = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port < 0 || port > 65535)
    return Error{"bad_listen", "the port in \"" + text + "\" must be 0..65535"};
  o.host = host;
  o.port = static_cast<uint16_t>(port);
  return {};
}

DashboardServer::DashboardServer(DashboardOptions options, DashboardSources sources)
    : options_(std::move(options)),
      api_(std::move(sources)),
      limiter_(options_.rate_per_s, options_.burst) {}

DashboardServer::~DashboardServer() { stop(); }

Status DashboardServer::start() {
  HttpServerOptions ho;
  ho.host = options_.host;
  ho.port = options_.port;
  ho.threads = std::max(1, options_.threads);
  ho.max_body_bytes = 64 * 1024;  // GET only: nothing to upload
  ho.max_connections = 512;
  ho.request_read_timeout = std::chrono::milliseconds(10'000);
  http_ = std::make_unique<HttpServer>(ho, [this](HttpRequest req,
                                                  std::shared_ptr<ResponseStream> out) {
    Reply r = respond(req);
    out->send(r.status, r.content_type, std::move(r.body), std::move(r.headers));
  });
  return http_->start();
}

void DashboardServer::stop() {
  if (http_) http_->stop();
}

uint16_t DashboardServer::port() const { return http_ ? http_->port() : 0; }

Reply DashboardServer::respond(const HttpRequest& req) {
  Reply r;
  double retry_s = 1;
  if (req.method != "GET") {
    r = error_reply(405, "method_not_allowed", "the dashboard is read-only: GET only");
    r.headers.emplace_back("Allow", "GET");
  } else if (!limiter_.allow(req.remote_address.empty() ? "?" : req.remote_address, wall_ms(),
                             &retry_s)) {
    r = error_reply(429, "rate_limited", "too many requests from this address; slow down");
    r.headers.emplace_back("Retry-After", std::to_string(std::max(1, (int)std::ceil(retry_s))));
  } else {
    r = route(req);
  }
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (r.status == 200) {
    std::string etag = "\"" + sha256_hex(r.body).substr(0, 32) + "\"";
    if (req.header("If-None-Match") == etag) {
      r.status = 304;
      r.body.clear();
    }
    r.headers.emplace_back("ETag", etag);
  }
  {
    std::lock_guard lock(counters_mu_);
    ++responses_by_status_[r.status];
  }
  return r;
}

Reply DashboardServer::route(const HttpRequest& req) {
  const std::string& target = req.target;
  const std::string path = target.substr(0, target.find('?'));
  if (starts_with(path, "/api/") || path == "/metrics") {
    Reply r = api_.handle(target);
    if (path == "/metrics" && r.status == 200) r.body += server_metrics();
    r.headers.emplace_back("Cache-Control", "no-cache");
    if (path.size() > 12 && path.substr(path.size() - 12) == "/report.html")
      r.headers.emplace_back("Content-Security-Policy", std::string(kReportPolicy));
    return r;
  }
  const WebAsset* a = find_web_asset(path);
  if (a == nullptr) return error_reply(404, "not_found", "no such page or file");
  Reply r;
  r.content_type = std::string(a->content_type);
  r.body = std::string(a->body);
  r.headers.emplace_back("Cache-Control", "public, max-age=300");
  r.headers.emplace_back("Content-Security-Policy", std::string(kUiPolicy));
  return r;
}

std::string DashboardServer::server_metrics() const {
  std::string out =
      "# HELP cacheon_dashboard_responses_total Dashboard responses by HTTP status.\n"
      "# TYPE cacheon_dashboard_responses_total counter\n";
  std::lock_guard lock(counters_mu_);
  for (const auto& [status, n] : responses_by_status_)
    out += metric_line("cacheon_dashboard_responses_total", "code", std::to_string(status),
                       static_cast<double>(n));
  return out;
}

}  // namespace cacheon::dashboard

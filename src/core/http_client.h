// The HTTP/1.1 client (Boost.Beast parser over a raw Asio socket).
//
// Every body byte is handed to the caller together with the monotonic time at which the socket
// read that carried it completed, taken before any parsing: the harness measures at the socket.
// Bounded: header bytes, body bytes, and timeouts on connect, first byte, each read and the whole
// request. Keep-alive: an HttpConnection serves requests one after another on one socket.
//
// Not in scope: TLS (http:// only), HTTP/2, redirects, proxies.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/status.h"

namespace cacheon {

struct Url {
  std::string host;
  uint16_t port = 80;
  std::string path = "/";  // base path, "/" if none
  // Parses "http://host[:port][/path]". Error code "bad_url".
  static Result<Url> parse(std::string_view text);
  std::string str() const;           // "http://host:port/path"
  std::string join(std::string_view path) const;  // base path + path, no double slash
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpClientRequest {
  std::string method = "GET";
  std::string target = "/";  // full path + query
  HttpHeaders headers;        // Host, Content-Length and Connection are added for you
  std::string body;
  std::string content_type = "application/json";
};

struct HttpTimeouts {
  std::chrono::milliseconds connect{5'000};
  std::chrono::milliseconds first_byte{120'000};  // request sent -> first response byte
  std::chrono::milliseconds read_idle{60'000};    // between any two reads after the first byte
  std::chrono::milliseconds total{900'000};       // whole request
};

struct HttpLimits {
  size_t max_header_bytes = 64 * 1024;
  size_t max_body_bytes = 256 * 1024 * 1024;  // decoded body, whole response
};

// Error codes reported through on_done / Result: connect_failed, timeout_connect,
// timeout_first_byte, timeout_read, timeout_total, http_malformed, header_too_large,
// body_too_large, disconnected (peer closed before the response ended), aborted (caller).
struct HttpStreamCallbacks {
  std::function<void(int64_t sent_ns)> on_sent;              // request handed to the kernel
  std::function<void(int64_t first_byte_ns)> on_first_byte;  // first response byte arrived
  std::function<void(int status, const HttpHeaders& headers)> on_headers;
  // Decoded body bytes (chunked framing removed) and the arrival time of the read that carried
  // them. Return false to abort the request (on_done then gets code "aborted").
  std::function<bool(std::string_view data, int64_t arrival_ns)> on_body;
  std::function<void(Status status, int64_t end_ns)> on_done;  // always called exactly once
};

// One keep-alive connection; all callbacks run on the io_context's thread. Requests must not
// overlap: start the next one from on_done or later. Reconnects transparently when the peer
// closed an idle keep-alive socket before any byte of the new response arrived.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  static std::shared_ptr<HttpConnection> create(boost::asio::io_context& io, Url endpoint,
                                                HttpLimits limits = {});
  virtual ~HttpConnection() = default;
  virtual void request(HttpClientRequest request, HttpTimeouts timeouts,
                       HttpStreamCallbacks callbacks) = 0;
  // Open the socket ahead of the first request (so connecting stays out of measured time).
  // `done` runs on the io thread; a failed pre-connect leaves the next request to try again.
  virtual void preconnect(HttpTimeouts timeouts, std::function<void(Status)> done) = 0;
  // Abort the request in flight (if any) and close the socket.
  virtual void cancel() = 0;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  std::string header(std::string_view name) const;  // case-insensitive; "" if absent
};

// Blocking convenience for small control requests (/health, /tokenize, /v1/models).
Result<HttpResponse> http_fetch(const Url& base, HttpClientRequest request,
                                HttpTimeouts timeouts = {}, HttpLimits limits = {});

}  // namespace cacheon

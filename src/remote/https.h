// Blocking HTTPS over Boost.Beast with bounded waits, for the worker protocol's two sides. Each
// connection gets its own io_context, driven by the calling thread only while an operation is in
// flight; the stream's expiry (beast::tcp_stream) bounds every connect, handshake, read and write.
//
// Not in scope: keep-alive, HTTP/2, proxies, redirects (one request per connection).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/status.h"

namespace cacheon::remote {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// Starts an async operation and runs `io` until its handler ran. Timeouts come from the stream's
// expiry, set by the caller before each operation.
template <class Start>
boost::system::error_code await(boost::asio::io_context& io, Start&& start) {
  bool done = false;
  boost::system::error_code result;
  start([&](boost::system::error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  io.restart();
  while (!done && io.run_one() > 0) {
  }
  if (!done) result = boost::asio::error::operation_aborted;
  return result;
}

// "https://HOST:PORT" (a path, if any, must be "/" or empty). Error code "bad_url".
struct WorkerUrl {
  std::string host;
  uint16_t port = 443;
  static Result<WorkerUrl> parse(std::string_view text);
  std::string str() const;
};

struct HttpsTimeouts {
  std::chrono::milliseconds connect{5'000};     // TCP connect, DNS included
  std::chrono::milliseconds handshake{10'000};  // TLS handshake
  std::chrono::milliseconds read_idle{60'000};  // silence allowed between two reads
  std::chrono::milliseconds total{600'000};     // the whole exchange
};

struct HttpsRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpsHandlers {
  std::function<Status(int status)> on_status;             // once, before any body byte
  std::function<Status(std::string_view data)> on_body;    // decoded body bytes, in order
};

// One request on a fresh connection, the response body streamed to the handlers (chunked
// framing removed). A handler's error ends the exchange and is returned as is.
// Error codes: connect_failed, tls_failed (handshake, certificate or name check), timeout,
// disconnected (the peer went away mid-response), http_malformed, response_too_large.
Status https_exchange(boost::asio::ssl::context& tls, const WorkerUrl& url,
                      const HttpsRequest& request, const HttpsTimeouts& timeouts,
                      size_t max_body, const HttpsHandlers& handlers);

// The same, collecting a small body (<= max_body). Returns (status, body).
Result<std::pair<int, std::string>> https_fetch(boost::asio::ssl::context& tls,
                                                const WorkerUrl& url, const HttpsRequest& request,
                                                const HttpsTimeouts& timeouts,
                                                size_t max_body = 64 * 1024);

}  // namespace cacheon::remote

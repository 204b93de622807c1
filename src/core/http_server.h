// One async HTTP/1.1 server (Boost.Beast) for the engine, the test instrument and the dashboard.
// One event loop per thread, no thread per connection; keep-alive; bounded header and body
// sizes; a read timeout per request and an idle timeout between keep-alive requests.
//
// Not in scope: TLS, HTTP/2, routing by pattern (callers dispatch on method + target).
#pragma once
#include <cstdint>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "core/status.h"

namespace cacheon {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, e.g. "/v1/chat/completions"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;  // the peer's IP address ("" when unknown)
  std::string header(std::string_view name) const;  // case-insensitive; "" if absent
};

// The response side of one request. Methods may be called from any thread: each call is posted
// to the connection's strand and writes go out in call order. After the connection closes
// (peer left or error) writes are dropped and `closed()` turns true.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;

  // A complete response with Content-Length.
  virtual void send(int status, std::string content_type, std::string body,
                    std::vector<std::pair<std::string, std::string>> headers = {}) = 0;

  // A chunked (streaming) response: start once, then any number of chunks, then end.
  virtual void start_chunked(int status, std::string content_type,
                             std::vector<std::pair<std::string, std::string>> headers = {}) = 0;
  // `on_written(ok)` runs on the connection's executor once the bytes are handed to the kernel
  // (ok=false if the connection failed): use it for backpressure.
  virtual void write_chunk(std::string data, std::function<void(bool ok)> on_written = {}) = 0;
  virtual void end_chunked() = 0;

  // Red-team fixtures only: raw bytes straight onto the socket (no framing).
  virtual void write_raw(std::string bytes, std::function<void(bool ok)> on_written = {}) = 0;

  // Close the connection now (abortive for the peer if a response is in flight).
  virtual void close() = 0;

  virtual bool closed() const = 0;
  // The connection's strand: post timers and continuations here to stay on its thread.
  virtual boost::asio::any_io_executor executor() = 0;
};

using HttpHandler = std::function<void(HttpRequest, std::shared_ptr<ResponseStream>)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port (see HttpServer::port())
  int threads = 1;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 8 * 1024 * 1024;
  std::chrono::milliseconds request_read_timeout{30'000};  // whole request (headers + body)
  std::chrono::milliseconds idle_timeout{75'000};          // between keep-alive requests
  int max_connections = 4096;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // stops and joins
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts `threads` event-loop threads. Fails with code "bind_failed".
  Status start();
  // Stops accepting, closes connections, joins threads. Idempotent.
  void stop();
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cacheon

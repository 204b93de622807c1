// A small blocking HTTP/1.1 client over a unix-domain socket: the transport of ContainerRuntime.
//
// One connection per request (Connection: close), a deadline for the whole request, bounded
// header and body bytes, chunked decoding by Beast. The streaming form hands body pieces to a
// callback as they arrive and can be cancelled from another thread (UnixHttpCancel), which is
// how LogFollower::stop() ends a follow on a silent container.
//
// Errors use runtime_code (runtime.h): kUnreachable (connect), kTimeout (deadline),
// kBadResponse (framing, caps, peer closed mid-response). HTTP error statuses are not errors
// here: the caller maps them.
//
// Not in scope: TCP, TLS, keep-alive, redirects.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cacheon::runner {

struct UnixHttpRequest {
  std::string method = "GET";
  std::string target = "/";  // path + query, already encoded
  std::string body;          // sent as application/json when non-empty or for POST
};

struct UnixHttpOptions {
  std::string socket_path;  // a filesystem path ("unix://" already stripped)
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{60'000};  // the whole request, connect included
  size_t max_header_bytes = 64 * 1024;
  size_t max_body_bytes = 16 * 1024 * 1024;  // decoded body bytes; streamed ones count too
};

struct UnixHttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Cancels a request in flight from any thread; cancelling before the request starts makes it
// end at once. A cancelled streaming request ends as "stopped", not as an error.
class UnixHttpCancel {
 public:
  void cancel();
  bool cancelled();

 private:
  friend class UnixHttpExchange;
  // The running request installs a hook that closes its socket on its own thread.
  bool install(std::function<void()> hook);  // false when already cancelled
  void uninstall();

  std::mutex mu_;
  bool cancelled_ = false;
  std::function<void()> hook_;
};

struct UnixHttpStreamResult {
  int status = 0;
  std::string content_type;
  // For status >= 400 the body is collected here (first 64 KiB) instead of streamed.
  std::string error_body;
  bool stopped = false;  // on_body returned false, or the request was cancelled
};

// Streams the response body of a status < 400 to on_body (return false to stop early).
// on_headers (optional) sees the status and content type before any body byte.
Result<UnixHttpStreamResult> unix_http_stream(
    const UnixHttpOptions& options, const UnixHttpRequest& request,
    const std::function<bool(std::string_view)>& on_body,
    const std::function<void(int status, std::string_view content_type)>& on_headers = {},
    UnixHttpCancel* cancel = nullptr);

// The whole response in memory (bounded by max_body_bytes).
Result<UnixHttpResponse> unix_http_fetch(const UnixHttpOptions& options,
                                         const UnixHttpRequest& request);

// "unix:///path" or "/path" -> "/path"; error kUnreachable for anything else.
Result<std::string> unix_socket_path(std::string_view spec);

}  // namespace cacheon::runner

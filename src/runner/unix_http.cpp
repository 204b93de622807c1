// HTTP/1.1 over a unix socket: a private io_context per request, run on the caller's thread.
// Raw reads feed a Beast basic_parser subclass so body bytes go straight to the caller.
#include "runner/unix_http.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <fmt/format.h>

#include "runner/runtime.h"

namespace cacheon::runner {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local_socket = asio::local::stream_protocol::socket;
using beast::error_code;

namespace {
constexpr size_t kErrorBodyCap = 64 * 1024;
constexpr size_t kReadChunk = 64 * 1024;
}  // namespace

// ---------------------------------------------------------------------------------------------
// Cancellation

void UnixHttpCancel::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (hook_) hook_();
}

bool UnixHttpCancel::cancelled() {
  std::lock_guard lock(mu_);
  return cancelled_;
}

bool UnixHttpCancel::install(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  if (cancelled_) return false;
  hook_ = std::move(hook);
  return true;
}

void UnixHttpCancel::uninstall() {
  std::lock_guard lock(mu_);
  hook_ = nullptr;
}

// ---------------------------------------------------------------------------------------------
// One request

class UnixHttpExchange;

class BodyParser final : public http::basic_parser<false> {
 public:
  explicit BodyParser(UnixHttpExchange* x) : x_(x) {}

 private:
  void on_request_impl(http::verb, std::string_view, std::string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, std::string_view, int, error_code&) override { status_ = code; }
  void on_field_impl(http::field f, std::string_view, std::string_view value,
                     error_code&) override {
    if (f == http::field::content_type) content_type_ = std::string(value);
  }
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  size_t on_body_impl(std::string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, std::string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, std::string_view body, error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  friend class UnixHttpExchange;
  UnixHttpExchange* x_;
  int status_ = 0;
  std::string content_type_;
};

class UnixHttpExchange {
 public:
  UnixHttpExchange(const UnixHttpOptions& o, const UnixHttpRequest& r,
                   const std::function<bool(std::string_view)>& on_body,
                   const std::function<void(int, std::string_view)>& on_headers)
      : opt_(o), req_(r), on_body_(on_body), on_headers_(on_headers), sock_(io_),
        deadline_(io_), connect_timer_(io_), parser_(this) {
    parser_.eager(true);
    parser_.header_limit(
        static_cast<std::uint32_t>(std::min<size_t>(o.max_header_bytes, UINT32_MAX)));
    parser_.body_limit(static_cast<std::uint64_t>(o.max_body_bytes));
  }

  Result<UnixHttpStreamResult> run(UnixHttpCancel* cancel) {
    if (cancel && !cancel->install([this] { asio::post(io_, [this] { stop_by_caller(); }); })) {
      result_.stopped = true;
      return result_;
    }
    deadline_.expires_after(opt_.timeout);
    deadline_.async_wait([this](error_code ec) {
      if (!ec) fail(runtime_code::kTimeout, fmt::format("no complete response within {} ms",
                                                        opt_.timeout.count()));
    });
    connect_timer_.expires_after(std::min(opt_.connect_timeout, opt_.timeout));
    connect_timer_.async_wait([this](error_code ec) {
      if (!ec && !connected_)
        fail(runtime_code::kTimeout, "connecting to " + opt_.socket_path + " took too long");
    });
    sock_.async_connect(asio::local::stream_protocol::endpoint(opt_.socket_path),
                        [this](error_code ec) { on_connected(ec); });
    io_.run();
    if (cancel) cancel->uninstall();
    if (error_) return *error_;
    return std::move(result_);
  }

  // Parser callbacks.
  void on_header() {
    result_.status = parser_.status_;
    result_.content_type = parser_.content_type_;
    if (on_headers_) on_headers_(result_.status, result_.content_type);
  }
  bool on_body(std::string_view data) {
    if (result_.status >= 400) {
      size_t room = kErrorBodyCap - std::min(kErrorBodyCap, result_.error_body.size());
      result_.error_body.append(data.substr(0, room));
      return true;
    }
    if (on_body_ && !on_body_(data)) {
      stop_by_caller();
      return false;
    }
    return true;
  }

 private:
  void on_connected(error_code ec) {
    if (done_) return;
    connected_ = true;
    connect_timer_.cancel();
    if (ec)
      return fail(runtime_code::kUnreachable,
                  fmt::format("cannot connect to {}: {}", opt_.socket_path, ec.message()));
    out_ = fmt::format("{} {} HTTP/1.1\r\nHost: docker\r\nAccept: */*\r\n", req_.method,
                       req_.target);
    if (!req_.body.empty() || req_.method == "POST" || req_.method == "PUT")
      out_ += fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n",
                          req_.body.size());
    out_ += "Connection: close\r\n\r\n";
    out_ += req_.body;
    asio::async_write(sock_, asio::buffer(out_), [this](error_code wec, size_t) {
      if (done_) return;
      // A daemon may answer (e.g. 404) and close before reading the whole body: read anyway.
      (void)wec;
      read();
    });
  }

  void read() {
    sock_.async_read_some(buf_.prepare(kReadChunk), [this](error_code ec, size_t n) {
      if (done_) return;
      if (ec) return on_read_error(ec);
      buf_.commit(n);
      got_bytes_ = true;
      while (buf_.size() > 0 && !done_) {
        error_code pec;
        size_t used = parser_.put(buf_.data(), pec);
        buf_.consume(used);
        if (done_) return;
        if (pec == http::error::need_more) break;
        if (pec) return parse_error(pec);
        if (parser_.is_done()) return finish();
        if (used == 0) break;
      }
      if (buf_.size() > opt_.max_header_bytes + kReadChunk)
        return fail(runtime_code::kBadResponse, "unparseable response data keeps growing");
      read();
    });
  }

  void on_read_error(error_code ec) {
    if (ec == asio::error::eof && parser_.is_header_done() && !parser_.is_done()) {
      error_code pec;
      parser_.put_eof(pec);  // bodies delimited by the close end here
      if (!pec && parser_.is_done()) return finish();
    }
    if (ec == asio::error::eof || ec == asio::error::connection_reset)
      return fail(runtime_code::kBadResponse,
                  got_bytes_ ? "the daemon closed the connection mid-response"
                             : "the daemon closed the connection without a response");
    fail(runtime_code::kBadResponse, "reading the response: " + ec.message());
  }

  void parse_error(error_code ec) {
    if (ec == http::error::header_limit)
      return fail(runtime_code::kBadResponse,
                  fmt::format("response headers over {} bytes", opt_.max_header_bytes));
    if (ec == http::error::body_limit)
      return fail(runtime_code::kBadResponse,
                  fmt::format("response body over {} bytes", opt_.max_body_bytes));
    fail(runtime_code::kBadResponse, "malformed HTTP response: " + ec.message());
  }

  void stop_by_caller() {
    if (done_) return;
    result_.stopped = true;
    finish();
  }

  void finish() { end(std::nullopt); }
  void fail(std::string_view code, std::string message) {
    end(Error{std::string(code), std::move(message)});
  }
  void end(std::optional<Error> error) {
    if (done_) return;
    done_ = true;
    error_ = std::move(error);
    error_code ignored;
    deadline_.cancel();
    connect_timer_.cancel();
    sock_.shutdown(local_socket::shutdown_both, ignored);
    sock_.close(ignored);
  }

  const UnixHttpOptions& opt_;
  const UnixHttpRequest& req_;
  const std::function<bool(std::string_view)>& on_body_;
  const std::function<void(int, std::string_view)>& on_headers_;
  asio::io_context io_;
  local_socket sock_;
  asio::steady_timer deadline_;
  asio::steady_timer connect_timer_;
  BodyParser parser_;
  beast::flat_buffer buf_;
  std::string out_;
  UnixHttpStreamResult result_;
  std::optional<Error> error_;
  bool done_ = false;
  bool connected_ = false;
  bool got_bytes_ = false;
};

void BodyParser::on_header_impl(error_code&) { x_->on_header(); }

size_t BodyParser::on_body_impl(std::string_view body, error_code& ec) {
  if (!x_->on_body(body)) ec = asio::error::operation_aborted;
  return body.size();
}

// ---------------------------------------------------------------------------------------------

Result<UnixHttpStreamResult> unix_http_stream(
    const UnixHttpOptions& options, const UnixHttpRequest& request,
    const std::function<bool(std::string_view)>& on_body,
    const std::function<void(int, std::string_view)>& on_headers, UnixHttpCancel* cancel) {
  UnixHttpExchange x(options, request, on_body, on_headers);
  return x.run(cancel);
}

Result<UnixHttpResponse> unix_http_fetch(const UnixHttpOptions& options,
                                         const UnixHttpRequest& request) {
  UnixHttpResponse resp;
  std::function<bool(std::string_view)> sink = [&](std::string_view d) {
    resp.body.append(d);
    return true;
  };
  auto r = unix_http_stream(options, request, sink);
  if (!r.ok()) return r.error();
  resp.status = r->status;
  resp.content_type = std::move(r->content_type);
  if (resp.status >= 400) resp.body = std::move(r->error_body);
  return resp;
}

Result<std::string> unix_socket_path(std::string_view spec) {
  constexpr std::string_view kScheme = "unix://";
  std::string_view path = spec;
  if (path.substr(0, kScheme.size()) == kScheme) path.remove_prefix(kScheme.size());
  // sockaddr_un holds 108 bytes including the terminator.
  if (path.empty() || path.front() != '/' || path.size() > 107 ||
      path.find('\0') != std::string_view::npos)
    return Error{std::string(runtime_code::kUnreachable),
                 fmt::format("runtime socket '{}' is not unix:///path or /path (max 107 bytes)",
                             spec)};
  return std::string(path);
}

}  // namespace cacheon::runner

// HTTP/1.1 client: raw Asio socket reads, timestamped on completion, then fed to a Beast parser
// subclass that hands decoded body bytes straight to the caller (no body buffering here).
#include "core/http_client.h"

#include <charconv>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <fmt/format.h>

#include "core/clock.h"
#include "core/strings.h"

namespace cacheon {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using beast::error_code;

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (ascii_iequals(k, name)) return v;
  return {};
}

// ---------------------------------------------------------------------------------------------
// Url

Result<Url> Url::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error{"bad_url", fmt::format("invalid server URL '{}': {}", text, why)};
  };
  constexpr std::string_view kScheme = "http://";
  if (text.substr(0, kScheme.size()) != kScheme) {
    if (text.substr(0, 8) == "https://") return bad("https is not supported (use http://)");
    return bad("expected http://host[:port][/path]");
  }
  std::string_view rest = text.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  Url url;
  url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (hostport.empty()) return bad("missing host");
  size_t colon = hostport.rfind(':');
  std::string_view host = hostport;
  if (hostport.front() == '[') {  // [v6]:port
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    host = hostport.substr(1, close - 1);
    if (hostport.size() > close + 1 && hostport[close + 1] != ':')
      return bad("unexpected text after ']'");
    colon = hostport.size() > close + 1 ? close + 1 : std::string_view::npos;
  } else if (colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    if (host.find(':') != std::string_view::npos)
      return bad("an IPv6 address needs brackets (http://[addr]:port)");
  }
  if (colon != std::string_view::npos) {
    std::string_view p = hostport.substr(colon + 1);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || end != p.data() + p.size() || v == 0 || v > 65535)
      return bad("port must be 1..65535");
    url.port = static_cast<uint16_t>(v);
  }
  if (host.empty()) return bad("missing host");
  for (char c : host)
    if (c <= ' ' || c == '/' || c == '?' || c == '#' || c == '@' || c == '[' || c == ']')
      return bad("invalid character in host");
  url.host = std::string(host);
  return url;
}

std::string Url::str() const {
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}{}", v6 ? "[" : "", host, v6 ? "]" : "", port,
                     path == "/" ? "" : path);
}

std::string Url::join(std::string_view p) const {
  std::string base = path;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (p.empty() || p.front() != '/') base += '/';
  base += p;
  return base;
}

// ---------------------------------------------------------------------------------------------
// The connection

namespace {

class ConnectionImpl;

// Beast parser subclass: forwards the status line, fields and decoded body to the connection.
class StreamParser final : public http::basic_parser<false> {
 public:
  explicit StreamParser(ConnectionImpl* c) : c_(c) {}

 private:
  void on_request_impl(http::verb, std::string_view, std::string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, std::string_view, int, error_code& ec) override;
  void on_field_impl(http::field, std::string_view name, std::string_view value,
                     error_code&) override {
    headers_.emplace_back(std::string(name), std::string(value));
  }
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  size_t on_body_impl(std::string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, std::string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, std::string_view body, error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  friend class ConnectionImpl;
  ConnectionImpl* c_;
  int status_ = 0;
  HttpHeaders headers_;
};

class ConnectionImpl final : public HttpConnection {
 public:
  ConnectionImpl(asio::io_context& io, Url ep, HttpLimits limits)
      : io_(io), ep_(std::move(ep)), limits_(limits), resolver_(io), sock_(io), phase_timer_(io),
        total_timer_(io) {}

  void request(HttpClientRequest req, HttpTimeouts t, HttpStreamCallbacks cb) override {
    CACHEON_ASSERT(!active_);
    active_ = true;
    ++gen_;
    req_ = std::move(req);
    timeouts_ = t;
    cb_ = std::move(cb);
    retried_ = false;
    total_timer_.expires_after(t.total);
    total_timer_.async_wait([self = self(), g = gen_](error_code ec) {
      if (!ec && self->gen_ == g && self->active_)
        self->fail("timeout_total", "no complete response within the request time limit");
    });
    begin();
  }

  void preconnect(HttpTimeouts t, std::function<void(Status)> done) override {
    CACHEON_ASSERT(!active_);
    if (sock_.is_open()) {
      if (done) done(Status{});
      return;
    }
    HttpStreamCallbacks cb;
    cb.on_done = [done = std::move(done)](Status st, int64_t) {
      if (done) done(std::move(st));
    };
    active_ = true;
    ++gen_;
    timeouts_ = t;
    cb_ = std::move(cb);
    preconnect_only_ = true;
    connect();
  }

  void cancel() override {
    if (active_) fail("aborted", "request cancelled");
    close_socket();
  }

  // ---- parser callbacks ----
  void on_status(int code) { (void)code; }
  void on_header(StreamParser& p) {
    if (cb_.on_headers) cb_.on_headers(p.status_, p.headers_);
  }
  bool on_body(std::string_view data) {
    if (!cb_.on_body) return true;
    return cb_.on_body(data, arrival_ns_);
  }

 private:
  std::shared_ptr<ConnectionImpl> self() {
    return std::static_pointer_cast<ConnectionImpl>(shared_from_this());
  }

  // A fresh parser for a new response (or a retry), with the bounds applied.
  void reset_parser() {
    parser_.emplace(this);
    parser_->eager(true);
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(limits_.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(limits_.max_body_bytes);
    buf_.clear();
  }

  void begin() {
    reset_parser();
    got_bytes_ = false;
    aborted_by_caller_ = false;
    if (sock_.is_open()) {
      reused_ = true;
      write_request();
    } else {
      reused_ = false;
      connect();
    }
  }

  void arm_phase(std::chrono::milliseconds d, const char* code, const char* message) {
    phase_timer_.expires_after(d);
    phase_timer_.async_wait([self = self(), g = gen_, code, message](error_code ec) {
      if (!ec && self->gen_ == g && self->active_) self->fail(code, message);
    });
  }

  void connect() {
    arm_phase(timeouts_.connect, "timeout_connect", "connecting took too long");
    error_code ip_ec;
    auto ip = asio::ip::make_address(ep_.host, ip_ec);
    if (!ip_ec) {  // a literal address: no resolver round trip (it runs on its own thread)
      sock_.async_connect(tcp::endpoint(ip, ep_.port), [self = self(), g = gen_](error_code ec) {
        if (self->gen_ != g || !self->active_) return;
        self->on_connected(ec);
      });
      return;
    }
    resolver_.async_resolve(
        ep_.host, std::to_string(ep_.port),
        [self = self(), g = gen_](error_code ec, tcp::resolver::results_type results) {
          if (self->gen_ != g || !self->active_) return;
          if (ec) return self->fail("connect_failed", "cannot resolve " + self->ep_.host + ": " +
                                                          ec.message());
          asio::async_connect(self->sock_, results,
                              [self, g](error_code ec2, const tcp::endpoint&) {
                                if (self->gen_ != g || !self->active_) return;
                                self->on_connected(ec2);
                              });
        });
  }

  void on_connected(error_code ec) {
    if (ec) {
      error_code ignored;
      sock_.close(ignored);
      return fail("connect_failed", "cannot connect to " + ep_.str() + ": " + ec.message());
    }
    error_code ignored;
    sock_.set_option(tcp::no_delay(true), ignored);
    if (preconnect_only_) {
      preconnect_only_ = false;
      return finish(Status{});
    }
    write_request();
  }

  void write_request() {
    out_.clear();
    out_ = fmt::format("{} {} HTTP/1.1\r\nHost: {}:{}\r\nAccept: */*\r\n", req_.method,
                       req_.target, ep_.host, ep_.port);
    if (!req_.body.empty() || req_.method == "POST" || req_.method == "PUT")
      out_ += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", req_.content_type,
                          req_.body.size());
    for (const auto& [k, v] : req_.headers) out_ += fmt::format("{}: {}\r\n", k, v);
    out_ += "Connection: keep-alive\r\n\r\n";
    out_ += req_.body;
    // The request counts as sent when we hand it over; the write of a small request completes
    // in the same call on an idle socket.
    sent_ns_ = mono_ns();
    asio::async_write(sock_, asio::buffer(out_), [self = self(), g = gen_](error_code ec, size_t) {
      if (self->gen_ != g || !self->active_) return;
      if (ec) return self->on_transport_error(ec);
      if (self->cb_.on_sent) self->cb_.on_sent(self->sent_ns_);
      self->arm_phase(self->timeouts_.first_byte, "timeout_first_byte",
                      "no response byte within the first-byte time limit");
      self->read();
    });
  }

  void read() {
    auto space = buf_.prepare(64 * 1024);
    sock_.async_read_some(space, [self = self(), g = gen_](error_code ec, size_t n) {
      int64_t now = mono_ns();  // first: the arrival time of these bytes
      if (self->gen_ != g || !self->active_) return;
      if (ec) return self->on_transport_error(ec);
      self->on_bytes(n, now);
    });
  }

  void on_bytes(size_t n, int64_t now) {
    buf_.commit(n);
    arrival_ns_ = now;
    if (!got_bytes_) {
      got_bytes_ = true;
      if (cb_.on_first_byte) cb_.on_first_byte(now);
      if (!active_) return;
    }
    arm_phase(timeouts_.read_idle, "timeout_read", "the server went silent mid-response");
    while (buf_.size() > 0 && active_) {
      error_code ec;
      size_t used = parser_->put(buf_.data(), ec);
      buf_.consume(used);
      if (!active_) return;  // a callback finished the request (e.g. cancel)
      if (ec == http::error::need_more) break;
      if (ec) return parse_error(ec);
      if (parser_->is_done()) return complete();
      if (used == 0) break;
    }
    if (buf_.size() > limits_.max_header_bytes + 64 * 1024)  // unparsed backlog cannot grow
      return fail("http_malformed", "unparseable response data keeps growing");
    read();
  }

  void parse_error(error_code ec) {
    if (aborted_by_caller_) return fail("aborted", "the caller stopped reading the response");
    if (ec == http::error::header_limit)
      return fail("header_too_large", "response headers exceed the limit");
    if (ec == http::error::body_limit)
      return fail("body_too_large", "response body exceeds the limit");
    fail("http_malformed", "malformed HTTP response: " + ec.message());
  }

  void on_transport_error(error_code ec) {
    bool eof = ec == asio::error::eof || ec == asio::error::connection_reset ||
               ec == asio::error::broken_pipe;
    if (eof && !got_bytes_ && reused_ && !retried_) {
      // The server closed an idle keep-alive socket: one transparent reconnect.
      retried_ = true;
      close_socket();
      reused_ = false;
      reset_parser();
      return connect();
    }
    if (ec == asio::error::eof && parser_->is_header_done() && !parser_->is_done()) {
      error_code pec;
      parser_->put_eof(pec);  // bodies delimited by close end here
      if (!pec && parser_->is_done()) return complete();
    }
    if (ec == asio::error::eof || eof)
      return fail("disconnected", got_bytes_ ? "the server closed the connection mid-response"
                                             : "the server closed the connection without a "
                                               "response");
    fail("disconnected", "connection error: " + ec.message());
  }

  void complete() {
    bool keep = parser_->keep_alive();
    if (!keep) close_socket();
    finish(Status{});
  }

  void fail(const char* code, std::string message) {
    preconnect_only_ = false;
    close_socket();
    finish(Error{code, std::move(message)});
  }

  void finish(Status st) {
    if (!active_) return;
    active_ = false;
    ++gen_;  // stale handlers (timers, reads) become no-ops
    error_code ignored;
    phase_timer_.cancel();
    total_timer_.cancel();
    auto done = std::move(cb_.on_done);
    cb_ = {};
    if (done) done(std::move(st), mono_ns());
  }

  void close_socket() {
    error_code ignored;
    if (sock_.is_open()) {
      sock_.shutdown(tcp::socket::shutdown_both, ignored);
      sock_.close(ignored);
    }
  }

 public:
  bool aborted_by_caller_ = false;

 private:
  asio::io_context& io_;
  Url ep_;
  HttpLimits limits_;
  tcp::resolver resolver_;
  tcp::socket sock_;
  asio::steady_timer phase_timer_;
  asio::steady_timer total_timer_;
  std::optional<StreamParser> parser_;
  beast::flat_buffer buf_;
  HttpClientRequest req_;
  HttpTimeouts timeouts_;
  HttpStreamCallbacks cb_;
  std::string out_;
  int64_t sent_ns_ = -1;
  int64_t arrival_ns_ = -1;
  uint64_t gen_ = 0;
  bool active_ = false;
  bool got_bytes_ = false;
  bool reused_ = false;
  bool retried_ = false;
  bool preconnect_only_ = false;
};

void StreamParser::on_response_impl(int code, std::string_view, int, error_code&) {
  status_ = code;
  c_->on_status(code);
}

void StreamParser::on_header_impl(error_code&) { c_->on_header(*this); }

size_t StreamParser::on_body_impl(std::string_view body, error_code& ec) {
  if (!c_->on_body(body)) {
    c_->aborted_by_caller_ = true;
    ec = asio::error::operation_aborted;
  }
  return body.size();
}

}  // namespace

std::shared_ptr<HttpConnection> HttpConnection::create(asio::io_context& io, Url endpoint,
                                                       HttpLimits limits) {
  return std::make_shared<ConnectionImpl>(io, std::move(endpoint), limits);
}

Result<HttpResponse> http_fetch(const Url& base, HttpClientRequest request,
                                HttpTimeouts timeouts, HttpLimits limits) {
  asio::io_context io;
  auto conn = HttpConnection::create(io, base, limits);
  HttpResponse resp;
  Status result = Error{"harness_error", "request did not run"};
  HttpStreamCallbacks cb;
  cb.on_headers = [&](int status, const HttpHeaders& h) {
    resp.status = status;
    resp.headers = h;
  };
  cb.on_body = [&](std::string_view data, int64_t) {
    resp.body.append(data);
    return true;
  };
  cb.on_done = [&](Status st, int64_t) { result = std::move(st); };
  conn->request(std::move(request), timeouts, std::move(cb));
  io.run();
  if (!result.ok()) return result.error();
  return resp;
}

}  // namespace cacheon

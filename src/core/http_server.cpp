// HTTP/1.1 server on Boost.Beast: Beast parses requests (bounded); responses are framed here so
// that streaming (chunked) writes go out exactly when the caller hands them over.
#include "core/http_server.h"

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "core/strings.h"

namespace cacheon {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (ascii_iequals(k, name)) return v;
  return {};
}

namespace {

const std::chrono::seconds kWriteTimeout{60};

std::string status_line(int status) {
  auto reason = http::obsolete_reason(static_cast<http::status>(status));
  return fmt::format("HTTP/1.1 {} {}\r\n", status, reason.empty() ? "Unknown" : reason);
}

std::string json_escape_min(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

class Session;

// One request's view of its connection: writes from a finished (stale) request are dropped.
class Exchange final : public ResponseStream {
 public:
  Exchange(std::shared_ptr<Session> s, uint64_t seq) : s_(std::move(s)), seq_(seq) {}
  void send(int status, std::string content_type, std::string body,
            std::vector<std::pair<std::string, std::string>> headers) override;
  void start_chunked(int status, std::string content_type,
                     std::vector<std::pair<std::string, std::string>> headers) override;
  void write_chunk(std::string data, std::function<void(bool)> on_written) override;
  void end_chunked() override;
  void write_raw(std::string bytes, std::function<void(bool)> on_written) override;
  void close() override;
  bool closed() const override;
  asio::any_io_executor executor() override;

 private:
  std::shared_ptr<Session> s_;
  uint64_t seq_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServerOptions& opt, const HttpHandler& handler,
          std::atomic<int>& live)
      : stream_(std::move(socket)), opt_(opt), handler_(handler), live_(live) {
    ++live_;
  }
  ~Session() { --live_; }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }

  asio::any_io_executor executor() { return stream_.get_executor(); }
  bool closed() const { return closed_.load(); }

  // ---- called on the strand, through Exchange ----
  bool current(uint64_t seq) const { return seq == seq_ && !closed_; }

  void send(uint64_t seq, int status, std::string content_type, std::string body,
            std::vector<std::pair<std::string, std::string>> headers) {
    if (!current(seq) || started_) return;
    started_ = true;
    std::string head = status_line(status);
    head += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", content_type, body.size());
    append_common(head, headers);
    head += body;
    enqueue(std::move(head), {});
    finish_response();
  }

  void start_chunked(uint64_t seq, int status, std::string content_type,
                     std::vector<std::pair<std::string, std::string>> headers) {
    if (!current(seq) || started_) return;
    started_ = true;
    chunked_ = true;
    std::string head = status_line(status);
    head += fmt::format("Content-Type: {}\r\nTransfer-Encoding: chunked\r\n", content_type);
    append_common(head, headers);
    enqueue(std::move(head), {});
  }

  void write_chunk(uint64_t seq, std::string data, std::function<void(bool)> done) {
    if (!current(seq) || !chunked_ || data.empty()) {
      if (done) done(current(seq) && chunked_);
      return;
    }
    std::string framed = fmt::format("{:x}\r\n", data.size());
    framed += data;
    framed += "\r\n";
    enqueue(std::move(framed), std::move(done));
  }

  void end_chunked(uint64_t seq) {
    if (!current(seq) || !chunked_) return;
    enqueue("0\r\n\r\n", {});
    finish_response();
  }

  void write_raw(uint64_t seq, std::string bytes, std::function<void(bool)> done) {
    if (!current(seq)) {
      if (done) done(false);
      return;
    }
    started_ = true;  // the fixture owns the framing now
    keep_alive_ = false;
    enqueue(std::move(bytes), std::move(done));
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    fail_queue();
  }

 private:
  void append_common(std::string& head,
                     const std::vector<std::pair<std::string, std::string>>& headers) {
    for (const auto& [k, v] : headers) head += fmt::format("{}: {}\r\n", k, v);
    head += keep_alive_ ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  }

  void read_request() {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opt_.max_header_bytes));
    parser_->body_limit(opt_.max_body_bytes);
    stream_.expires_after(requests_ == 0 ? opt_.request_read_timeout
                                         : opt_.idle_timeout + opt_.request_read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->on_request(ec);
                     });
  }

  void on_request(beast::error_code ec) {
    if (closed_) return;
    if (ec) {
      if (ec == http::error::header_limit) return reject(431, "request headers too large");
      if (ec == http::error::body_limit) return reject(413, "request body too large");
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == beast::error::timeout || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset)
        return close_now();
      return reject(400, "malformed HTTP request: " + ec.message());
    }
    stream_.expires_never();
    auto msg = parser_->release();
    ++requests_;
    ++seq_;
    started_ = false;
    chunked_ = false;
    response_done_ = false;
    keep_alive_ = msg.keep_alive();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& f : msg) req.headers.emplace_back(f.name_string(), f.value());
    req.body = std::move(msg.body());
    beast::error_code ep_ec;
    auto peer = stream_.socket().remote_endpoint(ep_ec);
    if (!ep_ec) req.remote_address = peer.address().to_string();
    auto out = std::make_shared<Exchange>(shared_from_this(), seq_);
    try {
      handler_(std::move(req), out);
    } catch (const std::exception& e) {
      // The handler's own failure is the server's fault: answer 500 rather than dropping.
      if (!started_) {
        send(seq_, 500, "application/json",
             fmt::format(R"({{"error":{{"message":"internal error: {}","type":"internal_error"}}}})",
                         json_escape_min(e.what())),
             {});
      } else {
        close_now();
      }
    }
  }

  void reject(int status, std::string message) {
    keep_alive_ = false;
    ++seq_;
    started_ = false;
    chunked_ = false;
    send(seq_, status, "application/json",
         fmt::format(R"({{"error":{{"message":"{}","type":"invalid_request_error"}}}})",
                     json_escape_min(message)),
         {});
  }

  void finish_response() {
    response_done_ = true;
    if (!writing_) after_response();
  }

  void after_response() {
    if (closed_) return;
    response_done_ = false;
    if (keep_alive_) {
      read_request();
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      // Let the peer read everything; close on its EOF or after a short grace period.
      stream_.expires_after(std::chrono::seconds(5));
      drain_ = std::make_shared<std::array<char, 512>>();
      drain();
    }
  }

  void drain() {
    stream_.async_read_some(asio::buffer(*drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->close_now();
                              self->drain();
                            });
  }

  void enqueue(std::string bytes, std::function<void(bool)> done) {
    queue_.push_back({std::move(bytes), std::move(done)});
    if (!writing_) write_next();
  }

  void write_next() {
    if (closed_) return fail_queue();
    if (queue_.empty()) {
      writing_ = false;
      if (response_done_) after_response();
      return;
    }
    writing_ = true;
    stream_.expires_after(kWriteTimeout);
    beast::net::async_write(stream_, asio::buffer(queue_.front().bytes),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->on_written(ec);
                            });
  }

  void on_written(beast::error_code ec) {
    stream_.expires_never();
    auto done = std::move(queue_.front().done);
    queue_.pop_front();
    if (ec) {
      if (done) done(false);
      writing_ = false;
      return close_now();
    }
    if (done) done(true);
    write_next();
  }

  void fail_queue() {
    while (!queue_.empty()) {
      auto done = std::move(queue_.front().done);
      queue_.pop_front();
      if (done) done(false);
    }
    writing_ = false;
  }

  struct Pending {
    std::string bytes;
    std::function<void(bool)> done;
  };

  beast::tcp_stream stream_;
  const HttpServerOptions& opt_;
  const HttpHandler& handler_;
  std::atomic<int>& live_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<Pending> queue_;
  std::shared_ptr<std::array<char, 512>> drain_;
  std::atomic<bool> closed_{false};
  bool writing_ = false;
  bool started_ = false;
  bool chunked_ = false;
  bool response_done_ = false;
  bool keep_alive_ = true;
  uint64_t seq_ = 0;
  uint64_t requests_ = 0;
};

// Exchange forwards to the session's strand; dispatch keeps call order from one thread.
void Exchange::send(int status, std::string content_type, std::string body,
                    std::vector<std::pair<std::string, std::string>> headers) {
  asio::dispatch(s_->executor(), [s = s_, seq = seq_, status, ct = std::move(content_type),
                                  b = std::move(body), h = std::move(headers)]() mutable {
    s->send(seq, status, std::move(ct), std::move(b), std::move(h));
  });
}
void Exchange::start_chunked(int status, std::string content_type,
                             std::vector<std::pair<std::string, std::string>> headers) {
  asio::dispatch(s_->executor(), [s = s_, seq = seq_, status, ct = std::move(content_type),
                                  h = std::move(headers)]() mutable {
    s->start_chunked(seq, status, std::move(ct), std::move(h));
  });
}
void Exchange::write_chunk(std::string data, std::function<void(bool)> on_written) {
  asio::dispatch(s_->executor(), [s = s_, seq = seq_, d = std::move(data),
                                  cb = std::move(on_written)]() mutable {
    s->write_chunk(seq, std::move(d), std::move(cb));
  });
}
void Exchange::end_chunked() {
  asio::dispatch(s_->executor(), [s = s_, seq = seq_] { s->end_chunked(seq); });
}
void Exchange::write_raw(std::string bytes, std::function<void(bool)> on_written) {
  asio::dispatch(s_->executor(), [s = s_, seq = seq_, b = std::move(bytes),
                                  cb = std::move(on_written)]() mutable {
    s->write_raw(seq, std::move(b), std::move(cb));
  });
}
void Exchange::close() {
  asio::dispatch(s_->executor(), [s = s_] { s->close_now(); });
}
bool Exchange::closed() const { return s_->closed(); }
asio::any_io_executor Exchange::executor() { return s_->executor(); }

}  // namespace

// Member order matters: sessions still queued in `io` are destroyed with it and touch `live`,
// `opt` and `handler`, so those are declared (constructed) first and destroyed last.
// ResponseStreams must not be used after the server is destroyed.
struct HttpServer::Impl {
  HttpServerOptions opt;
  HttpHandler handler;
  std::atomic<int> live{0};
  std::atomic<bool> running{false};
  uint16_t port = 0;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket s) {
      if (!running) return;
      if (!ec) {
        if (live.load() >= opt.max_connections) {
          beast::error_code ignored;
          s.close(ignored);  // over the bound: refuse rather than queue without limit
        } else {
          s.set_option(tcp::no_delay(true), ec);
          std::make_shared<Session>(std::move(s), opt, handler, live)->start();
        }
      }
      accept();
    });
  }
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  auto& im = *impl_;
  beast::error_code ec;
  auto addr = asio::ip::make_address(im.opt.host, ec);
  if (ec) return Error{"bind_failed", "bad listen address '" + im.opt.host + "': " + ec.message()};
  tcp::endpoint ep(addr, im.opt.port);
  im.acceptor.open(ep.protocol(), ec);
  if (!ec) im.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) im.acceptor.bind(ep, ec);
  if (!ec) im.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Error{"bind_failed", fmt::format("cannot listen on {}:{}: {}", im.opt.host,
                                            im.opt.port, ec.message())};
  im.port = im.acceptor.local_endpoint().port();
  im.running = true;
  im.accept();
  int n = std::max(1, im.opt.threads);
  for (int i = 0; i < n; ++i) im.threads.emplace_back([&im] { im.io.run(); });
  return {};
}

void HttpServer::stop() {
  auto& im = *impl_;
  if (!im.running.exchange(false)) return;
  im.io.stop();
  for (auto& t : im.threads) t.join();
  im.threads.clear();
  beast::error_code ec;
  im.acceptor.close(ec);
}

uint16_t HttpServer::port() const { return impl_->port; }

}  // namespace cacheon

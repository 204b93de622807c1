#include "remote/worker_server.h"

#include <atomic>
#include <fstream>
#include <future>
#include <list>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "remote/eval_session.h"
#include "remote/https.h"
#include "remote/protocol.h"
#include "remote/task_thread.h"
#include "remote/tls.h"

namespace cacheon::remote {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;

constexpr size_t kMaxReportBytes = 48 << 20;

// The worker's report file, or null (absent, too large, not JSON).
nlohmann::json read_report(const std::string& path) {
  if (path.empty()) return nullptr;
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f || f.tellg() > static_cast<std::streamoff>(kMaxReportBytes)) return nullptr;
  f.seekg(0);
  auto j = nlohmann::json::parse(f, nullptr, false);
  return j.is_object() ? j : nlohmann::json(nullptr);
}

store::EvalResult arena_failure(std::string_view code, std::string message) {
  store::EvalResult r;
  r.reason_code = std::string(code);
  r.blame = "arena";
  r.message = std::move(message);
  return r;
}

}  // namespace

struct WorkerServer::Impl {
  WorkerServerOptions opts;
  Token token;
  validator::EvalExecutor& executor;
  std::shared_ptr<net::ssl::context> tls;
  NonceCache nonces;

  net::io_context accept_io;
  tcp::acceptor acceptor{accept_io};
  std::thread accept_thread;
  std::atomic<bool> stopping{false};
  uint16_t bound_port = 0;

  struct Conn {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
    std::string peer;  // remote address: a few connections per peer (no one fills the slots)
  };
  std::mutex conns_mu;
  std::list<Conn> conns;

  mutable std::mutex mu;  // busy, current, stats
  bool busy = false;
  std::shared_ptr<EvalSession> current;
  WorkerStats stats;

  std::unique_ptr<TaskThread> eval_thread = std::make_unique<TaskThread>();

  Impl(WorkerServerOptions o, Token t, validator::EvalExecutor& e)
      : opts(std::move(o)), token(std::move(t)), executor(e) {}

  void log(const std::string& line) {
    if (opts.log) opts.log(line);
  }
  void count(int64_t WorkerStats::*field) {
    std::lock_guard lock(mu);
    ++(stats.*field);
  }

  void accept_next() {
    auto io = std::make_shared<net::io_context>();
    acceptor.async_accept(*io, [this, io](boost::system::error_code ec, tcp::socket sock) {
      if (stopping || ec == net::error::operation_aborted) return;
      if (ec) {  // a failed accept (EMFILE, a reset peer) must not end the accept loop
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return accept_next();
      }
      count(&WorkerStats::connections);
      std::lock_guard lock(conns_mu);
      for (auto it = conns.begin(); it != conns.end();) {  // reap finished connections
        if (*it->done) {
          it->thread.join();
          it = conns.erase(it);
        } else {
          ++it;
        }
      }
      boost::system::error_code peer_ec;
      const auto remote = sock.remote_endpoint(peer_ec);
      const std::string peer = peer_ec ? std::string() : remote.address().to_string();
      int from_peer = 0;
      for (const auto& c : conns) from_peer += c.peer == peer;
      if (static_cast<int>(conns.size()) >= opts.max_connections ||
          from_peer >= opts.max_connections_per_peer) {
        boost::system::error_code ignored;
        sock.close(ignored);
      } else {
        auto done = std::make_shared<std::atomic<bool>>(false);
        conns.push_back({std::thread([this, io, done, s = std::move(sock)]() mutable {
                           serve(*io, std::move(s));
                           *done = true;
                         }),
                         done, peer});
      }
      accept_next();
    });
  }

  void serve(net::io_context& io, tcp::socket sock) {
    TlsStream stream(std::move(sock), *tls);
    auto expire = [&](std::chrono::milliseconds d) {
      beast::get_lowest_layer(stream).expires_after(d);
    };
    expire(opts.handshake_timeout);  // short: an idle peer holds a slot until then
    if (await(io, [&](auto h) { stream.async_handshake(net::ssl::stream_base::server, h); })) {
      count(&WorkerStats::tls_failures);
      return;
    }
    beast::flat_buffer buf;
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(kMaxRequestBody);
    expire(opts.request_timeout);
    auto ec = await(io, [&](auto h) { http::async_read(stream, buf, parser, h); });
    if (ec == http::error::body_limit) {
      respond(io, stream, 413, error_body("body_too_large", "the request body is too large"));
    } else if (!ec) {
      count(&WorkerStats::requests);
      route(io, stream, parser.get());
    }
    expire(std::chrono::seconds(2));
    await(io, [&](auto h) { stream.async_shutdown(h); });
  }

  bool respond(net::io_context& io, TlsStream& stream, int status, std::string body) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::server, "cacheon-worker");
    res.keep_alive(false);
    res.body() = std::move(body);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(opts.request_timeout);
    return !await(io, [&](auto h) { http::async_write(stream, res, h); });
  }

  void route(net::io_context& io, TlsStream& stream, const Request& req) {
    const std::string target(req.target());
    const bool get = req.method() == http::verb::get, post = req.method() == http::verb::post;
    if (target == kHealthPath) {
      if (!get) return (void)respond(io, stream, 405, error_body("method_not_allowed", "use GET"));
      bool b;
      {
        std::lock_guard lock(mu);
        b = busy;
      }
      nlohmann::json j = {{"ok", true}, {"protocol", kProtocolVersion},
                          {"version", "cacheon-worker/1"}, {"busy", b}};
      return (void)respond(io, stream, 200, j.dump());
    }
    if (target != kEvaluatePath && target != kFinishJobPath)
      return (void)respond(io, stream, 404, error_body("not_found", "no such path"));
    if (!post) return (void)respond(io, stream, 405, error_body("method_not_allowed", "use POST"));
    Status auth = verify_request(token, nonces, "POST", target, req.body(),
                                 std::string(req[kNonceHeader]), std::string(req[kTimeHeader]),
                                 std::string(req[kAuthHeader]), unix_now());
    if (!auth.ok()) {
      count(&WorkerStats::auth_failures);
      log(fmt::format("worker: refused a request: {}", auth.error().message));
      return (void)respond(io, stream, auth.error().code == "replay_cache_full" ? 503 : 401,
                           error_body(auth.error().code, auth.error().message));
    }
    if (target == kFinishJobPath) return finish_job(io, stream);
    evaluate(io, stream, req.body(), std::string(req[kNonceHeader]));
  }

  // Claims the single evaluation slot; false if taken.
  bool claim(const std::shared_ptr<EvalSession>& s) {
    std::lock_guard lock(mu);
    if (busy) {
      ++stats.busy_refusals;
      return false;
    }
    busy = true;
    current = s;
    stats.busy = true;
    return true;
  }
  void release() {
    std::lock_guard lock(mu);
    busy = false;
    current.reset();
    stats.busy = false;
  }

  void finish_job(net::io_context& io, TlsStream& stream) {
    if (!claim(nullptr))
      return (void)respond(io, stream, 409, error_body("busy", "an evaluation is running"));
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    eval_thread->post([this, done] {
      executor.finish_job();
      release();
      done->set_value();
    });
    fut.wait_for(std::chrono::seconds(60));
    respond(io, stream, 200, R"({"ok":true})");
  }

  void evaluate(net::io_context& io, TlsStream& stream, const std::string& body,
                const std::string& nonce) {
    auto req = parse_evaluate_body(body);
    if (!req.ok())
      return (void)respond(io, stream, 400, error_body(req.error().code, req.error().message));
    auto session = std::make_shared<EvalSession>();
    if (!claim(session))
      return (void)respond(io, stream, 409, error_body("busy", "an evaluation is running"));
    count(&WorkerStats::evaluations_started);
    const std::string name = fmt::format("{}@{}", req->participant.key.hotkey,
                                         req->participant.key.commit_block);
    log(fmt::format("worker: evaluating {} for round {} (attempt {})", name, req->job.round_id,
                    req->attempt));
    eval_thread->post([this, session, r = std::move(*req), name] {
      store::EvalResult res = executor.evaluate(r.job, r.participant, r.attempt,
                                                [session] { session->push(launched_record()); });
      std::string line = result_record(res, read_report(res.report_path),
                                       res.logs_path.empty() ? std::nullopt
                                                             : read_tail(res.logs_path));
      log(fmt::format("worker: {} for round {}: {} ({})", name, r.job.round_id, res.reason_code,
                      res.message));
      count(&WorkerStats::evaluations_finished);
      release();
      session->finish(std::move(line));
    });
    stream_session(io, stream, *session, nonce);
  }

  bool write_chunk(net::io_context& io, TlsStream& stream, const std::string& data) {
    beast::get_lowest_layer(stream).expires_after(opts.request_timeout);
    return !await(io, [&](auto h) { net::async_write(stream, http::make_chunk(net::buffer(data)), h); });
  }

  void stream_session(net::io_context& io, TlsStream& stream, EvalSession& session,
                      const std::string& nonce) {
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/x-ndjson");
    res.set(http::field::server, "cacheon-worker");
    res.keep_alive(false);
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    beast::get_lowest_layer(stream).expires_after(opts.request_timeout);
    if (await(io, [&](auto h) { http::async_write_header(stream, sr, h); })) return;
    const auto deadline = Clock::now() + opts.eval_deadline;
    for (;;) {
      auto until = std::min(Clock::now() + opts.heartbeat, deadline);
      auto batch = session.take(until, [&] { return stopping.load(); });
      if (stopping) return;  // the client sees the connection drop: worker_lost
      std::string out;
      for (auto& r : batch.records) out += r + "\n";
      std::optional<std::string> result = std::move(batch.result);
      if (!result && Clock::now() >= deadline) {
        result = result_record(
            arena_failure(reason::kWorkerDeadline,
                          fmt::format("the evaluation overran the worker's deadline of {} s",
                                      opts.eval_deadline.count() / 1000)),
            nullptr, std::nullopt);
        log("worker: an evaluation overran its deadline");
        if (opts.on_deadline) opts.on_deadline();
      }
      if (result) {
        out += *result + "\n" + proof_record(result_proof(token, nonce, *result)) + "\n";
        if (write_chunk(io, stream, out)) {
          beast::get_lowest_layer(stream).expires_after(opts.request_timeout);
          await(io, [&](auto h) { net::async_write(stream, http::make_chunk_last(), h); });
        }
        return;
      }
      if (out.empty()) out = heartbeat_record() + "\n";
      if (!write_chunk(io, stream, out)) return;  // the validator left; the evaluation goes on
    }
  }
};

WorkerServer::WorkerServer(WorkerServerOptions options, Token token,
                           validator::EvalExecutor& executor)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(token), executor)) {}

WorkerServer::~WorkerServer() {
  stop();
  impl_->eval_thread.reset();  // waits for the evaluation in flight, if any
}

Status WorkerServer::start() {
  auto tls = make_server_tls(impl_->opts.cert_file, impl_->opts.key_file);
  if (!tls.ok()) return tls.error();
  impl_->tls = *tls;
  boost::system::error_code ec;
  auto addr = net::ip::make_address(impl_->opts.host, ec);
  if (ec) return Error{"bind_failed", "--listen: not an IP address: " + impl_->opts.host};
  tcp::endpoint ep(addr, impl_->opts.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Error{"bind_failed", fmt::format("cannot listen on {}:{}: {}", impl_->opts.host,
                                            impl_->opts.port, ec.message())};
  impl_->bound_port = a.local_endpoint().port();
  impl_->accept_next();
  impl_->accept_thread = std::thread([this] { impl_->accept_io.run(); });
  return {};
}

void WorkerServer::stop() {
  if (impl_->stopping.exchange(true)) return;
  net::post(impl_->accept_io, [this] {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->current) impl_->current->wake();
  }
  std::lock_guard lock(impl_->conns_mu);
  for (auto& c : impl_->conns) c.thread.join();
  impl_->conns.clear();
}

uint16_t WorkerServer::port() const { return impl_->bound_port; }

WorkerStats WorkerServer::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

void WorkerServer::progress_line(const std::string& line) {
  std::shared_ptr<EvalSession> s;
  {
    std::lock_guard lock(impl_->mu);
    s = impl_->current;
  }
  if (s) s->push(progress_record(line));
}

}  // namespace cacheon::remote

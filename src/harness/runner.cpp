// The load runner: one io_context, one HttpConnection per in-flight slot, SSE + chunk parsing
// inline on arrival (the arrival stamp was taken by the socket read before any of it).
#include "harness/runner.h"

#include <charconv>
#include <cmath>
#include <deque>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "core/clock.h"
#include "harness/rng.h"
#include "harness/stream_recorder.h"
#include "openai/chat_chunk.h"
#include "openai/error.h"

namespace cacheon::harness {
namespace asio = boost::asio;

// ---------------------------------------------------------------------------------------------
// Workload

Result<Workload> Workload::parse(std::string_view spec) {
  auto bad = [&](std::string_view why) {
    return Error{"bad_workload",
                 fmt::format("invalid workload '{}': {} (expected sequential, concurrency:N or "
                             "rate:R[:SEED])",
                             spec, why)};
  };
  Workload w;
  if (spec == "sequential") return w;
  auto colon = spec.find(':');
  std::string_view kind = spec.substr(0, colon);
  std::string_view rest = colon == std::string_view::npos ? "" : spec.substr(colon + 1);
  if (kind == "concurrency") {
    int n = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc() || end != rest.data() + rest.size() || n < 1 || n > 65536)
      return bad("N must be an integer in 1..65536");
    w.kind = Kind::concurrency;
    w.concurrency = n;
    return w;
  }
  if (kind == "rate") {
    auto c2 = rest.find(':');
    std::string rate_s(rest.substr(0, c2));
    char* end = nullptr;
    double r = std::strtod(rate_s.c_str(), &end);
    if (rate_s.empty() || end != rate_s.c_str() + rate_s.size() || !std::isfinite(r) || r <= 0 ||
        r > 1e6)
      return bad("R must be a positive number of requests per second (at most 1e6)");
    w.kind = Kind::rate;
    w.rate_per_s = r;
    if (c2 != std::string_view::npos) {
      std::string_view s = rest.substr(c2 + 1);
      auto [e2, ec] = std::from_chars(s.data(), s.data() + s.size(), w.seed);
      if (ec != std::errc() || e2 != s.data() + s.size()) return bad("SEED must be an integer");
    }
    return w;
  }
  return bad("unknown kind");
}

std::string Workload::str() const {
  switch (kind) {
    case Kind::sequential: return "sequential";
    case Kind::concurrency: return fmt::format("concurrency:{}", concurrency);
    case Kind::rate: return fmt::format("rate:{}:{}", rate_per_s, seed);
  }
  return "?";
}

std::vector<int64_t> poisson_schedule(double rate_per_s, size_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> at;
  at.reserve(count);
  double t = 0;
  for (size_t i = 0; i < count; ++i) {
    // Saturate at ~146 years: a tiny rate (say 1e-300 requests/s) must not overflow the int64
    // conversion here, nor the start time plus offset in the runner.
    constexpr double kMaxOffsetNs = 4.6e18;
    const double ns = t * 1e9;
    at.push_back(static_cast<int64_t>(ns < kMaxOffsetNs ? ns : kMaxOffsetNs));
    // Exponential inter-arrival by inversion; 1 - u is in (0, 1], so the log is finite.
    t += -std::log(1.0 - rng.uniform_double()) / rate_per_s;
  }
  return at;
}

// ---------------------------------------------------------------------------------------------
// One streaming request

namespace {

std::string request_body(const RequestSpec& spec, const RunOptions& opt) {
  openai::ChatRequest r;
  r.model = opt.model;
  r.messages = spec.messages;
  r.stream = true;
  r.max_tokens = spec.max_tokens;
  r.temperature = opt.temperature;
  r.seed = opt.seed;
  r.logprobs = opt.logprobs;
  if (opt.logprobs) r.top_logprobs = opt.top_logprobs;
  r.include_usage = opt.include_usage;
  r.ignore_eos = opt.ignore_eos;
  return openai::to_json(r);
}

// Drives all requests of one run on one io_context.
class Run {
 public:
  Run(const Url& server, const std::vector<RequestSpec>& specs, const Workload& w,
      const RunOptions& opt, RunResult& out)
      : server_(server), specs_(specs), w_(w), opt_(opt), out_(out) {
    out_.requests.resize(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
      auto& r = out_.requests[i];
      r.prompt_index = specs[i].prompt_index;
      r.warmup = specs[i].warmup;
      r.max_tokens_requested = specs[i].max_tokens;
      (specs[i].warmup ? warmups_ : measured_).push_back(i);
    }
    // Bodies are built before the clock starts: nothing but I/O on the measured path.
    bodies_.reserve(specs.size());
    for (const auto& spec : specs) bodies_.push_back(request_body(spec, opt));
  }

  void go() {
    int64_t cpu0 = process_cpu_ns();
    out_.start_ns = mono_ns();
    next_warmup(0);
    if (opt_.busy_poll) {
      while (!io_.stopped()) io_.poll();  // poll() stops the context once no work is left
    } else {
      io_.run();
    }
    out_.end_ns = mono_ns();
    out_.client_cpu_ns = process_cpu_ns() - cpu0;
  }

 private:
  std::shared_ptr<HttpConnection> new_connection() {
    return HttpConnection::create(io_, server_, opt_.limits);
  }

  void next_warmup(size_t k) {
    if (k == warmups_.size()) return start_measured();
    if (!warm_conn_) warm_conn_ = new_connection();
    send(warm_conn_, warmups_[k], mono_ns(), [this, k] { next_warmup(k + 1); });
  }

  void start_measured() {
    if (measured_.empty()) {
      out_.measured_start_ns = mono_ns();
      return;
    }
    if (w_.kind != Workload::Kind::rate) return preconnect_slots();
    out_.measured_start_ns = mono_ns();
    start_rate();
  }

  // Closed-loop slots connect before the measured window opens, all at once.
  void preconnect_slots() {
    size_t n = w_.kind == Workload::Kind::sequential
                   ? 1
                   : std::min<size_t>(w_.concurrency, measured_.size());
    auto pending = std::make_shared<size_t>(n);
    for (size_t s = 0; s < n; ++s) {
      auto conn = s == 0 && warm_conn_ ? warm_conn_ : new_connection();
      slots_.push_back(conn);
      // A failed pre-connect is not an error here: the request retries and records the reason.
      conn->preconnect(opt_.timeouts, [this, pending](Status) {
        if (--*pending == 0) asio::post(io_, [this] { start_slots(); });
      });
    }
  }

  // Closed loop: each slot owns one keep-alive connection and takes the next prompt when free.
  void start_slots() {
    out_.measured_start_ns = mono_ns();
    for (auto& conn : slots_) slot_next(conn);
  }

  void slot_next(std::shared_ptr<HttpConnection> conn) {
    if (next_ == measured_.size()) return;
    size_t idx = measured_[next_++];
    send(conn, idx, mono_ns(), [this, conn] { slot_next(conn); });
  }

  // Open loop: absolute deadlines from the precomputed schedule; a free connection is reused.
  void start_rate() {
    auto offsets = poisson_schedule(w_.rate_per_s, measured_.size(), w_.seed);
    int64_t t0 = mono_ns() + 1'000'000;  // 1 ms to set up the timers
    timers_.reserve(measured_.size());
    for (size_t i = 0; i < measured_.size(); ++i) {
      int64_t at = t0 + offsets[i];
      auto timer = std::make_unique<asio::steady_timer>(io_);
      timer->expires_at(asio::steady_timer::time_point(std::chrono::nanoseconds(at)));
      timer->async_wait([this, i, at](boost::system::error_code) { dispatch_rate(i, at); });
      timers_.push_back(std::move(timer));
    }
  }

  void dispatch_rate(size_t i, int64_t scheduled_ns) {
    if (in_flight_ >= w_.max_in_flight) {  // over the bound: wait for a free slot, lateness shows
      backlog_.push_back({i, scheduled_ns});
      return;
    }
    std::shared_ptr<HttpConnection> conn;
    if (!idle_.empty()) {
      conn = idle_.back();
      idle_.pop_back();
    } else {
      conn = new_connection();
    }
    ++in_flight_;
    send(conn, measured_[i], scheduled_ns, [this, conn] {
      --in_flight_;
      idle_.push_back(conn);
      if (!backlog_.empty()) {
        auto [j, at] = backlog_.front();
        backlog_.pop_front();
        dispatch_rate(j, at);
      }
    });
  }

  void send(const std::shared_ptr<HttpConnection>& conn, size_t idx, int64_t scheduled_ns,
            std::function<void()> then) {
    RequestRecord& rec = out_.requests[idx];
    rec.scheduled_ns = scheduled_ns;
    HttpClientRequest req;
    req.method = "POST";
    req.target = server_.join("/v1/chat/completions");
    req.body = bodies_[idx];
    auto recorder = std::make_shared<StreamRecorder>(rec, opt_, parser_);
    HttpStreamCallbacks cb;
    cb.on_sent = [&rec](int64_t t) { rec.sent_ns = t; };
    cb.on_first_byte = [&rec](int64_t t) { rec.first_byte_ns = t; };
    cb.on_headers = [recorder](int status, const HttpHeaders&) { recorder->on_headers(status); };
    cb.on_body = [recorder](std::string_view d, int64_t t) { return recorder->on_body(d, t); };
    cb.on_done = [this, recorder, &rec, then = std::move(then)](Status st, int64_t end) {
      recorder->on_done(st, end);
      ++done_;
      if (opt_.on_request_done)
        opt_.on_request_done(rec, done_, static_cast<int>(out_.requests.size()));
      // Continue from a fresh handler so a long chain of requests never deepens the stack.
      asio::post(io_, then);
    };
    conn->request(std::move(req), opt_.timeouts, std::move(cb));
  }

  asio::io_context io_{1};  // one thread runs it: no scheduler locking
  const Url& server_;
  const std::vector<RequestSpec>& specs_;
  const Workload& w_;
  const RunOptions& opt_;
  RunResult& out_;
  openai::ChunkParser parser_;
  std::vector<size_t> warmups_, measured_;
  std::shared_ptr<HttpConnection> warm_conn_;
  std::vector<std::shared_ptr<HttpConnection>> slots_;
  std::vector<std::string> bodies_;
  size_t next_ = 0;
  int done_ = 0;
  int in_flight_ = 0;
  std::vector<std::shared_ptr<HttpConnection>> idle_;
  std::deque<std::pair<size_t, int64_t>> backlog_;
  std::vector<std::unique_ptr<asio::steady_timer>> timers_;
};

}  // namespace

RunResult run_workload(const Url& server, const std::vector<RequestSpec>& specs,
                       const Workload& workload, const RunOptions& options) {
  RunResult out;
  out.server = server.str();
  out.workload = workload.str();
  Run run(server, specs, workload, options, out);
  run.go();
  return out;
}

}  // namespace cacheon::harness

// One chat completion's timed response. Everything here runs on the connection's strand (the
// handler, the timer and the write callbacks), so the session needs no lock except around its
// truth record, which truths() reads from other threads.
#include "testserver/session.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "core/clock.h"
#include "openai/chunk_writer.h"
#include "openai/error.h"

namespace cacheon::testserver {
namespace {

using steady = std::chrono::steady_clock;
constexpr size_t kMaxTruthEvents = size_t(1) << 20;  // endless streams stop recording here
constexpr size_t kHugePiece = 64 * 1024;
// Marks where fault bytes go; the writer escapes it as kMarkerJson, which is then replaced.
constexpr std::string_view kMarker = "\x01\x02\x03";
constexpr std::string_view kMarkerJson = "\\u0001\\u0002\\u0003";
constexpr std::string_view kInvalidUtf8 = "\xC3\x28\xFF";

// libstdc++'s steady_clock is CLOCK_MONOTONIC, the clock of mono_ns().
steady::time_point at_ns(int64_t ns) { return steady::time_point(std::chrono::nanoseconds(ns)); }

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ServerState> st, std::shared_ptr<ResponseStream> res, Plan plan)
      : st_(std::move(st)),
        res_(std::move(res)),
        plan_(std::move(plan)),
        s_(st_->script),
        writer_(plan_.id, s_.model, plan_.created),
        timer_(res_->executor()) {
    ++st_->active_streams;
    fault_ = st_->fault;
    k_ = s_.tokens_per_chunk;
    ttft_ns_ = std::llround(s_.ttft_ms * 1e6);
    itl_ns_ = std::llround(s_.itl_ms * 1e6);
    n_ = std::max<int64_t>(plan_.n_tokens, 1);
    endless_ = fault_ == Fault::kEndless && plan_.stream;
    events_ = endless_ ? INT64_MAX : (n_ + k_ - 1) / k_;
    fault_tok_ = std::clamp<int64_t>(int64_t(std::floor(s_.fault_at_fraction * double(n_))), 0,
                                     n_ - 1);
    fault_ev_ = fault_tok_ / k_;
    truth_ = st_->new_truth(plan_.id, plan_.stream, plan_.t0);
  }

  ~Session() {
    --st_->active_streams;
    finish_truth();
  }

  void start() {
    if (!plan_.stream) return start_nonstream();
    if (fault_ == Fault::kSlowHeaders) {
      raw_ = true;
      head_ = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
              "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
      return dribble(0);
    }
    const int64_t now = mono_ns();
    res_->start_chunked(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
    set_headers_time(now);
    begin_body();
  }

 private:
  // Runs fn at the absolute deadline; with spin the timer fires kSpinNs early and we busy-wait,
  // but only at low concurrency (a spinning thread delays every other stream on it).
  template <class F>
  void at(int64_t deadline, F fn) {
    const bool spin = s_.spin && st_->active_streams.load() <= st_->threads;
    timer_.expires_at(at_ns(spin ? deadline - kSpinNs : deadline));
    timer_.async_wait([self = shared_from_this(), deadline, spin,
                       fn = std::move(fn)](const boost::system::error_code& ec) mutable {
      if (ec) return;
      if (spin)
        while (mono_ns() < deadline) cpu_relax();
      fn();
    });
  }

  int64_t deadline_of(int64_t ev) const { return plan_.t0 + ttft_ns_ + ev * k_ * itl_ns_; }
  bool gone() const { return write_failed_ || res_->closed(); }

  void emit(std::string data, std::function<void(bool)> cb = {}) {
    if (!raw_) return res_->write_chunk(std::move(data), std::move(cb));
    std::string framed = fmt::format("{:x}\r\n", data.size());
    framed += data;
    framed += "\r\n";
    res_->write_raw(std::move(framed), std::move(cb));
  }

  void dribble(size_t i) {
    at(plan_.t0 + int64_t(i + 1) * kSlowHeaderIntervalMs * 1'000'000, [this, i] {
      if (gone()) return finish_truth();
      res_->write_raw(std::string(1, head_[i]));
      if (i + 1 < head_.size()) return dribble(i + 1);
      set_headers_time(mono_ns());
      begin_body();
    });
  }

  void begin_body() {
    std::string out;
    writer_.append_role(out);
    emit(std::move(out));
    prepare(0);
    at(deadline_of(0), [this] { on_deadline(0); });
  }

  // Serializes content event `ev` ahead of its deadline, applying per-event faults.
  void prepare(int64_t ev) {
    const int64_t pos0 = ev * k_;
    const int64_t count = endless_ ? k_ : std::min<int64_t>(k_, n_ - pos0);
    const bool at_fault = ev == fault_ev_;
    build_tokens(pos0, count);
    std::span<const openai::TokenOut> toks = outs_;
    bool with_lp = plan_.logprobs;
    if (fault_ == Fault::kLogprobCount && at_fault) with_lp = false;
    if (fault_ == Fault::kLogprobCount && ev == fault_ev_ + 1) toks = toks.first(toks.size() - 1);
    if ((fault_ == Fault::kInvalidUtf8 || fault_ == Fault::kHugeLine) && at_fault) {
      text_.insert(0, kMarker);
    }
    pending_.clear();
    pending_tokens_ = count;
    if (fault_ == Fault::kMalformedJson && at_fault) {
      std::string json;
      writer_.append_content_json(json, text_, toks, with_lp);
      json.resize(json.find("},\"logprobs\":"));  // cut right after the content string
      pending_ = "data: " + json + "\n\n";
      return;
    }
    writer_.append_content(pending_, text_, toks, with_lp);
    if (fault_ == Fault::kInvalidUtf8 && at_fault) {
      pending_.replace(pending_.find(kMarkerJson), kMarkerJson.size(), kInvalidUtf8);
    }
  }

  void build_tokens(int64_t pos0, int64_t count) {
    gen_.resize(size_t(count));
    outs_.clear();
    text_.clear();
    for (int64_t i = 0; i < count; ++i) {
      const int64_t pos = pos0 + i;
      const bool wrong = fault_ == Fault::kWrongTop1 && pos >= fault_tok_;
      gen_[size_t(i)] = make_token(s_, plan_.prompt_hash, pos, plan_.top_n, wrong);
    }
    for (const auto& g : gen_) {  // after the loop: outs_ points into gen_
      outs_.push_back(g.out());
      text_ += g.text;
    }
  }

  void on_deadline(int64_t ev) {
    if (gone()) return finish_truth();
    const bool last = !endless_ && ev == events_ - 1;
    if (ev == fault_ev_) {
      switch (fault_) {
        case Fault::kStall: return hold();
        case Fault::kDisconnect:
          res_->close();
          return finish_truth();
        case Fault::kErrorEvent: {
          std::string out = "event: error\ndata: ";
          out += openai::error_json("server_error", "scripted mid-stream error (fault error-event)",
                                    {}, "internal_error");
          out += "\n\n";
          openai::ChunkWriter::append_done(out);
          emit(std::move(out));
          return end_body();
        }
        case Fault::kHugeLine: return huge_line(ev, last);
        default: break;
      }
    }
    record_produced(ev);
    if (fault_ == Fault::kBufferFlush) {
      held_ += pending_;
      if (!last) return next(ev);
      std::string out = std::move(held_);
      append_tail(out);
      write_events(std::move(out), 0, ev);
      return end_body();
    }
    std::string out = std::move(pending_);
    if (last) append_tail(out);
    write_events(std::move(out), ev, ev);
    after(ev, last);
  }

  void after(int64_t ev, bool last) {
    if (last) return end_body();
    next(ev);
  }

  void next(int64_t ev) {
    prepare(ev + 1);
    at(deadline_of(ev + 1), [this, ev] { on_deadline(ev + 1); });
  }

  // One SSE line of > 8 MiB: head, then 'x' pieces paced by write completion, then the rest.
  void huge_line(int64_t ev, bool last) {
    const size_t cut = pending_.find(kMarkerJson);
    std::string head = pending_.substr(0, cut);
    std::string tail = pending_.substr(cut + kMarkerJson.size());
    emit(std::move(head));
    huge_piece(ev, last, kHugeLineBytes, std::move(tail));
  }

  void huge_piece(int64_t ev, bool last, size_t left, std::string tail) {
    if (gone()) return finish_truth();
    if (left == 0) {
      record_produced(ev);
      if (last) append_tail(tail);
      write_events(std::move(tail), ev, ev);
      return after(ev, last);
    }
    const size_t n = std::min(left, kHugePiece);
    emit(std::string(n, 'x'), [self = shared_from_this(), ev, last, left, n,
                               tail = std::move(tail)](bool ok) mutable {
      if (!ok) self->write_failed_ = true;
      self->huge_piece(ev, last, left - n, std::move(tail));
    });
  }

  // Finish, the faults that live after it, usage, [DONE].
  void append_tail(std::string& out) {
    writer_.append_finish(out, plan_.finish_reason);
    if (fault_ == Fault::kAfterFinish) {
      for (int64_t p = n_; p < n_ + 2; ++p) append_extra(out, p);
    }
    if (plan_.include_usage) {
      const int64_t lie = fault_ == Fault::kUsageLie ? 1 : 0;
      writer_.append_usage(out, {plan_.prompt_tokens, n_ + lie});
    }
    if (fault_ != Fault::kNoDone) openai::ChunkWriter::append_done(out);
    if (fault_ == Fault::kAfterDone) append_extra(out, n_);
  }

  void append_extra(std::string& out, int64_t pos) {
    build_tokens(pos, 1);
    writer_.append_content(out, text_, outs_, plan_.logprobs);
  }

  void end_body() {
    finish_truth();
    auto res = res_;
    if (raw_) {
      res_->write_raw("0\r\n\r\n", [res](bool) { res->close(); });
    } else if (fault_ == Fault::kNoDone) {
      res_->end_chunked();
      // An empty raw write completes after the terminator is in the kernel: then close.
      res_->write_raw("", [res](bool) { res->close(); });
    } else {
      res_->end_chunked();
    }
  }

  // Stall: keep the connection (and this session) until the server goes away.
  void hold() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->gone()) return self->finish_truth();
      self->hold();
    });
  }

  // ---- non-stream: the whole body at the time the last token would exist ----
  void start_nonstream() {
    at(plan_.t0 + ttft_ns_ + (n_ - 1) * itl_ns_, [this] {
      if (fault_ == Fault::kStall) return hold();
      if (fault_ == Fault::kDisconnect) {
        res_->close();
        return finish_truth();
      }
      build_tokens(0, n_);
      if (fault_ == Fault::kLogprobCount) outs_.erase(outs_.begin() + fault_tok_);
      if (fault_ == Fault::kInvalidUtf8) text_.insert(0, kMarker);
      const int64_t lie = fault_ == Fault::kUsageLie ? 1 : 0;
      std::string body;
      openai::append_chat_completion(body, plan_.id, s_.model, plan_.created, text_, outs_,
                                     plan_.logprobs, plan_.finish_reason,
                                     {plan_.prompt_tokens, n_ + lie});
      if (fault_ == Fault::kInvalidUtf8) {
        body.replace(body.find(kMarkerJson), kMarkerJson.size(), kInvalidUtf8);
      }
      if (fault_ == Fault::kMalformedJson) body.resize(body.size() / 2);
      record_produced(0);
      pending_tokens_ = n_;
      const int64_t now = mono_ns();
      res_->send(200, "application/json", std::move(body));
      record_write(0, 0, now, mono_ns());
      finish_truth();
    });
  }

  // ---- truth ----
  void set_headers_time(int64_t ns) {
    std::lock_guard lock(truth_->mu);
    truth_->truth.headers_write_ns = ns;
  }

  void record_produced(int64_t ev) {
    std::lock_guard lock(truth_->mu);
    auto& t = truth_->truth;
    if (t.event_deadline_ns.size() >= kMaxTruthEvents) return;
    t.event_deadline_ns.push_back(plan_.stream ? deadline_of(ev) : timer_deadline_nonstream());
    t.event_write_ns.push_back(-1);
    t.event_handed_ns.push_back(-1);
    t.event_written_ns.push_back(-1);
    t.event_tokens.push_back(int32_t(plan_.stream ? pending_tokens_ : n_));
  }

  int64_t timer_deadline_nonstream() const { return plan_.t0 + ttft_ns_ + (n_ - 1) * itl_ns_; }

  // Hands `out` (events first..last) over; records the time taken just before and just after
  // the hand-over call.
  void write_events(std::string out, int64_t first, int64_t last) {
    const int64_t now = mono_ns();
    emit(std::move(out), [self = shared_from_this(), first, last](bool ok) {
      const int64_t done = mono_ns();
      if (!ok) self->write_failed_ = true;
      std::lock_guard lock(self->truth_->mu);
      auto& w = self->truth_->truth.event_written_ns;
      for (int64_t e = first; e <= last && size_t(e) < w.size(); ++e) w[size_t(e)] = done;
    });
    record_write(first, last, now, mono_ns());
  }

  void record_write(int64_t first, int64_t last, int64_t now, int64_t handed) {
    std::lock_guard lock(truth_->mu);
    auto& t = truth_->truth;
    for (int64_t e = first; e <= last && size_t(e) < t.event_write_ns.size(); ++e) {
      t.event_write_ns[size_t(e)] = now;
      t.event_handed_ns[size_t(e)] = handed;
      t.token_write_ns.insert(t.token_write_ns.end(), size_t(t.event_tokens[size_t(e)]), now);
    }
  }

  void finish_truth() {
    std::lock_guard lock(truth_->mu);
    if (truth_->truth.end_ns < 0) truth_->truth.end_ns = mono_ns();
  }

  std::shared_ptr<ServerState> st_;
  std::shared_ptr<ResponseStream> res_;
  Plan plan_;
  const Script& s_;  // owned by st_
  openai::ChunkWriter writer_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<TruthSlot> truth_;

  Fault fault_ = Fault::kNone;
  int64_t k_ = 1, n_ = 1, events_ = 1, fault_tok_ = 0, fault_ev_ = 0;
  int64_t ttft_ns_ = 0, itl_ns_ = 0;
  bool endless_ = false;
  bool raw_ = false;           // slow-headers: the fixture frames the response itself
  bool write_failed_ = false;  // set by write callbacks (same strand)
  std::string head_;           // slow-headers: the response head being dribbled

  std::vector<GenToken> gen_;
  std::vector<openai::TokenOut> outs_;
  std::string text_;
  std::string pending_;  // the next content event, serialized before its deadline
  int64_t pending_tokens_ = 0;
  std::string held_;     // buffer-flush: events produced but not yet sent
};

}  // namespace

std::shared_ptr<TruthSlot> ServerState::new_truth(std::string id, bool stream, int64_t t0) {
  auto slot = std::make_shared<TruthSlot>();
  slot->truth.id = std::move(id);
  slot->truth.stream = stream;
  slot->truth.request_read_ns = t0;
  std::lock_guard lock(mu);
  truths.push_back(slot);
  return slot;
}

void run_completion(std::shared_ptr<ServerState> state, std::shared_ptr<ResponseStream> res,
                    Plan plan) {
  std::make_shared<Session>(std::move(state), std::move(res), std::move(plan))->start();
}

}  // namespace cacheon::testserver

// The engine thread: admit, build one batched step, run it, sample, emit events.
//
// Locks: `mu_` guards the waiting queue, the live-id set and the flags; `emit_mu_` (recursive)
// guards the cancelled set and is held while an event is delivered, so a cancel() that returns
// has either happened before the delivery check or after the whole delivery — no event can slip
// out after it. Recursive because on_event may itself call cancel(). Order: emit_mu_, then mu_.
// The running set is touched by the engine thread only.
#include "engine/scheduler/scheduler.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <new>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>

#include "core/clock.h"

namespace cacheon::engine {
namespace {

// KV room beyond the prompt at admission; reserve() doubles it as generation goes on.
constexpr int64_t kInitialRoom = 256;

struct Seq {
  uint64_t id = 0;
  GenerationRequest req;
  std::unique_ptr<KvCache> cache;
  std::unique_ptr<Sampler> sampler;
  int64_t prompt_len = 0;
  int64_t prefilled = 0;  // prompt tokens in the cache
  int64_t generated = 0;
  int64_t max_new = 0;  // effective bound on generated tokens
  int64_t chunk = 0;    // this sequence's prefill chunk (fixed: batching never moves a cut)
  int32_t last = -1;    // the last sampled token, fed to the next decode step
  std::vector<float> prompt_lp;
  std::vector<int32_t> ban_early;  // banned_ids and stop_ids: before min_tokens
  bool removed = false;
};

// log p(target) from one row of raw logits: x[t] - logsumexp(x), in double for the sum.
float row_logprob(const float* row, int64_t vocab, int32_t target) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < vocab; ++i) mx = std::max(mx, row[i]);
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(double(row[i]) - double(mx));
  return float(double(row[target]) - double(mx) - std::log(sum));
}

}  // namespace

struct Scheduler::Impl {
  CpuModel& model;
  SchedulerOptions opt;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Seq>> waiting_;
  std::unordered_set<uint64_t> live_;  // waiting or running
  bool stopping_ = false;
  bool started_ = false;
  uint64_t next_id_ = 1;

  std::recursive_mutex emit_mu_;
  std::unordered_set<uint64_t> cancelled_;  // guarded by emit_mu_

  std::vector<std::unique_ptr<Seq>> running_;  // engine thread only
  std::atomic<int64_t> n_running_{0};
  std::atomic<int64_t> n_waiting_{0};
  mutable std::mutex stats_mu_;
  SchedulerStats stats_;
  std::thread thread_;

  // Reused per step.
  std::vector<SequenceStep> steps_;
  std::vector<Seq*> step_seq_;
  std::vector<int64_t> step_n_;
  std::vector<std::vector<float>> logits_;

  Impl(CpuModel& m, SchedulerOptions o) : model(m), opt(o) {}

  // Delivers one event unless the request was cancelled. Returns false when cancelled.
  bool emit(Seq& s, const GenerationEvent& ev) {
    std::lock_guard lk(emit_mu_);
    if (cancelled_.count(s.id)) return false;
    if (s.req.on_event) s.req.on_event(ev);
    return !cancelled_.count(s.id);
  }

  void retire(Seq& s) {
    s.removed = true;
    std::lock_guard elk(emit_mu_);
    cancelled_.erase(s.id);
    std::lock_guard lk(mu_);
    live_.erase(s.id);
  }

  void finish(Seq& s, std::string reason) {
    GenerationEvent ev;
    ev.kind = GenerationEvent::Kind::finished;
    ev.finish_reason = std::move(reason);
    if (s.req.want_prompt_logprobs) ev.prompt_logprobs = std::move(s.prompt_lp);
    emit(s, ev);
    retire(s);
  }

  void fail(Seq& s, Error e) {
    GenerationEvent ev;
    ev.kind = GenerationEvent::Kind::error;
    ev.error = std::move(e);
    emit(s, ev);
    retire(s);
  }

  bool is_cancelled(uint64_t id) {
    std::lock_guard lk(emit_mu_);
    return cancelled_.count(id) > 0;
  }

  void loop();
  bool admit();
  void step();
  void sample_from(Seq& s, const float* row);
  bool reserve(Seq& s, int64_t tokens);
  void compact();
};

// Waits for work, drops cancelled sequences, admits waiting ones. False when stopping.
bool Scheduler::Impl::admit() {
  for (auto& s : running_)
    if (!s->removed && is_cancelled(s->id)) retire(*s);
  compact();
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return stopping_ || !waiting_.empty() || !running_.empty(); });
  if (stopping_) return false;
  const ModelConfig& cfg = model.config();
  while (!waiting_.empty() && int64_t(running_.size()) < opt.max_num_seqs) {
    std::unique_ptr<Seq> s = std::move(waiting_.front());
    waiting_.pop_front();
    lk.unlock();
    const bool cancelled = is_cancelled(s->id);
    if (cancelled) {
      retire(*s);
    } else {
      // The prompt plus some room; reserve() grows it while generating (see there).
      const int64_t cap = std::min(s->prompt_len + s->max_new, s->prompt_len + kInitialRoom);
      try {
        s->cache = std::make_unique<KvCache>(cfg, std::max<int64_t>(1, cap));
        s->sampler = std::make_unique<Sampler>(s->req.sampling);
        running_.push_back(std::move(s));
      } catch (const std::bad_alloc&) {
        // Too many long contexts at once: this request fails, the running ones go on.
        fail(*s, Error{"out_of_memory", fmt::format("no memory for a KV cache of {} tokens", cap)});
      }
    }
    lk.lock();
  }
  n_waiting_ = int64_t(waiting_.size());
  n_running_ = int64_t(running_.size());
  return true;
}

void Scheduler::Impl::compact() {
  std::erase_if(running_, [](const std::unique_ptr<Seq>& s) { return s->removed; });
  n_running_ = int64_t(running_.size());
}

void Scheduler::Impl::loop() {
  while (admit()) {
    if (running_.empty()) continue;
    try {
      step();
    } catch (const std::exception& e) {
      // Allocation failure or a backend error: the batch is lost, the engine keeps serving.
      for (auto& s : running_)
        if (!s->removed)
          fail(*s, Error{"engine_error", fmt::format("engine step failed: {}", e.what())});
    }
    compact();
  }
  // Stopped: everything still pending gets an error event (cancelled ones get nothing).
  std::deque<std::unique_ptr<Seq>> rest;
  {
    std::lock_guard lk(mu_);
    rest.swap(waiting_);
    n_waiting_ = 0;
  }
  for (auto& s : running_) rest.push_back(std::move(s));
  running_.clear();
  for (auto& s : rest)
    if (!s->removed) fail(*s, Error{"engine_stopped", "the engine is shutting down"});
  n_running_ = 0;
}

// The KV cache grows by doubling, up to what the request can need (the prompt plus every
// generated token but the last, which is never fed back): a request without max_tokens does not
// hold the whole context from the start. Copying keeps the values exact, so growth never
// changes numerics. False (and the request failed) when memory runs out.
bool Scheduler::Impl::reserve(Seq& s, int64_t tokens) {
  KvCache& old = *s.cache;
  if (old.capacity() >= tokens) return true;
  const int64_t need = s.prompt_len + s.max_new;
  const int64_t cap = std::min(need, std::max(tokens, 2 * old.capacity()));
  CACHEON_ASSERT(cap >= tokens);
  try {
    auto bigger = std::make_unique<KvCache>(model.config(), cap);
    const size_t n = size_t(old.length() * old.head_dim()) * sizeof(float);
    for (int64_t l = 0; l < old.layers(); ++l) {
      for (int64_t h = 0; h < old.kv_heads(); ++h) {
        std::memcpy(bigger->k(l, h), old.k(l, h), n);
        std::memcpy(bigger->v(l, h), old.v(l, h), n);
      }
    }
    bigger->set_length(old.length());
    s.cache = std::move(bigger);
    return true;
  } catch (const std::bad_alloc&) {
    fail(s, Error{"out_of_memory", fmt::format("no memory for a KV cache of {} tokens", cap)});
    return false;
  }
}

void Scheduler::Impl::step() {
  steps_.clear();
  step_seq_.clear();
  step_n_.clear();
  int64_t budget = opt.max_step_tokens;
  // Decodes first: every sequence past its prompt advances by one token each step.
  for (auto& sp : running_) {
    Seq& s = *sp;
    if (s.removed || s.prefilled < s.prompt_len) continue;
    if (!reserve(s, s.cache->length() + 1)) continue;
    steps_.push_back({std::span<const int32_t>(&s.last, 1), s.cache.get(), false});
    step_seq_.push_back(&s);
    step_n_.push_back(1);
    --budget;
  }
  // Then prefill chunks in admission order, cut at fixed offsets of the prompt.
  bool any_prefill = false;
  for (auto& sp : running_) {
    Seq& s = *sp;
    if (s.removed || s.prefilled >= s.prompt_len) continue;
    const int64_t end = std::min(s.prompt_len, (s.prefilled / s.chunk + 1) * s.chunk);
    const int64_t n = end - s.prefilled;
    if (any_prefill && n > budget) break;
    if (!reserve(s, end)) continue;
    // Rows p predict token p+1: the chunk needs every row once it reaches start - 1.
    const bool all = s.req.want_prompt_logprobs && end - 1 >= s.req.prompt_logprobs_start - 1;
    steps_.push_back({std::span<const int32_t>(s.req.prompt.data() + s.prefilled, size_t(n)),
                      s.cache.get(), all});
    step_seq_.push_back(&s);
    step_n_.push_back(n);
    budget -= n;
    any_prefill = true;
  }
  if (steps_.empty()) return;

  const int64_t t0 = mono_ns();
  model.forward(steps_, logits_);
  const int64_t dt = mono_ns() - t0;
  const int64_t vocab = model.config().vocab_size;

  int64_t prefill_rows = 0, sampled = 0;
  for (size_t i = 0; i < steps_.size(); ++i) {
    Seq& s = *step_seq_[i];
    const std::vector<float>& lg = logits_[i];
    if (s.prefilled < s.prompt_len) {
      const int64_t n = step_n_[i];
      prefill_rows += n;
      if (steps_[i].all_logits) {
        for (int64_t j = 0; j < n; ++j) {
          const int64_t target = s.prefilled + j + 1;
          if (target >= s.prompt_len || target < s.req.prompt_logprobs_start) continue;
          s.prompt_lp[size_t(target - s.req.prompt_logprobs_start)] =
              row_logprob(lg.data() + j * vocab, vocab, s.req.prompt[size_t(target)]);
        }
      }
      s.prefilled += n;
      if (s.prefilled < s.prompt_len) continue;
      if (s.max_new == 0) {
        finish(s, "length");
        continue;
      }
      const int64_t last_row = steps_[i].all_logits ? n - 1 : 0;
      sample_from(s, lg.data() + last_row * vocab);
      ++sampled;
      continue;
    }
    sample_from(s, lg.data());
    ++sampled;
  }
  std::lock_guard lk(stats_mu_);
  ++stats_.steps;
  stats_.forward_ns += dt;
  stats_.prefill_tokens += prefill_rows;
  stats_.decode_tokens += sampled;
}

void Scheduler::Impl::sample_from(Seq& s, const float* row) {
  if (s.removed || is_cancelled(s.id)) {
    if (!s.removed) retire(s);
    return;
  }
  const int64_t vocab = model.config().vocab_size;
  const std::span<const float> logits(row, size_t(vocab));
  SampledToken tok;
  if (s.req.choose_token) {
    std::optional<SampledToken> forced = s.req.choose_token(logits);
    if (!forced) return finish(s, "stop");
    CACHEON_ASSERT(forced->id >= 0 && forced->id < vocab);
    tok = std::move(*forced);
  } else {
    // min_tokens: the stop ids cannot be chosen yet (vLLM bans them the same way).
    const bool early = !s.req.ignore_eos && s.generated < s.req.min_tokens;
    tok = s.sampler->sample(logits, early ? s.ban_early : s.req.banned_ids);
  }
  ++s.generated;
  s.last = tok.id;
  const bool is_stop = !s.req.ignore_eos && std::find(s.req.stop_ids.begin(), s.req.stop_ids.end(),
                                                      tok.id) != s.req.stop_ids.end();
  GenerationEvent ev;
  ev.kind = GenerationEvent::Kind::token;
  ev.token = std::move(tok);
  if (!emit(s, ev)) return retire(s);
  if (is_stop) return finish(s, "stop");
  if (s.generated >= s.max_new) return finish(s, "length");
}

Scheduler::Scheduler(CpuModel& model, SchedulerOptions options)
    : impl_(std::make_unique<Impl>(model, options)) {
  auto& o = impl_->opt;
  o.max_num_seqs = std::max<int64_t>(1, o.max_num_seqs);
  o.max_queue = std::max<int64_t>(0, o.max_queue);
  o.max_model_len = std::max<int64_t>(1, o.max_model_len);
  o.prefill_chunk = std::max<int64_t>(1, o.prefill_chunk);
  o.max_step_tokens = std::max<int64_t>(1, o.max_step_tokens);
  o.max_logit_floats = std::max<int64_t>(model.config().vocab_size, o.max_logit_floats);
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() {
  std::lock_guard lk(impl_->mu_);
  if (impl_->started_ || impl_->stopping_) return;
  impl_->started_ = true;
  impl_->thread_ = std::thread([im = impl_.get()] { im->loop(); });
}

void Scheduler::stop() {
  {
    std::lock_guard lk(impl_->mu_);
    impl_->stopping_ = true;
  }
  impl_->cv_.notify_all();
  if (impl_->thread_.joinable()) impl_->thread_.join();
  // Never started: the waiting requests still deserve their error event.
  std::deque<std::unique_ptr<Seq>> rest;
  {
    std::lock_guard lk(impl_->mu_);
    rest.swap(impl_->waiting_);
    impl_->n_waiting_ = 0;
  }
  for (auto& s : rest) impl_->fail(*s, Error{"engine_stopped", "the engine is shutting down"});
}

Result<uint64_t> Scheduler::submit(GenerationRequest request) {
  auto& im = *impl_;
  const int64_t n = int64_t(request.prompt.size());
  const int64_t vocab = im.model.config().vocab_size;
  if (n == 0) return Error{"invalid_request", "the prompt has no tokens"};
  if (request.max_tokens < 0 || request.min_tokens < 0 || request.max_new_tokens_cap < 0)
    return Error{"invalid_request", "max_tokens, min_tokens and the cap must be >= 0"};
  if (request.max_tokens == 0 && !request.want_prompt_logprobs)
    return Error{"invalid_request", "max_tokens must be >= 1"};
  for (int32_t t : request.prompt)
    if (t < 0 || t >= vocab)
      return Error{"invalid_request", fmt::format("token id {} is outside the vocabulary", t)};
  const int64_t room = im.opt.max_model_len - n;
  if (room < 0 || (room == 0 && request.max_tokens > 0))
    return Error{"prompt_too_long", fmt::format("the prompt has {} tokens; the context holds {}", n,
                                                im.opt.max_model_len)};
  auto s = std::make_unique<Seq>();
  s->prompt_len = n;
  s->max_new = std::min(request.max_tokens, room);
  if (request.max_new_tokens_cap > 0) s->max_new = std::min(s->max_new, request.max_new_tokens_cap);
  request.prompt_logprobs_start = std::clamp<int64_t>(request.prompt_logprobs_start, 1, n);
  s->chunk = im.opt.prefill_chunk;
  if (request.want_prompt_logprobs) {
    s->prompt_lp.assign(size_t(n - request.prompt_logprobs_start), 0.0f);
    s->chunk = std::clamp<int64_t>(im.opt.max_logit_floats / vocab, 1, s->chunk);
  }
  if (request.min_tokens > 0) {
    s->ban_early = request.banned_ids;
    s->ban_early.insert(s->ban_early.end(), request.stop_ids.begin(), request.stop_ids.end());
  }
  s->req = std::move(request);
  std::lock_guard lk(im.mu_);
  if (im.stopping_) return Error{"engine_stopped", "the engine is shutting down"};
  // Free batch slots take requests too: max_queue counts only those that will have to wait.
  if (int64_t(im.waiting_.size()) + im.n_running_.load() >= im.opt.max_num_seqs + im.opt.max_queue)
    return Error{"queue_full", fmt::format("too many requests waiting ({})", im.opt.max_queue)};
  s->id = im.next_id_++;
  const uint64_t id = s->id;
  im.live_.insert(id);
  im.waiting_.push_back(std::move(s));
  im.n_waiting_ = int64_t(im.waiting_.size());
  im.cv_.notify_one();
  return id;
}

void Scheduler::cancel(uint64_t id) {
  auto& im = *impl_;
  std::lock_guard elk(im.emit_mu_);
  std::lock_guard lk(im.mu_);
  if (im.live_.count(id)) im.cancelled_.insert(id);
}

int64_t Scheduler::running() const { return impl_->n_running_.load(); }
int64_t Scheduler::waiting() const { return impl_->n_waiting_.load(); }
const SchedulerOptions& Scheduler::options() const { return impl_->opt; }
SchedulerStats Scheduler::stats() const {
  std::lock_guard lk(impl_->stats_mu_);
  return impl_->stats_;
}

}  // namespace cacheon::engine

// Lifecycle: bind, load in the background, graceful shutdown. Routes live in routes.cpp.
#include "engine/server/engine_server.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "core/clock.h"
#include "engine/server/server_impl.h"

namespace cacheon::engine {

void EngineServer::Impl::load_model() {
  auto fail = [this](Error e) {
    std::lock_guard lk(load_mu);
    load = Load::failed;
    load_err = std::move(e);
    load_cv.notify_all();
  };
  auto tok = Tokenizer::from_file(opt.model_dir + "/tokenizer.json");
  if (!tok) return fail(tok.error());
  auto w = load_weights(opt.model_dir, opt.load_format, opt.dummy_seed);
  if (!w) return fail(w.error());
  weights = std::make_unique<ModelWeights>(std::move(*w));
  const ModelConfig& cfg = weights->config;
  max_model_len = opt.max_model_len > 0 ? opt.max_model_len : cfg.max_position_embeddings;
  if (max_model_len <= 1 || max_model_len > cfg.max_position_embeddings) {
    return fail(Error{"max_model_len_invalid",
                      fmt::format("--max-model-len {} is outside 2..{} (the model's "
                                  "max_position_embeddings)",
                                  max_model_len, cfg.max_position_embeddings)});
  }
  // Generation stops on the chat template's end-of-turn ids and on generation_config's EOS ids.
  const auto tok_stops = tok->stop_ids();
  stop_ids.assign(tok_stops.begin(), tok_stops.end());
  for (int32_t id : cfg.eos_token_ids)
    if (std::find(stop_ids.begin(), stop_ids.end(), id) == stop_ids.end()) stop_ids.push_back(id);
  std::erase_if(stop_ids, [&](int32_t id) { return id < 0 || id >= cfg.vocab_size; });
  scorer_index.by_first_byte.assign(256, {});
  scorer_index.lossy_by_first_byte.assign(256, {});
  for (int32_t id = 0; id < int32_t(cfg.vocab_size); ++id) {
    const std::string& b = tok->token_bytes(id);  // empty for an id the tokenizer lacks
    if (b.empty()) {
      undecodable_ids.push_back(id);
      continue;
    }
    if (tok->is_special(id)) continue;
    scorer_index.by_first_byte[static_cast<unsigned char>(b[0])].push_back(id);
    if (std::string lossy = tok->token_text(id); lossy != b)
      scorer_index.lossy_by_first_byte[static_cast<unsigned char>(lossy[0])].emplace_back(
          id, std::move(lossy));
  }
  tokenizer.emplace(std::move(*tok));

  model = std::make_unique<CpuModel>(*weights, opt.threads);
  SchedulerOptions so;
  so.max_num_seqs = opt.max_num_seqs;
  so.max_queue = opt.max_queue;
  so.max_model_len = max_model_len;
  so.prefill_chunk = opt.prefill_chunk;
  scheduler = std::make_unique<Scheduler>(*model, so);
  scheduler->start();
  {
    std::lock_guard lk(load_mu);
    load = Load::ready;
  }
  ready.store(true, std::memory_order_release);
  load_cv.notify_all();
}

std::string EngineServer::Impl::new_completion_id() {
  return fmt::format("chatcmpl-{:016x}{:08x}", id_salt, next_id.fetch_add(1) & 0xFFFFFFFFu);
}

EngineServer::EngineServer(EngineServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  impl_->model_name =
      impl_->opt.served_model_name.empty() ? impl_->opt.model_dir : impl_->opt.served_model_name;
  std::random_device rd;
  impl_->id_salt = (uint64_t(rd()) << 32) ^ rd();
}

EngineServer::~EngineServer() { stop(); }

Status EngineServer::start() {
  auto& im = *impl_;
  if (im.http) return Error{"already_started", "EngineServer::start called twice"};
  HttpServerOptions ho;
  ho.host = im.opt.host;
  ho.port = im.opt.port;
  ho.threads = std::max(1, im.opt.http_threads);
  ho.max_body_bytes = im.opt.max_body_bytes;
  // Generation can take minutes before a non-stream answer; the read timeout covers only the
  // request itself, so the defaults stay.
  im.http =
      std::make_unique<HttpServer>(ho, [&im](HttpRequest req, std::shared_ptr<ResponseStream> res) {
        im.handle(std::move(req), std::move(res));
      });
  if (Status s = im.http->start(); !s) return s;
  im.loader = std::thread([&im] { im.load_model(); });
  return {};
}

uint16_t EngineServer::port() const { return impl_->http ? impl_->http->port() : 0; }

std::optional<bool> EngineServer::wait_loaded(std::chrono::milliseconds limit) {
  auto& im = *impl_;
  std::unique_lock lk(im.load_mu);
  im.load_cv.wait_for(lk, limit, [&] { return im.load != Impl::Load::loading; });
  if (im.load == Impl::Load::loading) return std::nullopt;
  return im.load == Impl::Load::ready;
}

Error EngineServer::load_error() const {
  std::lock_guard lk(impl_->load_mu);
  return impl_->load_err;
}

EngineServer::Stats EngineServer::stats() const {
  const auto& im = *impl_;
  Stats s;
  s.active_requests = im.active.load();
  if (im.ready.load(std::memory_order_acquire)) {
    s.running = im.scheduler->running();
    s.waiting = im.scheduler->waiting();
  }
  return s;
}

void EngineServer::shutdown(std::chrono::milliseconds grace) {
  auto& im = *impl_;
  if (!im.http || im.draining.exchange(true)) return;
  auto wait_idle = [&im](int64_t limit_ns) {
    const int64_t deadline = mono_ns() + limit_ns;
    while (im.active.load() > 0 && mono_ns() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  // In-flight requests may finish within the grace period; new ones already get 503.
  wait_idle(int64_t(grace.count()) * 1'000'000);
  // A load cannot be interrupted: wait for it, then stop the engine. Whatever is still
  // generating gets an error event, which its session writes out before ending.
  if (im.loader.joinable()) im.loader.join();
  if (im.scheduler) im.scheduler->stop();
  wait_idle(1'000'000'000);
  // The last session ends right after queueing its final bytes; let the event loop write them.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  im.http->stop();
}

}  // namespace cacheon::engine

// The reference engine's OpenAI-compatible HTTP server (SPEC §1): /health, /v1/models,
// /v1/chat/completions (stream and non-stream), /tokenize and /detokenize (vLLM-compatible) and
// the teacher-forcing scorer POST /cacheon/v1/text_logprobs (docs/architecture.md).
//
// start() binds at once and loads the model on a background thread, so /health answers 503
// while loading and 200 once the engine runs. Two servers can share a process (tests do).
//
// Not in scope: the model, tokenizer and batching themselves (engine/model, engine/tokenizer,
// engine/scheduler); TLS; authentication.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "engine/model/weights.h"

namespace cacheon::engine {

struct EngineServerOptions {
  std::string model_dir;          // HF layout: config.json, *.safetensors, tokenizer.json
  std::string served_model_name;  // "" = model_dir (as vLLM)
  std::string host = "127.0.0.1";
  uint16_t port = 8000;  // 0: pick a free port (see port())
  LoadFormat load_format = LoadFormat::safetensors;
  uint64_t dummy_seed = 0;
  int64_t max_model_len = 0;  // 0: the config's max_position_embeddings
  int64_t max_num_seqs = 16;
  int64_t max_queue = 256;  // waiting requests; beyond: 429
  int64_t prefill_chunk = 512;
  int threads = 0;  // compute threads (OpenBLAS); 0: its default
  int http_threads = 2;
  size_t max_body_bytes = 8 * 1024 * 1024;
  size_t max_messages = 4096;
};

class EngineServer {
 public:
  explicit EngineServer(EngineServerOptions options);
  ~EngineServer();  // stop()
  EngineServer(const EngineServer&) = delete;
  EngineServer& operator=(const EngineServer&) = delete;

  // Binds (error "bind_failed") and starts loading in the background.
  Status start();
  uint16_t port() const;
  // Blocks until the model is loaded (true) or failed to load (false), at most `limit`.
  // nullopt: still loading.
  std::optional<bool> wait_loaded(std::chrono::milliseconds limit);
  // The load error once wait_loaded returned false.
  Error load_error() const;

  struct Stats {
    int64_t running = 0;          // sequences in the engine's batch
    int64_t waiting = 0;          // sequences queued for admission
    int64_t active_requests = 0;  // generation requests not yet answered in full
  };
  Stats stats() const;

  // Graceful: new requests get 503, in-flight ones may finish until `grace` has passed, the rest
  // are cancelled (their streams end with an error event), then the listener closes.
  void shutdown(std::chrono::milliseconds grace);
  void stop() { shutdown(std::chrono::milliseconds(0)); }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cacheon::engine

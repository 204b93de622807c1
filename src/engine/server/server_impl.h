// Internal: the engine server's state, shared by its route files. Not a public header.
//
// Lifetime: the loader thread fills the engine members once and then sets `ready` (release);
// request handlers read them only after seeing `ready` (acquire). `http` is declared last so it
// is destroyed first: response sessions still queued on its event loops may reference this
// object while they die.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/http_server.h"
#include "engine/kernels/cpu/cpu_model.h"
#include "engine/model/weights.h"
#include "engine/scheduler/scheduler.h"
#include "engine/server/engine_server.h"
#include "engine/tokenizer/tokenizer.h"

namespace cacheon::engine {

struct EngineServer::Impl {
  EngineServerOptions opt;
  std::string model_name;

  // Loading.
  std::mutex load_mu;
  std::condition_variable load_cv;
  enum class Load { loading, ready, failed } load = Load::loading;
  Error load_err;
  std::thread loader;
  std::atomic<bool> ready{false};
  std::atomic<bool> draining{false};

  // The engine, immutable once `ready`.
  std::optional<Tokenizer> tokenizer;
  std::unique_ptr<ModelWeights> weights;
  std::unique_ptr<CpuModel> model;
  std::unique_ptr<Scheduler> scheduler;
  int64_t max_model_len = 0;
  std::vector<int32_t> stop_ids;
  // Model ids the tokenizer cannot decode (the embedding is padded past the vocabulary): never
  // sampled, else text and tokens would disagree.
  std::vector<int32_t> undecodable_ids;
  // The teacher-forcing scorer's candidates at a text position (text_logprobs.cpp): every
  // ordinary token (decodable, not special) by the first byte of its bytes, and the tokens
  // holding ill-formed UTF-8 also by their lossy text (U+FFFD where bytes were lost), which is
  // all a client's text keeps of them.
  struct ScorerIndex {
    std::vector<std::vector<int32_t>> by_first_byte;
    std::vector<std::vector<std::pair<int32_t, std::string>>> lossy_by_first_byte;
  } scorer_index;

  std::atomic<int64_t> active{0};  // generation requests not yet answered in full
  std::atomic<uint64_t> next_id{0};
  uint64_t id_salt = 0;

  std::unique_ptr<HttpServer> http;  // last: destroyed first

  void load_model();
  void handle(HttpRequest req, std::shared_ptr<ResponseStream> res);
  void models(ResponseStream& res);
  void chat(const HttpRequest& req, const std::shared_ptr<ResponseStream>& res);
  void tokenize(const HttpRequest& req, ResponseStream& res);
  void detokenize(const HttpRequest& req, ResponseStream& res);
  void text_logprobs(const HttpRequest& req, const std::shared_ptr<ResponseStream>& res);
  void score_canonical(const std::shared_ptr<ResponseStream>& res, std::vector<int32_t> prefix,
                       const std::string& text);

  std::string new_completion_id();
  // True when `model` (from a request) is empty or names this server; else sends the 404.
  bool check_model(std::string_view model, ResponseStream& res);
};

// Counts a generation request as in flight for graceful shutdown, from construction until
// destruction.
class ActiveGuard {
 public:
  explicit ActiveGuard(std::atomic<int64_t>& n) : n_(n) { ++n_; }
  ~ActiveGuard() { --n_; }
  ActiveGuard(const ActiveGuard&) = delete;
  ActiveGuard& operator=(const ActiveGuard&) = delete;

 private:
  std::atomic<int64_t>& n_;
};

// OpenAI error object with the status's type. Empty param / code mean null.
void send_error(ResponseStream& res, int status, std::string_view message,
                std::string_view param = {}, std::string_view code = {});
// Maps a scheduler submit error to its HTTP status and sends it.
void send_submit_error(ResponseStream& res, const Error& e);
void send_json_text(ResponseStream& res, std::string body);

// The 400 for a prompt (plus max_tokens) that does not fit the context, worded as vLLM does.
// `param`: "messages" when the prompt alone is too long, else the parameter that overflowed.
void send_context_error(ResponseStream& res, int64_t max_model_len, int64_t prompt_tokens,
                        int64_t completion_tokens, std::string_view param);

}  // namespace cacheon::engine

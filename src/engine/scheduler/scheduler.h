// Continuous batching on the CPU backend: one engine thread loops over steps; new requests join
// between steps (their prompt is prefilled in chunks), finished ones leave, and every running
// sequence decodes one token per step in a single batched forward. Greedy outputs are identical
// to running each request alone (tests assert it).
//
// Not in scope: text (stop strings, detokenization) — the server owns those and cancels.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/kernels/cpu/cpu_model.h"
#include "engine/sampler/sampler.h"

namespace cacheon::engine {

struct GenerationEvent {
  enum class Kind { token, finished, error };
  Kind kind = Kind::token;
  SampledToken token;            // kind == token
  std::string finish_reason;     // kind == finished: "stop" (EOS / stop id) or "length"
  std::vector<float> prompt_logprobs;  // with finished, when asked: logprob of prompt tokens 1..n-1
  Error error;                   // kind == error
};

struct GenerationRequest {
  std::vector<int32_t> prompt;  // token ids (chat template already applied)
  SamplingParams sampling;
  int64_t max_tokens = 16;
  int64_t min_tokens = 0;
  bool ignore_eos = false;
  std::vector<int32_t> stop_ids;  // EOS-like ids (<|im_end|>, <|endoftext|>)
  bool want_prompt_logprobs = false;
  int64_t max_new_tokens_cap = 0;  // 0: max_model_len - prompt
  // Called on the engine thread, in order; must not block. After `finished` or `error` no more.
  std::function<void(const GenerationEvent&)> on_event;
};

struct SchedulerOptions {
  int64_t max_num_seqs = 16;       // running sequences per step
  int64_t max_queue = 256;         // waiting requests beyond which submit fails ("queue_full")
  int64_t max_model_len = 32768;   // prompt + output bound per sequence
  int64_t prefill_chunk = 512;     // prompt tokens per step per sequence
};

class Scheduler {
 public:
  Scheduler(CpuModel& model, SchedulerOptions options);
  ~Scheduler();  // stops and joins
  void start();
  void stop();   // finishes nothing; pending requests get an error event
  // Errors: "queue_full" (429), "prompt_too_long" (400). Returns the request id.
  Result<uint64_t> submit(GenerationRequest request);
  void cancel(uint64_t id);  // client left or a stop string matched; no further events
  int64_t running() const;
  int64_t waiting() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cacheon::engine

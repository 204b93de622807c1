// Continuous batching on the CPU backend: one engine thread loops over steps; new requests join
// between steps (their prompt is prefilled in chunks), finished ones leave, and every running
// sequence decodes one token per step in a single batched forward. Greedy outputs are identical
// to running each request alone (tests assert it): a prompt is always cut into chunks at the
// same offsets (multiples of prefill_chunk), whatever else shares the step.
//
// Not in scope: text (stop strings, detokenization) — the server owns those and cancels.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/kernels/cpu/cpu_model.h"
#include "engine/sampler/sampler.h"

namespace cacheon::engine {

struct GenerationEvent {
  enum class Kind { token, finished, error };
  Kind kind = Kind::token;
  SampledToken token;         // kind == token
  std::string finish_reason;  // kind == finished: "stop" (EOS / stop id) or "length"
  // With finished, when asked: prompt_logprobs[i] is the logprob of prompt token
  // prompt_logprobs_start + i given every token before it.
  std::vector<float> prompt_logprobs;
  Error error;  // kind == error
};

struct GenerationRequest {
  std::vector<int32_t> prompt;  // token ids (chat template already applied); not empty
  SamplingParams sampling;
  // Generated tokens at most; also cut at max_model_len. 0 is allowed with
  // want_prompt_logprobs: prefill only, then "length" (canonical teacher forcing).
  int64_t max_tokens = 16;
  int64_t min_tokens = 0;  // stop ids are banned (never sampled) before this many tokens
  bool ignore_eos = false;
  std::vector<int32_t> stop_ids;  // EOS-like ids (<|im_end|>, <|endoftext|>)
  // Never sampled (the server bans ids the tokenizer cannot decode: the embedding is often
  // larger than the vocabulary). Logprobs still cover them.
  std::vector<int32_t> banned_ids;
  bool want_prompt_logprobs = false;
  // First prompt position whose logprob is wanted (>= 1): the teacher-forcing scorer only needs
  // the assistant text, and prefill chunks wholly before it skip the all-logits work.
  int64_t prompt_logprobs_start = 1;
  int64_t max_new_tokens_cap = 0;  // 0: max_model_len - prompt
  // Forced decoding: when set, it picks each next token from the raw logits instead of the
  // sampler (the teacher-forcing scorer walks a given text this way); nullopt ends the request
  // with "stop". Called on the engine thread; must be quick. Stop ids still apply to what it
  // returns; min_tokens and the sampling parameters do not.
  std::function<std::optional<SampledToken>(std::span<const float> logits)> choose_token;
  // Called on the engine thread, in order; must not block. After `finished` or `error` no more.
  // It may call cancel() and submit().
  std::function<void(const GenerationEvent&)> on_event;
};

struct SchedulerOptions {
  int64_t max_num_seqs = 16;  // running sequences per step
  // Requests beyond the free batch slots that may wait; more and submit fails ("queue_full").
  int64_t max_queue = 256;
  int64_t max_model_len = 32768;  // prompt + output bound per sequence
  int64_t prefill_chunk = 512;    // prompt tokens per step per sequence
  // Token rows per step: decodes first (one each), then prefill chunks while room is left (at
  // least one chunk per step, so prefill always progresses). Bounds how long one step, and so
  // every running stream's inter-token gap, can get while long prompts arrive.
  int64_t max_step_tokens = 2048;
  // Logits buffer bound for prompt-logprob chunks (rows * vocab floats); such chunks are cut
  // smaller so teacher forcing on a long text does not allocate prompt_len * vocab floats.
  int64_t max_logit_floats = 16 << 20;
};

struct SchedulerStats {
  int64_t steps = 0;
  int64_t decode_tokens = 0;   // tokens sampled
  int64_t prefill_tokens = 0;  // prompt tokens pushed through the model
  int64_t forward_ns = 0;      // time inside CpuModel::forward
};

class Scheduler {
 public:
  Scheduler(CpuModel& model, SchedulerOptions options);
  ~Scheduler();  // stops and joins
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  void start();
  void stop();  // finishes nothing; pending requests get an error event ("engine_stopped")
  // Errors: "queue_full" (429), "prompt_too_long" (400), "invalid_request" (empty prompt, a
  // token id outside the vocabulary, negative bounds), "engine_stopped". Returns the request id.
  Result<uint64_t> submit(GenerationRequest request);
  // Client left or a stop string matched. Once cancel returns, the request gets no further
  // events (also when called from inside its own on_event). Unknown or finished ids: no-op.
  void cancel(uint64_t id);
  int64_t running() const;
  int64_t waiting() const;
  SchedulerStats stats() const;
  const SchedulerOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cacheon::engine

// POST /v1/chat/completions: strict parsing, bounds, the chat template, then a scheduler request
// whose events drive a ChatSession.
#include <fmt/format.h>

#include "core/clock.h"
#include "engine/server/chat_session.h"
#include "engine/server/server_impl.h"
#include "engine/tokenizer/chat_template.h"
#include "openai/chat_request.h"

namespace cacheon::engine {

void EngineServer::Impl::chat(const HttpRequest& req, const std::shared_ptr<ResponseStream>& res) {
  std::string param;
  auto r = openai::parse_chat_request(req.body, &param);
  if (!r) return send_error(*res, 400, r.error().message, param);
  if (!check_model(r->model, *res)) return;
  if (r->messages.size() > opt.max_messages)
    return send_error(*res, 400, fmt::format("at most {} messages are accepted", opt.max_messages),
                      "messages");
  if (r->prompt_logprobs)
    return send_error(*res, 400,
                      "prompt_logprobs is not supported here; use POST /cacheon/v1/text_logprobs",
                      "prompt_logprobs");
  auto ids = encode_chat(*tokenizer, r->messages, r->add_generation_prompt);
  if (!ids) return send_error(*res, 400, ids.error().message, "messages");
  const auto prompt_tokens = int64_t(ids->size());
  if (prompt_tokens == 0)
    return send_error(*res, 400, "the prompt renders to no tokens", "messages");
  // vLLM's rule: the prompt plus max_tokens must fit; without max_tokens, whatever room is left.
  const int64_t room = max_model_len - prompt_tokens;
  const int64_t max_tokens = r->max_tokens.value_or(room);
  if (room <= 0 || max_tokens > room)
    return send_context_error(*res, max_model_len, prompt_tokens, std::max<int64_t>(max_tokens, 1),
                              room <= 0 ? "messages" : "max_tokens");

  GenerationRequest g;
  g.prompt = std::move(*ids);
  g.sampling.temperature = r->temperature;
  g.sampling.top_p = r->top_p;
  if (r->top_k && *r->top_k > 0) g.sampling.top_k = r->top_k;
  if (r->seed) g.sampling.seed = uint64_t(*r->seed);
  g.sampling.top_logprobs = r->logprobs ? r->top_logprobs.value_or(0) : 0;
  g.max_tokens = max_tokens;
  g.min_tokens = std::min(r->min_tokens, max_tokens);
  g.ignore_eos = r->ignore_eos;
  g.stop_ids = stop_ids;
  g.banned_ids = undecodable_ids;

  ChatPlan plan;
  plan.id = new_completion_id();
  plan.created = wall_ms() / 1000;
  plan.stream = r->stream;
  plan.logprobs = r->logprobs;
  plan.include_usage = r->include_usage;
  plan.prompt_tokens = prompt_tokens;
  plan.min_tokens = g.min_tokens;
  plan.stop = std::move(r->stop);
  auto session = ChatSession::create(*this, res, std::move(plan));
  g.on_event = [session](const GenerationEvent& ev) { session->post(ev); };
  auto id = scheduler->submit(std::move(g));
  if (!id) return send_submit_error(*res, id.error());
  // Still on the connection's strand: the events posted by the engine run after this.
  session->begin(*id);
}

}  // namespace cacheon::engine

// POST /cacheon/v1/text_logprobs, the teacher-forcing scorer (docs/architecture.md):
//   {"model", "messages", "text"} -> {"tokens": [...], "token_logprobs": [...]}
// The context is the chat template with the generation prompt ("<|im_start|>assistant\n").
//
// Tokenization of the text is model-guided, not canonical: at each step the scorer takes,
// among the ordinary tokens whose bytes start the rest of the text, the one the model ranks
// highest, and reports its logprob (log-softmax of the raw logits). Why: a model can emit a
// non-canonical split (whitespace runs, words cut differently than BPE would cut them), and
// re-encoding its text canonically then scores tokens the model never chose, some at -40, so an
// honest output fails the gate (seen with the synthetic models: tests/cli/engine_eval.sh).
// Guided, a greedy output is scored on exactly the tokens it was generated with, and the split
// departs from the canonical one only where the model prefers another: the gate judges content,
// not tokenization. A token holding part of a character reaches the client's text as U+FFFD, so
// such tokens also match by that lossy text. Special tokens are never candidates, so text cannot
// smuggle control tokens. Cost: one decode step per token (batched with other requests) instead
// of one prefill.
//
// `"tokenization": "canonical"` in the request gives vLLM's prompt_logprobs semantics instead:
// the text encoded on its own (special-token text unparsed), all scored in one prefill.
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "engine/server/server_impl.h"
#include "engine/tokenizer/chat_template.h"
#include "openai/chat_request.h"

namespace cacheon::engine {
namespace {

using nlohmann::json;

// Walks the text; used on the engine thread only until the request finishes.
class GuidedText {
 public:
  using Index = EngineServer::Impl::ScorerIndex;
  GuidedText(const Tokenizer& tok, const Index& index, std::string text)
      : tok_(tok), index_(index), text_(std::move(text)) {}

  std::optional<SampledToken> next(std::span<const float> logits) {
    if (pos_ >= text_.size()) return std::nullopt;
    const std::string_view rest = std::string_view(text_).substr(pos_);
    const auto first = static_cast<unsigned char>(rest[0]);
    int32_t best = -1;
    size_t best_len = 0;
    // Ties: the lowest id, as greedy sampling breaks them.
    auto consider = [&](int32_t id, std::string_view piece) {
      if (!rest.starts_with(piece)) return;
      const float l = logits[size_t(id)];
      if (best < 0 || l > logits[size_t(best)] || (l == logits[size_t(best)] && id < best)) {
        best = id;
        best_len = piece.size();
      }
    };
    for (int32_t id : index_.by_first_byte[first]) consider(id, tok_.token_bytes(id));
    // A token cut inside a character reaches the client's text as U+FFFD: match it that way.
    for (const auto& [id, lossy] : index_.lossy_by_first_byte[first]) consider(id, lossy);
    if (best < 0) return std::nullopt;  // no token starts with this byte (not byte-level BPE)
    float mx = -INFINITY;
    for (float x : logits) mx = std::max(mx, x);
    double sum = 0;
    for (float x : logits) sum += std::exp(double(x) - double(mx));
    SampledToken t;
    t.id = best;
    t.logprob = float(double(logits[size_t(best)]) - double(mx) - std::log(sum));
    pos_ += best_len;
    tokens_.push_back(tok_.token_text(best));
    logprobs_.push_back(std::isfinite(t.logprob) ? double(t.logprob) : -9999.0);
    return t;
  }

  bool complete() const { return pos_ >= text_.size(); }
  size_t bytes() const { return text_.size(); }
  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::vector<double>& logprobs() const { return logprobs_; }

 private:
  const Tokenizer& tok_;
  const Index& index_;
  std::string text_;
  size_t pos_ = 0;
  std::vector<std::string> tokens_;
  std::vector<double> logprobs_;
};

void send_engine_error(ResponseStream& res, const Error& e) {
  send_error(res, e.code == "engine_stopped" ? 503 : 500, e.message, {}, e.code);
}

void send_scores(ResponseStream& res, const std::vector<std::string>& tokens,
                 const std::vector<double>& logprobs) {
  json j = {{"tokens", tokens}, {"token_logprobs", logprobs}};
  res.send(200, "application/json", j.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Owns the response until the engine answers; counted as in flight for graceful shutdown.
struct ScoreJob {
  ScoreJob(std::atomic<int64_t>& active, std::shared_ptr<ResponseStream> r, GuidedText g)
      : guard(active), res(std::move(r)), guided(std::move(g)) {}
  ActiveGuard guard;
  std::shared_ptr<ResponseStream> res;
  GuidedText guided;
};

}  // namespace

void EngineServer::Impl::text_logprobs(const HttpRequest& req,
                                       const std::shared_ptr<ResponseStream>& res) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    return send_error(*res, 400, "request body is not a JSON object");
  auto text_it = body.find("text");
  if (text_it == body.end() || !text_it->is_string())
    return send_error(*res, 400, "'text' must be a string", "text");
  std::string param;
  auto r = openai::parse_chat_request(req.body, &param);
  if (!r) return send_error(*res, 400, r.error().message, param);
  if (!check_model(r->model, *res)) return;
  if (r->messages.size() > opt.max_messages)
    return send_error(*res, 400, fmt::format("at most {} messages are accepted", opt.max_messages),
                      "messages");
  auto prefix = encode_chat(*tokenizer, r->messages, /*add_generation_prompt=*/true);
  if (!prefix) return send_error(*res, 400, prefix.error().message, "messages");
  std::string mode = "guided";
  if (auto it = body.find("tokenization"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || (*it != "guided" && *it != "canonical"))
      return send_error(*res, 400, "'tokenization' must be \"guided\" or \"canonical\"",
                        "tokenization");
    mode = it->get<std::string>();
  }
  std::string text = text_it->get<std::string>();
  if (text.empty()) return send_json_text(*res, R"({"tokens":[],"token_logprobs":[]})");
  if (mode == "canonical") return score_canonical(res, std::move(*prefix), text);
  const auto n_prefix = int64_t(prefix->size());
  const int64_t room = max_model_len - n_prefix;
  // A token covers at least one byte, so the text's byte count bounds its tokens.
  const int64_t max_tokens = std::min<int64_t>(room, int64_t(text.size()));
  if (max_tokens <= 0) return send_context_error(*res, max_model_len, n_prefix, 1, "messages");

  auto job = std::make_shared<ScoreJob>(active, res,
                                        GuidedText(*tokenizer, scorer_index, std::move(text)));
  GenerationRequest g;
  g.prompt = std::move(*prefix);
  g.sampling.temperature = 0;
  g.max_tokens = max_tokens;
  g.choose_token = [job](std::span<const float> logits) { return job->guided.next(logits); };
  g.on_event = [this, job, n_prefix](const GenerationEvent& ev) {
    if (ev.kind == GenerationEvent::Kind::token) return;
    boost::asio::post(job->res->executor(), [this, job, ev, n_prefix] {
      ResponseStream& out = *job->res;
      if (ev.kind == GenerationEvent::Kind::error) return send_engine_error(out, ev.error);
      const GuidedText& gt = job->guided;
      if (!gt.complete()) {
        return send_context_error(out, max_model_len, n_prefix, int64_t(gt.tokens().size()) + 1,
                                  "text");
      }
      send_scores(out, gt.tokens(), gt.logprobs());
    });
  };
  auto id = scheduler->submit(std::move(g));
  if (!id) return send_submit_error(*res, id.error());
}

void EngineServer::Impl::score_canonical(const std::shared_ptr<ResponseStream>& res,
                                         std::vector<int32_t> prefix, const std::string& text) {
  const std::vector<int32_t> ids = tokenizer->encode(text, /*parse_special=*/false);
  const auto n_prefix = int64_t(prefix.size());
  if (n_prefix + int64_t(ids.size()) > max_model_len)
    return send_context_error(*res, max_model_len, n_prefix, int64_t(ids.size()),
                              n_prefix >= max_model_len ? "messages" : "text");
  auto tokens = std::make_shared<std::vector<std::string>>();
  for (int32_t id : ids) tokens->push_back(tokenizer->token_text(id));
  auto guard = std::make_shared<ActiveGuard>(active);
  GenerationRequest g;
  g.prompt = std::move(prefix);
  g.prompt.insert(g.prompt.end(), ids.begin(), ids.end());
  g.sampling.temperature = 0;
  g.max_tokens = 0;
  g.want_prompt_logprobs = true;
  g.prompt_logprobs_start = n_prefix;
  g.on_event = [res, tokens, guard](const GenerationEvent& ev) {
    if (ev.kind == GenerationEvent::Kind::token) return;
    boost::asio::post(res->executor(), [res, tokens, guard, ev] {
      if (ev.kind == GenerationEvent::Kind::error) return send_engine_error(*res, ev.error);
      std::vector<double> lps;
      for (float lp : ev.prompt_logprobs) lps.push_back(std::isfinite(lp) ? double(lp) : -9999.0);
      send_scores(*res, *tokens, lps);
    });
  };
  auto id = scheduler->submit(std::move(g));
  if (!id) return send_submit_error(*res, id.error());
}

}  // namespace cacheon::engine

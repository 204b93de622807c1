#include "engine/server/chat_session.h"

#include <boost/asio/post.hpp>

#include "engine/server/stop_strings.h"
#include "engine/tokenizer/incremental_decoder.h"
#include "openai/chunk_writer.h"
#include "openai/error.h"

namespace cacheon::engine {
namespace {

// logprobs.content[] entries for a run of tokens; the spans point into `tops`, so both live
// together and are filled in two passes (no reallocation after a span is taken).
struct TokenOuts {
  std::vector<std::vector<openai::TopTokenOut>> tops;
  std::vector<openai::TokenOut> outs;

  void build(const Tokenizer& tok, const std::vector<SampledToken>& tokens) {
    tops.assign(tokens.size(), {});
    outs.clear();
    for (size_t i = 0; i < tokens.size(); ++i)
      for (const auto& [id, lp] : tokens[i].top) tops[i].push_back({tok.token_bytes(id), lp});
    for (size_t i = 0; i < tokens.size(); ++i)
      outs.push_back({tok.token_bytes(tokens[i].id), tokens[i].logprob, tops[i]});
  }
};

class Session final : public ChatSession, public std::enable_shared_from_this<Session> {
 public:
  Session(EngineServer::Impl& srv, std::shared_ptr<ResponseStream> res, ChatPlan plan)
      : srv_(srv),
        guard_(srv.active),
        res_(std::move(res)),
        plan_(std::move(plan)),
        writer_(plan_.id, srv.model_name, plan_.created),
        decoder_(*srv.tokenizer),
        filter_(plan_.stop) {}

  void post(const GenerationEvent& ev) override {
    boost::asio::post(res_->executor(), [self = shared_from_this(), ev] { self->on_event(ev); });
  }

  void begin(uint64_t request_id) override {
    request_id_ = request_id;
    if (!plan_.stream) return;
    res_->start_chunked(200, "text/event-stream",
                        {{"Cache-Control", "no-cache"}, {"X-Request-Id", plan_.id}});
    std::string out;
    writer_.append_role(out);
    emit(std::move(out));
  }

 private:
  void on_event(const GenerationEvent& ev) {
    if (done_) return;
    switch (ev.kind) {
      case GenerationEvent::Kind::token:
        return on_token(ev.token);
      case GenerationEvent::Kind::finished:
        return on_finished(ev.finish_reason);
      case GenerationEvent::Kind::error:
        return on_error(ev.error);
    }
  }

  bool check_stops() const { return n_tokens_ >= plan_.min_tokens; }

  void on_token(const SampledToken& t) {
    ++n_tokens_;
    const std::string piece = decoder_.push(t.id);
    std::string text = filter_.push(piece, check_stops());
    if (plan_.stream) {
      batch_.push_back(t);
    } else {
      all_.push_back(t);
    }
    text_ += text;
    if (filter_.stopped()) {
      srv_.scheduler->cancel(request_id_);
      return finish("stop");
    }
    if (!plan_.stream) return;
    if (text_.empty() && !plan_.logprobs) {
      batch_.clear();  // nothing to say yet; the token still counts in usage
      return;
    }
    std::string out;
    outs_.build(*srv_.tokenizer, batch_);
    writer_.append_content(out, text_, outs_.outs, plan_.logprobs);
    batch_.clear();
    text_.clear();
    emit(std::move(out));
  }

  void on_finished(const std::string& reason) {
    // A character cut by the end of generation is dropped, not sent as U+FFFD (as vLLM does):
    // with logprobs on, every token has already gone out in its own chunk, so that text would
    // be a content event with no token behind it (the harness's structural gate rejects it).
    // The filter's held-back tail (a possible stop-string prefix) is real text and goes out.
    (void)decoder_.flush();
    if (!filter_.stopped()) text_ += filter_.flush(check_stops());
    finish(filter_.stopped() ? "stop" : reason);
  }

  void finish(const std::string& reason) {
    done_ = true;
    const openai::UsageOut usage{plan_.prompt_tokens, n_tokens_};
    if (!plan_.stream) {
      outs_.build(*srv_.tokenizer, all_);
      std::string body;
      openai::append_chat_completion(body, plan_.id, srv_.model_name, plan_.created, text_,
                                     outs_.outs, plan_.logprobs, reason, usage);
      res_->send(200, "application/json", std::move(body));
      return;
    }
    std::string out;
    if (!text_.empty() || (plan_.logprobs && !batch_.empty())) {
      outs_.build(*srv_.tokenizer, batch_);
      writer_.append_content(out, text_, outs_.outs, plan_.logprobs);
    }
    writer_.append_finish(out, reason);
    if (plan_.include_usage) writer_.append_usage(out, usage);
    openai::ChunkWriter::append_done(out);
    ending_ = true;
    emit(std::move(out));
  }

  void on_error(const Error& e) {
    done_ = true;
    const int status = e.code == "engine_stopped" ? 503 : 500;
    const std::string json =
        openai::error_json(openai::error_type_for_status(status), e.message, {}, e.code);
    if (!plan_.stream) return res_->send(status, "application/json", json);
    // Mid-stream there is no status line left to use: an error event, then the end (vLLM too).
    std::string out = "data: " + json + "\n\n";
    openai::ChunkWriter::append_done(out);
    ending_ = true;
    emit(std::move(out));
  }

  void emit(std::string data) {
    if (writing_) {
      pending_ += data;
      return;
    }
    write(std::move(data));
  }

  void write(std::string data) {
    writing_ = true;
    res_->write_chunk(std::move(data),
                      [self = shared_from_this()](bool ok) { self->on_written(ok); });
  }

  void on_written(bool ok) {
    writing_ = false;
    if (!ok) {
      // The client left: stop generating for it.
      if (!done_) srv_.scheduler->cancel(request_id_);
      done_ = true;
      pending_.clear();
      return;
    }
    if (!pending_.empty()) {
      std::string next;
      next.swap(pending_);
      return write(std::move(next));
    }
    if (ending_) {
      ending_ = false;
      res_->end_chunked();
    }
  }

  EngineServer::Impl& srv_;
  ActiveGuard guard_;
  std::shared_ptr<ResponseStream> res_;
  ChatPlan plan_;
  openai::ChunkWriter writer_;
  IncrementalDecoder decoder_;
  StopStringFilter filter_;
  uint64_t request_id_ = 0;
  int64_t n_tokens_ = 0;
  bool done_ = false;
  bool writing_ = false;
  bool ending_ = false;
  std::string text_;                 // stream: released text not yet written; non-stream: all of it
  std::string pending_;              // serialized events waiting for the write in flight
  std::vector<SampledToken> batch_;  // stream: tokens not yet written
  std::vector<SampledToken> all_;    // non-stream: every token
  TokenOuts outs_;
};

}  // namespace

std::shared_ptr<ChatSession> ChatSession::create(EngineServer::Impl& server,
                                                 std::shared_ptr<ResponseStream> res,
                                                 ChatPlan plan) {
  return std::make_shared<Session>(server, std::move(res), std::move(plan));
}

}  // namespace cacheon::engine

#include "harness/stream_recorder.h"

#include <fmt/format.h>

#include "core/clock.h"
#include "openai/error.h"

namespace cacheon::harness {

void StreamRecorder::on_headers(int status) {
  rec_.http_status = status;
  if (status != 200) error_body_.emplace();
}

bool StreamRecorder::on_body(std::string_view data, int64_t arrival_ns) {
  if (error_body_) {  // a non-200 answer: keep a bounded prefix for the message
    if (error_body_->size() < 64 * 1024) error_body_->append(data.substr(0, 64 * 1024));
    return true;
  }
  Status st = sse_.feed(data, arrival_ns, [this](SseEvent&& ev) { on_event(std::move(ev)); });
  if (!st.ok()) set_error(st.error().code, st.error().message);
  return rec_.error_code.empty();
}

void StreamRecorder::on_done(const Status& transport, int64_t end_ns) {
  rec_.done_ns = end_ns;
  if (error_body_) {
    std::string msg = fmt::format("HTTP {}", rec_.http_status);
    if (auto e = openai::parse_error_body(*error_body_)) msg += ": " + e->message;
    set_error("http_error", msg);
    return;
  }
  if (!rec_.error_code.empty()) return;  // a stream-level reason wins over the transport's
  // A server that hangs up right after [DONE] delivered everything; do not fail it on framing.
  if (!transport.ok() && !(rec_.saw_done && transport.error().code == "disconnected"))
    return set_error(transport.error().code, transport.error().message);
  Status st = sse_.finish();
  // A partial trailing event after [DONE] is harmless; before it, the stream was cut.
  if (!st.ok() && !rec_.saw_done) set_error(st.error().code, st.error().message);
}

void StreamRecorder::set_error(std::string code, std::string message) {
  if (!rec_.error_code.empty()) return;
  rec_.error_code = std::move(code);
  rec_.error_message = std::move(message);
}

void StreamRecorder::on_event(SseEvent&& ev) {
  if (!rec_.error_code.empty()) return;
  if (rec_.saw_done) {
    ++rec_.events_after_done;
    return;
  }
  if (ev.event == "error") {
    std::string msg = ev.data.substr(0, 500);
    if (auto e = openai::parse_error_body(ev.data)) msg = e->message;
    return set_error("stream_error_object", "the server sent an error event: " + msg);
  }
  if (ev.data == "[DONE]") {
    rec_.saw_done = true;
    return;
  }
  auto parsed = parser_.parse(ev.data);
  int64_t parsed_ns = mono_ns();
  if (!parsed.ok()) return set_error(parsed.error().code, parsed.error().message);
  openai::ChatChunk& c = *parsed;
  if (rec_.response_id.empty() && !c.id.empty()) rec_.response_id = c.id.substr(0, 256);
  if (c.role) rec_.saw_role = true;
  if (c.usage) {
    rec_.usage_prompt_tokens = c.usage->prompt_tokens;
    rec_.usage_completion_tokens = c.usage->completion_tokens;
  }
  int ntok = static_cast<int>(c.logprobs.size());
  bool carries = ntok > 0 || !c.content.empty();
  if (carries && finished_) {
    rec_.tokens_after_finish += std::max(ntok, 1);
  } else if (carries) {
    int32_t chunk_index = static_cast<int32_t>(rec_.chunks.size());
    rec_.chunks.push_back({ev.arrival_ns, parsed_ns, ntok,
                           static_cast<int32_t>(c.content.size())});
    rec_.content += c.content;
    if (opt_.logprobs && !c.content.empty() && c.logprobs.empty())
      ++rec_.content_events_without_logprobs;
    for (auto& lp : c.logprobs) {
      TokenRecord t;
      t.token = std::move(lp.token);
      t.bytes = std::move(lp.bytes);
      t.logprob = lp.logprob;
      t.top.reserve(lp.top_logprobs.size());
      for (auto& tl : lp.top_logprobs) t.top.push_back({std::move(tl.token), tl.logprob});
      t.arrival_ns = ev.arrival_ns;
      t.chunk_index = chunk_index;
      rec_.tokens.push_back(std::move(t));
    }
    bool is_first = opt_.logprobs ? ntok > 0 : !c.content.empty();
    if (is_first && rec_.first_token_ns < 0) rec_.first_token_ns = ev.arrival_ns;
    if (static_cast<int>(rec_.tokens.size()) > rec_.max_tokens_requested + opt_.overrun_tokens)
      return set_error("stream_overrun",
                       fmt::format("the server kept streaming past max_tokens ({} tokens)",
                                   rec_.tokens.size()));
  }
  if (c.finish_reason) {
    rec_.finish_reason = *c.finish_reason;
    finished_ = true;
  }
}

}  // namespace cacheon::harness

// The streaming answer: HTTP and SSE framing, chunk envelopes, the role/content/finish/usage/
// [DONE] sequence, then the checks shared with the non-stream answer.
#include <fmt/format.h>

#include "conformance/analysis.h"
#include "conformance/generation_checks.h"
#include "openai/chat_chunk.h"
#include "openai/chunk_writer.h"

namespace cacheon::conformance {

using nlohmann::json;

namespace {

const std::vector<std::string> kDependents = {
    "stream.role",    "stream.finish_reason", "stream.done",  "stream.logprobs",
    "stream.greedy",  "stream.max_tokens",    "stream.usage", "stream.text"};

void skip_rest(Analysis& a, const std::string& why) {
  for (const auto& id : kDependents) a.results.push_back(CheckResult::skip(id, why));
}

// What the sequence of events looked like, gathered in one pass.
struct Walk {
  std::optional<CheckResult> chunk_failure;  // the first envelope/JSON problem
  std::optional<std::string> first_role;     // delta.role of the first choice chunk
  bool saw_choice = false;
  int finish_count = 0;
  int finish_event = -1;
  bool content_after_finish = false;
  int done_event = -1;
  int events_after_done = 0;
  std::optional<std::string> logprobs_failure;
  Generation gen;
};

// Where a payload stops being a JSON object: the parser's message and the payload's end.
std::string json_problem(std::string_view data) {
  std::string why = "not a JSON object";
  try {
    json parsed = json::parse(data);
    if (parsed.is_object()) return "a JSON object";
  } catch (const json::exception& e) {
    why = e.what();
  }
  const size_t tail = data.size() > 60 ? data.size() - 60 : 0;
  return fmt::format("{}; payload ends '{}'", printable(why, 120), printable(data.substr(tail)));
}

CheckResult chunk_fail(std::string code, int event, std::string seen, std::string fix) {
  return CheckResult::fail("stream.chunks", std::move(code),
                           "every data: payload is a chat.completion.chunk JSON object (id, "
                           "object, created, model, choices)",
                           fmt::format("event {}: {}", event, std::move(seen)), std::move(fix));
}

// One data payload (not [DONE]); returns false when the walk cannot go on with it.
bool walk_chunk(Walk& w, const SseEvent& ev, int i, const Expect& x, openai::ChunkParser& parser,
                std::string& stream_id) {
  if (!ev.event.empty() && ev.event != "message") {
    w.chunk_failure = chunk_fail(ev.event == "error" ? "chunk_error_event" : "chunk_event_type",
                                 i, fmt::format("'event: {}' data {}", printable(ev.event, 40),
                                                printable(ev.data, 120)),
                                 "send only unnamed data: events; report errors before the "
                                 "stream starts as an HTTP error status with an error object");
    return false;
  }
  if (!openai::is_valid_utf8(ev.data)) {
    w.chunk_failure = chunk_fail("chunk_invalid_utf8", i, printable(ev.data, 120),
                                 "send UTF-8 JSON only; raw token bytes belong in logprobs "
                                 "'bytes', never in strings");
    return false;
  }
  json j = json::parse(ev.data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    w.chunk_failure = chunk_fail("chunk_not_json", i, json_problem(ev.data),
                                 "send one complete JSON object per data: line");
    return false;
  }
  if (j.contains("error")) {
    w.chunk_failure = chunk_fail("chunk_error_event", i, printable(ev.data, 160),
                                 "finish the stream normally; report errors before the stream "
                                 "starts as an HTTP error status with an error object");
    return false;
  }
  auto envelope = [&]() -> std::optional<std::string> {
    if (!j.contains("id") || !j["id"].is_string() || j["id"].get<std::string>().empty())
      return "'id' is missing or not a non-empty string";
    if (j.value("object", json()) != "chat.completion.chunk")
      return "'object' is not \"chat.completion.chunk\"";
    if (!j.contains("created") || !j["created"].is_number_integer())
      return "'created' is missing or not an integer";
    if (!j.contains("model") || !j["model"].is_string()) return "'model' is missing";
    if (!j.contains("choices") || !j["choices"].is_array()) return "'choices' is not an array";
    if (stream_id.empty()) stream_id = j["id"].get<std::string>();
    if (j["id"] != stream_id) return "'id' changes within the stream";
    if (!j["choices"].empty()) {
      const json& c = j["choices"][0];
      if (!c.is_object() || c.value("index", json()) != 0)
        return "choices[0] is not an object with index 0";
      if (!c.contains("delta") || !c["delta"].is_object()) return "choices[0].delta is missing";
      const json& d = c["delta"];
      if (d.contains("content") && !d["content"].is_null() && !d["content"].is_string())
        return "delta.content is not a string";
      if (d.contains("role") && !d["role"].is_null() && !d["role"].is_string())
        return "delta.role is not a string";
      if (c.contains("finish_reason") && !c["finish_reason"].is_null() &&
          !c["finish_reason"].is_string())
        return "finish_reason is not a string or null";
    }
    if (j.contains("usage") && !j["usage"].is_null()) {
      for (const char* k : {"prompt_tokens", "completion_tokens", "total_tokens"})
        if (!j["usage"].contains(k) || !j["usage"][k].is_number_integer())
          return fmt::format("usage.{} is missing or not an integer", k);
    }
    return std::nullopt;
  }();
  if (envelope) {
    w.chunk_failure = chunk_fail("chunk_fields", i, *envelope,
                                 "follow the OpenAI chat.completion.chunk schema");
    return false;
  }
  // The harness's own parser must read it too (it is what the validator runs).
  if (auto parsed = parser.parse(ev.data); !parsed.ok()) {
    w.chunk_failure = chunk_fail("chunk_fields", i, "the harness cannot parse it: " +
                                                        parsed.error().message,
                                 "follow the OpenAI chat.completion.chunk schema");
    return false;
  }
  if (j.contains("usage") && !j["usage"].is_null())
    w.gen.usage = UsageSeen{j["usage"]["prompt_tokens"].get<int64_t>(),
                            j["usage"]["completion_tokens"].get<int64_t>(),
                            j["usage"]["total_tokens"].get<int64_t>()};
  if (j["choices"].empty()) return true;
  const json& c = j["choices"][0];
  const json& d = c["delta"];
  if (!w.saw_choice) {
    w.saw_choice = true;
    w.first_role = d.contains("role") && d["role"].is_string() ? d["role"].get<std::string>()
                                                               : std::string("(none)");
  }
  const std::string content = d.contains("content") && d["content"].is_string()
                                  ? d["content"].get<std::string>() : std::string();
  const json lp = c.value("logprobs", json());
  const bool has_entries = lp.is_object() && lp.contains("content") &&
                           lp["content"].is_array() && !lp["content"].empty();
  if (w.finish_count > 0 && (!content.empty() || has_entries)) w.content_after_finish = true;
  w.gen.text += content;
  if (x.top_logprobs >= 0 && !w.logprobs_failure) {
    if (!content.empty() && !has_entries)
      w.logprobs_failure = fmt::format("event {}: content '{}' without logprobs.content entries",
                                       i, printable(content, 40));
    else if (has_entries)
      if (auto err = parse_logprob_entries(lp["content"], x.top_logprobs, w.gen.tokens))
        w.logprobs_failure = fmt::format("event {}: {}", i, *err);
  }
  if (c.contains("finish_reason") && c["finish_reason"].is_string()) {
    ++w.finish_count;
    w.finish_event = i;
    w.gen.finish_reason = c["finish_reason"].get<std::string>();
  }
  return true;
}

}  // namespace

Analysis analyze_stream(const StreamCapture& cap, const Expect& x) {
  Analysis a;
  // HTTP status and media type.
  if (cap.status != 200) {
    a.results.push_back(CheckResult::fail(
        "stream.http", "stream_status", "HTTP 200 with Content-Type text/event-stream",
        cap.status == 0 ? "no HTTP answer: " + describe(cap.transport)
                        : fmt::format("HTTP {}: {}", cap.status, printable(cap.error_body, 120)),
        "answer stream: true requests with HTTP 200 and an SSE body"));
    a.results.push_back(CheckResult::skip("stream.transport", "no stream (stream.http failed)"));
    a.results.push_back(CheckResult::skip("stream.chunks", "no stream (stream.http failed)"));
    skip_rest(a, "no stream (stream.http failed)");
    return a;
  }
  if (cap.content_type.find("text/event-stream") == std::string::npos) {
    a.results.push_back(CheckResult::fail(
        "stream.http", "stream_content_type", "Content-Type: text/event-stream",
        "Content-Type: " + printable(cap.content_type, 80),
        "send streaming answers with Content-Type: text/event-stream"));
  } else {
    a.results.push_back(CheckResult::pass("stream.http"));
  }
  // Transport and SSE framing.
  std::optional<CheckResult> transport;
  if (cap.overrun) {
    transport = CheckResult::fail(
        "stream.transport", "stream_overrun",
        fmt::format("the stream ends after at most max_tokens = {} tokens", x.max_tokens),
        fmt::format("more than {} events, still going", cap.events.size() - 1),
        "stop at max_tokens, send finish_reason, usage and data: [DONE], then end the body");
  } else if (!cap.sse.ok() && cap.sse.error().code != "sse_truncated") {
    transport = CheckResult::fail("stream.transport", "stream_sse_invalid",
                                  "well-formed Server-Sent Events within 1 MiB per line",
                                  describe(cap.sse),
                                  "frame every chunk as one 'data: {json}' line and a blank line");
  } else if (!cap.transport.ok()) {
    const std::string& c = cap.transport.error().code;
    const bool timeout = c.rfind("timeout", 0) == 0;
    transport = CheckResult::fail(
        "stream.transport", timeout ? "stream_timeout" : "stream_disconnected",
        "the stream runs to its end (data: [DONE]) and the body terminates",
        describe(cap.transport) + fmt::format(" after {} events", cap.events.size()),
        timeout ? "keep sending: never stall a stream; end the body after data: [DONE]"
                : "do not close the connection mid-stream; finish the chunked body");
  } else if (!cap.sse.ok()) {
    transport = CheckResult::fail("stream.transport", "stream_sse_invalid",
                                  "the body ends with a complete event (a blank line)",
                                  describe(cap.sse), "end every event with a blank line");
  }
  if (transport) {
    a.results.push_back(*transport);
    a.results.push_back(CheckResult::skip("stream.chunks", "the stream did not complete"));
    skip_rest(a, "the stream did not complete (stream.transport)");
    return a;
  }
  a.results.push_back(CheckResult::pass("stream.transport"));

  Walk w;
  openai::ChunkParser parser;
  std::string stream_id;
  for (size_t i = 0; i < cap.events.size(); ++i) {
    const SseEvent& ev = cap.events[i];
    if (w.done_event >= 0) {
      ++w.events_after_done;
      continue;
    }
    if (ev.data == "[DONE]" && (ev.event.empty() || ev.event == "message")) {
      w.done_event = int(i);
      continue;
    }
    if (!walk_chunk(w, ev, int(i), x, parser, stream_id)) break;
  }
  if (w.chunk_failure) {
    a.results.push_back(*w.chunk_failure);
    skip_rest(a, "a chunk could not be read (stream.chunks)");
    return a;
  }
  a.results.push_back(CheckResult::pass("stream.chunks",
                                        fmt::format("{} events", cap.events.size())));

  if (!w.saw_choice || w.first_role != "assistant")
    a.results.push_back(CheckResult::fail(
        "stream.role", "stream_role_missing", "the first chunk's delta has role \"assistant\"",
        w.saw_choice ? "role " + printable(*w.first_role, 40) : "no choice chunk at all",
        "send {\"delta\":{\"role\":\"assistant\",\"content\":\"\"}} as the first chunk"));
  else
    a.results.push_back(CheckResult::pass("stream.role"));

  const std::string fr = w.gen.finish_reason.value_or("");
  if (w.finish_count == 0)
    a.results.push_back(CheckResult::fail(
        "stream.finish_reason", "finish_reason_missing",
        "one chunk with finish_reason \"stop\" or \"length\"", "no finish_reason",
        "send a final choice chunk with finish_reason after the last content"));
  else if (w.finish_count > 1 || (fr != "stop" && fr != "length"))
    a.results.push_back(CheckResult::fail(
        "stream.finish_reason", "finish_reason_value",
        "exactly one finish_reason, \"stop\" or \"length\"",
        fmt::format("{} finish_reason(s), last {}", w.finish_count, printable(fr, 40)),
        "send finish_reason once, \"length\" at max_tokens, \"stop\" at EOS or a stop string"));
  else if (w.content_after_finish)
    a.results.push_back(CheckResult::fail(
        "stream.finish_reason", "content_after_finish", "no content after the finish_reason",
        fmt::format("content after the finish_reason in event {}", w.finish_event),
        "send finish_reason with or after the last content delta"));
  else
    a.results.push_back(CheckResult::pass("stream.finish_reason", fr));

  if (w.done_event < 0)
    a.results.push_back(CheckResult::fail("stream.done", "stream_no_done",
                                          "the last event is data: [DONE]", "no data: [DONE]",
                                          "end every stream with 'data: [DONE]' and a blank line"));
  else if (w.events_after_done > 0)
    a.results.push_back(CheckResult::fail(
        "stream.done", "stream_after_done", "nothing after data: [DONE]",
        fmt::format("{} event(s) after data: [DONE]", w.events_after_done),
        "send data: [DONE] last, then end the body"));
  else
    a.results.push_back(CheckResult::pass("stream.done"));

  if (w.logprobs_failure) {
    const bool missing = w.logprobs_failure->find("without logprobs") != std::string::npos;
    a.results.push_back(CheckResult::fail(
        "stream.logprobs", missing ? "logprobs_missing" : "logprobs_shape",
        fmt::format("with logprobs: true, top_logprobs: {}, every content delta carries "
                    "logprobs.content[] with one entry per token (token, logprob, bytes, "
                    "top_logprobs of {} entries)",
                    x.top_logprobs, x.top_logprobs),
        *w.logprobs_failure,
        missing ? "attach logprobs.content[] to every delta that carries generated tokens"
                : "follow the OpenAI logprobs schema: {token, logprob, bytes:[ints], "
                  "top_logprobs:[{token, logprob, bytes}] sorted by logprob}"));
    for (const char* id : {"stream.greedy", "stream.max_tokens", "stream.usage", "stream.text"})
      a.results.push_back(CheckResult::skip(id, "tokens cannot be counted (stream.logprobs)"));
    return a;
  }
  a.results.push_back(CheckResult::pass("stream.logprobs",
                                        fmt::format("{} tokens", w.gen.tokens.size())));
  for (auto& r : generation_checks("stream", w.gen, x, x.include_usage))
    a.results.push_back(std::move(r));
  a.generation = std::move(w.gen);
  a.generation.complete = true;  // every token was read, whatever the later checks said
  return a;
}

}  // namespace cacheon::conformance

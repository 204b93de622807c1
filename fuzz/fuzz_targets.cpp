// Fuzz target bodies; see fuzz_targets.h for what each covers and fuzz/README.md for the input
// layouts. Invariants are checked with CACHEON_ASSERT (kept on in every build type).
#include "fuzz_targets.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/http_client.h"
#include "core/sse.h"
#include "harness/corpus.h"
#include "harness/runner.h"
#include "harness/stream_recorder.h"
#include "openai/chat_chunk.h"
#include "openai/chat_request.h"
#include "openai/error.h"

namespace cacheon::fuzz {
namespace {

std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Read boundaries (end offsets, last == size) from a seed: mode 0 cuts at every byte, the others
// cut at pseudo-random lengths of at most 3, 64 or 4096 bytes.
std::vector<size_t> cuts(size_t size, uint32_t seed) {
  static constexpr size_t kMax[] = {1, 3, 64, 4096};
  const size_t max = kMax[seed & 3];
  uint32_t x = seed * 2654435761u + 1;
  std::vector<size_t> out;
  for (size_t pos = 0; pos < size;) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    pos = std::min(size, pos + 1 + x % max);
    out.push_back(pos);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SSE

SseOptions sse_options(uint8_t selector) {
  switch (selector & 3) {
    case 0: return {};  // production bounds (never reached within -max_len)
    case 1: return {64, 128};
    case 2: return {8, 16};
    default: return {4096, 64};
  }
}

struct SseOutcome {
  std::vector<SseEvent> events;
  std::string error;   // feed error code, "" if none
  std::string finish;  // finish() code, "ok" on success
  int64_t comments = 0;
  int64_t bytes_seen = 0;
};

SseOutcome run_sse(const SseOptions& opt, std::string_view in, const std::vector<size_t>& ends) {
  // Capacity slack: libstdc++ rounds a growth step up to twice the old capacity (assign() of the
  // event type or id) and never shrinks below the small-string buffer.
  const size_t bound = 2 * (opt.max_line_bytes + 3 * opt.max_event_bytes) + 4 * 32;
  SseReader r(opt);
  SseOutcome o;
  size_t pos = 0;
  int64_t read_no = 0;
  for (size_t end : ends) {
    ++read_no;
    const int64_t now = read_no;
    Status s = r.feed(in.substr(pos, end - pos), now, [&](SseEvent&& e) {
      CACHEON_ASSERT(e.arrival_ns == now);
      CACHEON_ASSERT(e.first_byte_ns >= 1 && e.first_byte_ns <= e.arrival_ns);
      CACHEON_ASSERT(e.event.size() + e.data.size() + e.id.size() <= opt.max_event_bytes);
      o.events.push_back(std::move(e));
    });
    pos = end;
    CACHEON_ASSERT(r.buffered_bytes() <= bound);
    if (!s.ok()) {
      o.error = s.error().code;
      CACHEON_ASSERT(r.buffered_bytes() < 256);  // released on error
      Status again = r.feed("\n\ndata: x\n\n", now, [](SseEvent&&) { CACHEON_ASSERT(false); });
      CACHEON_ASSERT(!again.ok() && again.error().code == o.error);  // sticky
      break;
    }
  }
  Status f = r.finish();
  o.finish = f.ok() ? "ok" : f.error().code;
  o.comments = r.comments();
  o.bytes_seen = r.bytes_seen();
  CACHEON_ASSERT(r.events() == int64_t(o.events.size()));
  Status late = r.feed("data: x\n\n", 0, [](SseEvent&&) { CACHEON_ASSERT(false); });
  CACHEON_ASSERT(!late.ok());
  return o;
}

// The slow, obvious reading of the WHATWG event-stream rules, without bounds: the oracle for
// SseReader on inputs within its bounds.
SseOutcome reference_sse(std::string_view in) {
  if (in.substr(0, 3) == "\xEF\xBB\xBF") in.remove_prefix(3);
  SseOutcome o;
  std::string event, data, id;
  bool has_data = false, open = false;
  size_t pos = 0;
  while (true) {
    const size_t eol = in.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) break;
    const std::string_view line = in.substr(pos, eol - pos);
    pos = eol + (in.substr(eol, 2) == "\r\n" ? 2 : 1);
    if (line.empty()) {
      if (has_data) o.events.push_back(SseEvent{event, data, id});
      event.clear();
      data.clear();
      has_data = open = false;
    } else if (line[0] == ':') {
      ++o.comments;
    } else {
      open = true;
      const size_t colon = line.find(':');
      const std::string_view field = line.substr(0, colon);
      std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
      if (value.substr(0, 1) == " ") value.remove_prefix(1);
      if (field == "data") {
        if (has_data) data += '\n';
        data += value;
        has_data = true;
      } else if (field == "event") {
        event = value;
      } else if (field == "id" && value.find('\0') == std::string_view::npos) {
        id = value;
      }
    }
  }
  o.finish = pos < in.size() || open ? "sse_truncated" : "ok";
  return o;
}

// ---------------------------------------------------------------------------------------------
// Chat chunks

bool same_logprobs(const std::vector<openai::TokenLogprob>& a,
                   const std::vector<openai::TokenLogprob>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].token != b[i].token || a[i].logprob != b[i].logprob || a[i].bytes != b[i].bytes ||
        a[i].top_logprobs.size() != b[i].top_logprobs.size()) {
      return false;
    }
    for (size_t k = 0; k < a[i].top_logprobs.size(); ++k) {
      if (a[i].top_logprobs[k].token != b[i].top_logprobs[k].token ||
          a[i].top_logprobs[k].logprob != b[i].top_logprobs[k].logprob) {
        return false;
      }
    }
  }
  return true;
}

bool same_usage(const std::optional<openai::Usage>& a, const std::optional<openai::Usage>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->prompt_tokens == b->prompt_tokens &&
                a->completion_tokens == b->completion_tokens &&
                a->total_tokens == b->total_tokens);
}

bool same_chunk(const Result<openai::ChatChunk>& a, const Result<openai::ChatChunk>& b) {
  if (a.ok() != b.ok()) return false;
  if (!a.ok()) {
    return a.error().code == b.error().code && a.error().message == b.error().message;
  }
  return a->id == b->id && a->model == b->model && a->has_choice == b->has_choice &&
         a->role == b->role && a->content == b->content && a->has_content == b->has_content &&
         a->has_logprobs == b->has_logprobs && same_logprobs(a->logprobs, b->logprobs) &&
         a->finish_reason == b->finish_reason && same_usage(a->usage, b->usage);
}

// What holds for any accepted chunk. Strings are unescaped out of the payload, so none can be
// longer than it.
void check_chunk(const Result<openai::ChatChunk>& r, std::string_view payload) {
  if (!r.ok()) {
    const std::string& c = r.error().code;
    CACHEON_ASSERT(c == "stream_malformed_json" || c == "stream_invalid_utf8" ||
                   c == "stream_error_object");
    if (c == "stream_invalid_utf8") {
      CACHEON_ASSERT(!simdjson::validate_utf8(payload.data(), payload.size()));
    }
    return;
  }
  const openai::ChatChunk& c = *r;
  const size_t n = payload.size();
  CACHEON_ASSERT(simdjson::validate_utf8(payload.data(), n));
  CACHEON_ASSERT(c.id.size() <= n && c.model.size() <= n && c.content.size() <= n);
  CACHEON_ASSERT(c.has_content || c.content.empty());
  CACHEON_ASSERT(c.has_logprobs || c.logprobs.empty());
  CACHEON_ASSERT(c.has_choice || (!c.role && !c.has_content && !c.has_logprobs &&
                                  !c.finish_reason));
  CACHEON_ASSERT(!c.usage || (c.usage->prompt_tokens >= 0 && c.usage->completion_tokens >= 0 &&
                              c.usage->total_tokens >= 0));
  for (const auto& lp : c.logprobs) {
    CACHEON_ASSERT(std::isfinite(lp.logprob) && lp.token.size() <= n);
    CACHEON_ASSERT(!lp.bytes || lp.bytes->size() <= n);
    for (const auto& t : lp.top_logprobs) CACHEON_ASSERT(std::isfinite(t.logprob));
  }
}

// ---------------------------------------------------------------------------------------------
// Chat requests

void check_request(const openai::ChatRequest& r) {
  CACHEON_ASSERT(!r.messages.empty());
  for (const auto& m : r.messages) {
    CACHEON_ASSERT(m.role == "system" || m.role == "developer" || m.role == "user" ||
                   m.role == "assistant");
  }
  CACHEON_ASSERT(!r.max_tokens ||
                 (*r.max_tokens >= 1 && *r.max_tokens <= openai::ChatRequest::kMaxTokensLimit));
  CACHEON_ASSERT(r.temperature >= 0 && r.temperature <= 2);
  CACHEON_ASSERT(!r.top_p || (*r.top_p > 0 && *r.top_p <= 1));
  CACHEON_ASSERT(!r.top_k || *r.top_k >= -1);
  CACHEON_ASSERT(r.stop.size() <= openai::ChatRequest::kMaxStop);
  for (const auto& s : r.stop) CACHEON_ASSERT(!s.empty());
  CACHEON_ASSERT(!r.top_logprobs || (r.logprobs && *r.top_logprobs >= 0 &&
                                     *r.top_logprobs <= openai::ChatRequest::kMaxTopLogprobs));
  CACHEON_ASSERT(!r.include_usage || r.stream);
  CACHEON_ASSERT(r.min_tokens >= 0 && (!r.max_tokens || r.min_tokens <= *r.max_tokens));
  CACHEON_ASSERT(r.n == 1);
  CACHEON_ASSERT(!r.prompt_logprobs ||
                 (*r.prompt_logprobs >= 0 &&
                  *r.prompt_logprobs <= openai::ChatRequest::kMaxTopLogprobs));
}

bool same_request(const openai::ChatRequest& a, const openai::ChatRequest& b) {
  if (a.messages.size() != b.messages.size()) return false;
  for (size_t i = 0; i < a.messages.size(); ++i) {
    if (a.messages[i].role != b.messages[i].role ||
        a.messages[i].content != b.messages[i].content) {
      return false;
    }
  }
  return a.model == b.model && a.stream == b.stream && a.max_tokens == b.max_tokens &&
         a.temperature == b.temperature && a.top_p == b.top_p && a.top_k == b.top_k &&
         a.seed == b.seed && a.stop == b.stop && a.logprobs == b.logprobs &&
         a.top_logprobs == b.top_logprobs && a.include_usage == b.include_usage &&
         a.ignore_eos == b.ignore_eos && a.min_tokens == b.min_tokens && a.n == b.n &&
         a.add_generation_prompt == b.add_generation_prompt &&
         a.prompt_logprobs == b.prompt_logprobs;
}

// ---------------------------------------------------------------------------------------------
// Stream recorder

void check_record(const harness::RequestRecord& rec, const harness::RunOptions& opt) {
  int64_t tokens = 0, content = 0, last_arrival = -1;
  for (const auto& ch : rec.chunks) {
    CACHEON_ASSERT(ch.tokens >= 0 && ch.content_bytes >= 0);
    CACHEON_ASSERT(ch.arrival_ns >= last_arrival);
    last_arrival = ch.arrival_ns;
    tokens += ch.tokens;
    content += ch.content_bytes;
  }
  CACHEON_ASSERT(tokens == int64_t(rec.tokens.size()));
  CACHEON_ASSERT(content == int64_t(rec.content.size()));
  int32_t last_chunk = 0;
  for (const auto& t : rec.tokens) {
    CACHEON_ASSERT(t.chunk_index >= last_chunk && size_t(t.chunk_index) < rec.chunks.size());
    CACHEON_ASSERT(t.arrival_ns == rec.chunks[size_t(t.chunk_index)].arrival_ns);
    last_chunk = t.chunk_index;
  }
  const bool first = opt.logprobs ? !rec.tokens.empty() : !rec.content.empty();
  CACHEON_ASSERT(first == (rec.first_token_ns >= 0));
  // The overrun cut: at most the last chunk's tokens beyond max_tokens + overrun_tokens.
  if (!rec.chunks.empty()) {
    CACHEON_ASSERT(tokens - rec.chunks.back().tokens <=
                   int64_t(rec.max_tokens_requested) + opt.overrun_tokens);
  }
  CACHEON_ASSERT(rec.events_after_done >= 0 && rec.tokens_after_finish >= 0);
  CACHEON_ASSERT(!rec.saw_done || rec.events_after_done >= 0);
  CACHEON_ASSERT(rec.http_status == 200 || (rec.error_code == "http_error" && rec.chunks.empty()));
}

// ---------------------------------------------------------------------------------------------
// Corpus

std::vector<harness::CorpusDocument> split_documents(std::string_view s, bool crlf) {
  std::vector<harness::CorpusDocument> docs;
  size_t pos = 0;
  while (true) {
    const size_t sep = std::min(s.find('\xFF', pos), s.size());
    harness::CorpusDocument d{"doc" + std::to_string(docs.size()), ""};
    for (char c : s.substr(pos, sep - pos)) {
      if (crlf && c == '\n') d.text.push_back('\r');
      d.text.push_back(c);
    }
    docs.push_back(std::move(d));
    if (sep == s.size()) break;
    pos = sep + 1;
  }
  return docs;
}

}  // namespace

void fuzz_sse(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const SseOptions opt = sse_options(data[0]);
  const std::string_view in = as_view(data + 1, size - 1);
  const SseOutcome whole = run_sse(opt, in, {in.size()});
  const SseOutcome split = run_sse(opt, in, cuts(in.size(), data[0] >> 2));
  CACHEON_ASSERT(whole.events.size() == split.events.size());
  for (size_t i = 0; i < whole.events.size(); ++i) {
    CACHEON_ASSERT(whole.events[i].event == split.events[i].event);
    CACHEON_ASSERT(whole.events[i].data == split.events[i].data);
    CACHEON_ASSERT(whole.events[i].id == split.events[i].id);
  }
  CACHEON_ASSERT(whole.error == split.error && whole.finish == split.finish);
  if (whole.error.empty()) {
    CACHEON_ASSERT(whole.comments == split.comments);
    CACHEON_ASSERT(whole.bytes_seen == int64_t(in.size()) && split.bytes_seen == whole.bytes_seen);
    const SseOutcome ref = reference_sse(in);
    CACHEON_ASSERT(ref.events.size() == whole.events.size());
    for (size_t i = 0; i < ref.events.size(); ++i) {
      CACHEON_ASSERT(ref.events[i].event == whole.events[i].event);
      CACHEON_ASSERT(ref.events[i].data == whole.events[i].data);
      CACHEON_ASSERT(ref.events[i].id == whole.events[i].id);
    }
    CACHEON_ASSERT(ref.finish == whole.finish && ref.comments == whole.comments);
  }
}

void fuzz_chunk(const uint8_t* data, size_t size) {
  const std::string_view s = as_view(data, size);
  openai::ChunkParser parser;
  const auto delta = parser.parse(s);
  check_chunk(delta, s);
  const auto message = parser.parse_completion(s);
  check_chunk(message, s);
  // The two shapes differ only under choices[0].delta / .message.
  if (delta.ok() && message.ok()) {
    CACHEON_ASSERT(delta->id == message->id && delta->model == message->model);
    CACHEON_ASSERT(delta->has_choice == message->has_choice);
    CACHEON_ASSERT(same_usage(delta->usage, message->usage));
  } else if (!delta.ok() && delta.error().code != "stream_malformed_json") {
    CACHEON_ASSERT(same_chunk(delta, message));
  }
  // The parser reuses its padded buffer: a shorter payload in between must not leak into a
  // longer one parsed again.
  (void)parser.parse(s.substr(0, s.size() / 2));
  CACHEON_ASSERT(same_chunk(delta, parser.parse(s)));
  if (auto e = openai::parse_error_body(s)) {
    CACHEON_ASSERT(e->message.size() <= s.size() * 2 + 32);  // numbers re-dumped, never unbounded
  }
}

void fuzz_chat_request(const uint8_t* data, size_t size) {
  const std::string_view s = as_view(data, size);
  std::string param = "stale";
  const auto r = openai::parse_chat_request(s, &param);
  if (!r.ok()) {
    CACHEON_ASSERT(r.error().code == "invalid_request" && !r.error().message.empty());
    return;
  }
  CACHEON_ASSERT(param.empty());
  check_request(*r);
  const std::string json = openai::to_json(*r);
  const auto again = openai::parse_chat_request(json);
  CACHEON_ASSERT(again.ok());
  CACHEON_ASSERT(same_request(*r, *again));
}

void fuzz_stream_recorder(const uint8_t* data, size_t size) {
  if (size < 2) return;
  const uint8_t c0 = data[0], c1 = data[1];
  const std::string_view body = as_view(data + 2, size - 2);
  harness::RunOptions opt;
  opt.logprobs = (c0 & 0x08) != 0;
  opt.overrun_tokens = 4;
  opt.sse = SseOptions{8192, 16384};
  harness::RequestRecord rec;
  rec.max_tokens_requested = 1 + (c1 & 15);
  openai::ChunkParser parser;
  harness::StreamRecorder recorder(rec, opt, parser);
  recorder.on_headers((c0 & 7) == 7 ? 500 : 200);
  int64_t now = 0;
  size_t pos = 0;
  for (size_t end : cuts(body.size(), c1 >> 4)) {
    const bool more = recorder.on_body(body.substr(pos, end - pos), ++now);
    pos = end;
    if (!more) {
      CACHEON_ASSERT(!rec.error_code.empty());
      break;
    }
  }
  Status transport;
  switch ((c0 >> 4) & 3) {
    case 2: transport = Error{"disconnected", "the server closed the connection"}; break;
    case 3: transport = Error{"timeout_read", "the server went silent"}; break;
    default: break;
  }
  recorder.on_done(transport, now + 1);
  CACHEON_ASSERT(rec.done_ns == now + 1);
  check_record(rec, opt);
}

void fuzz_corpus(const uint8_t* data, size_t size) {
  const std::string_view s = as_view(data, size);
  // valid_utf8 against an independent validator, and its reported offset.
  size_t bad = s.size() + 1;
  const bool ok = harness::valid_utf8(s, &bad);
  CACHEON_ASSERT(ok == simdjson::validate_utf8(s.data(), s.size()));
  if (!ok) {
    CACHEON_ASSERT(bad < s.size());
    CACHEON_ASSERT(harness::valid_utf8(s.substr(0, bad)));
    CACHEON_ASSERT(!harness::valid_utf8(s.substr(bad)));
  }
  // from_documents; the same text with CRLF line endings must load identically.
  const harness::CorpusLimits limits{4096, 8192, 8};
  const auto c = harness::Corpus::from_documents(split_documents(s, false), "fuzz", limits);
  if (c.ok()) {
    size_t total = 0;
    for (const auto& d : c->documents()) {
      CACHEON_ASSERT(!d.text.empty() && d.text.size() <= limits.max_document_bytes);
      CACHEON_ASSERT(harness::valid_utf8(d.text));
      total += d.text.size();
    }
    CACHEON_ASSERT(total == c->total_bytes() && total <= limits.max_total_bytes);
    CACHEON_ASSERT(c->documents().size() <= limits.max_documents && c->id().size() == 64);
  }
  if (s.find('\r') == std::string_view::npos) {
    const auto crlf = harness::Corpus::from_documents(split_documents(s, true), "fuzz", limits);
    CACHEON_ASSERT(crlf.ok() == c.ok());
    if (c.ok()) {
      CACHEON_ASSERT(crlf->id() == c->id() && crlf->total_bytes() == c->total_bytes());
    } else {
      CACHEON_ASSERT(crlf.error().code == c.error().code);
    }
  }
}

void fuzz_jsonl(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  const fs::path path =
      fs::temp_directory_path() / ("cacheon-fuzz-" + std::to_string(::getpid()) + ".jsonl");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
    CACHEON_ASSERT(out.good());
  }
  const harness::CorpusLimits limits{4096, 1 << 16, 16};
  const auto c = harness::Corpus::from_jsonl(path.string(), limits);
  std::error_code ec;
  fs::remove(path, ec);
  if (!c.ok()) {
    CACHEON_ASSERT(!c.error().code.empty() && !c.error().message.empty());
    return;
  }
  const std::string prefix = path.filename().string() + ":";
  for (const auto& d : c->documents()) {
    CACHEON_ASSERT(d.name.compare(0, prefix.size(), prefix) == 0);
    CACHEON_ASSERT(!d.text.empty() && harness::valid_utf8(d.text));
  }
  CACHEON_ASSERT(c->documents().size() <= limits.max_documents);
}

void fuzz_config(const uint8_t* data, size_t size) {
  const std::string_view s = as_view(data, size);
  if (auto u = Url::parse(s)) {
    CACHEON_ASSERT(!u->host.empty() && u->port != 0 && !u->path.empty() && u->path[0] == '/');
    const auto again = Url::parse(u->str());
    CACHEON_ASSERT(again.ok());
    CACHEON_ASSERT(again->host == u->host && again->port == u->port && again->path == u->path);
    (void)u->join(s);
  }
  if (auto w = harness::Workload::parse(s)) {
    const auto again = harness::Workload::parse(w->str());
    CACHEON_ASSERT(again.ok() && again->kind == w->kind);
    CACHEON_ASSERT(again->concurrency == w->concurrency && again->rate_per_s == w->rate_per_s &&
                   again->seed == w->seed);
    if (w->kind == harness::Workload::Kind::rate) {
      const auto at = harness::poisson_schedule(w->rate_per_s, 4, w->seed);
      for (size_t i = 1; i < at.size(); ++i) CACHEON_ASSERT(at[i] >= at[i - 1]);
    }
  }
}

}  // namespace cacheon::fuzz

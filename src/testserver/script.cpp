#include "testserver/script.h"

#include <cmath>

namespace cacheon::testserver {
namespace {

// Order is part of the determinism contract: append only.
const std::vector<std::string_view> kWords = {
    " the", " of", " and", " to", " in", " a", " is", " that", " for", " it",
    " as", " was", " with", " be", " by", " on", " not", " he", " this", " are",
    " or", " his", " from", " at", " which", " but", " have", " an", " had", " they",
    " you", " were", " their", " one", " all", " we", " can", " her", " has", " there",
    " been", " if", " more", " when", " will", " would", " who", " so", " no", " time",
    " river", " stone", " light", " window", " garden", " market", " letter", " winter",
    " summer", " morning", " evening", " mountain", " valley", " harbor", " bridge", " tower",
    " engine", " signal", " number", " measure", " answer", " question", " reason", " model",
    " token", " stream", " server", " client", " packet", " buffer", " socket", " kernel",
    " thread", " queue", " cache", " vector", " matrix", " tensor", " layer", " weight",
    " north", " south", " east", " west", " quiet", " bright", " narrow", " ancient",
    " simple", " careful", " rapid", " gentle", " heavy", " distant", " golden", " silver",
    " walked", " opened", " turned", " carried", " written", " measured", " counted", " found",
    " began", " followed", " remained", " appeared", " listened", " answered", " waited", " moved",
    " small", " large", " early", " late", " first", " last", " other", " same",
    " between", " through", " under", " after", " before", " around", " without", " within",
    " because", " although", " while", " however", " therefore", " perhaps", " almost", " always",
    " people", " city", " world", " house", " water", " paper", " table", " door",
    " café", " naïve", " résumé", " façade", " über", " Zürich", " São", " piñata",
    " jalapeño", " déjà", " 東京", " 北京", " データ", " мир", " λόγος", " 😀",
    " —", " €", ",", ".", ";", ":", "!", "?",
    "\n", "\n\n", " \"quoted\"", " back\\slash", "\ttab", " (", ")", " 42",
    " 1987", " 3.14", " -", " +", " =", " %", " #", " @",
    " alpha", " beta", " gamma", " delta", " epsilon", " omega", " sigma", " lambda",
    " maple", " cedar", " willow", " birch", " orchid", " lotus", " fern", " moss",
    " iron", " copper", " glass", " salt",
};

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// H(seed, prompt, pos, salt): independent streams per salt.
uint64_t mix(uint64_t seed, uint64_t ph, int64_t pos, uint64_t salt) {
  return splitmix(splitmix(splitmix(seed ^ (salt << 56)) ^ ph) ^ uint64_t(pos));
}

double unit(uint64_t h) { return double(h >> 11) * 0x1.0p-53; }  // [0, 1)

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  return h;
}
constexpr uint64_t kFnvBasis = 0xCBF29CE484222325ull;

const std::vector<FaultInfo> kFaults = {
    {Fault::kNone, "none", "a well-behaved stream"},
    {Fault::kBufferFlush, "buffer-flush",
     "every content event is computed on schedule but held; all go out in one write at the "
     "last event's deadline with finish/usage/[DONE] (--fault-at ignored)"},
    {Fault::kStall, "stall",
     "at the fault event's deadline writing stops; the connection stays open, unterminated, "
     "until the server stops"},
    {Fault::kDisconnect, "disconnect",
     "at the fault event's deadline the socket is closed: EOF inside the chunked body, no "
     "finish_reason, no [DONE]"},
    {Fault::kMalformedJson, "malformed-json",
     "the fault event's JSON is cut after its content string (unbalanced braces); the stream "
     "then goes on normally"},
    {Fault::kInvalidUtf8, "invalid-utf8",
     "the fault event's content string starts with the raw bytes C3 28 FF (invalid UTF-8)"},
    {Fault::kLogprobCount, "logprob-count",
     "the fault event has \"logprobs\":null; the next content event has one entry fewer than "
     "its tokens (empty content[] when --chunk 1)"},
    {Fault::kUsageLie, "usage-lie", "usage.completion_tokens = tokens really sent + 1"},
    {Fault::kAfterFinish, "after-finish",
     "2 more content events (with logprobs) after the finish_reason event, then usage, [DONE]"},
    {Fault::kAfterDone, "after-done", "one more content event after data: [DONE]"},
    {Fault::kNoDone, "no-done",
     "no data: [DONE]; the chunked body is terminated and the connection closed"},
    {Fault::kEndless, "endless",
     "content events forever at the itl cadence, max_tokens ignored, never a finish_reason"},
    {Fault::kHugeLine, "huge-line",
     "the fault event's content starts with 8 MiB of 'x': one SSE line > 8 MiB without a "
     "newline (valid JSON); the stream then goes on"},
    {Fault::kSlowHeaders, "slow-headers",
     "status line and headers dribbled one byte per 100 ms from t0+100ms (raw), then the "
     "stream catches up with its schedule; connection closed at the end"},
    {Fault::kHttp500, "http-500", "HTTP 500 with an OpenAI error object, no stream"},
    {Fault::kErrorEvent, "error-event",
     "at the fault event: 'event: error' + data: {\"error\":{...}}, then data: [DONE]; no "
     "finish_reason"},
    {Fault::kWrongTop1, "wrong-top1",
     "from the fault point on the emitted token is rank 2 of its top_logprobs (another word is "
     "top-1); visible with top_logprobs >= 2"},
    {Fault::kNeverHealthy, "never-healthy", "GET /health always answers 503; the API works"},
};

}  // namespace

const std::vector<FaultInfo>& all_faults() { return kFaults; }

Result<Fault> parse_fault(std::string_view name) {
  for (const auto& f : kFaults)
    if (f.name == name) return f.fault;
  std::string names;
  for (const auto& f : kFaults) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return Error{"bad_fault", "unknown fault '" + std::string(name) + "' (one of: " + names + ")"};
}

std::string_view fault_name(Fault f) {
  for (const auto& i : kFaults)
    if (i.fault == f) return i.name;
  return "none";
}

Status validate(const Script& s) {
  auto bad = [](std::string m) { return Status(Error{"bad_script", std::move(m)}); };
  if (s.model.empty()) return bad("model name must not be empty");
  if (!(s.ttft_ms >= 0 && s.ttft_ms <= 3.6e6)) return bad("ttft-ms must be in [0, 3600000]");
  if (!(s.itl_ms >= 0 && s.itl_ms <= 3.6e6)) return bad("itl-ms must be in [0, 3600000]");
  if (s.tokens < 1) return bad("tokens must be at least 1");
  if (s.tokens_per_chunk < 1) return bad("chunk must be at least 1");
  if (s.diverge_at < -1) return bad("diverge-at must be -1 (never) or a token position");
  if (!(s.diverge_gap >= 0 && std::isfinite(s.diverge_gap))) return bad("diverge-gap must be >= 0");
  if (!(s.fault_at_fraction >= 0 && s.fault_at_fraction <= 1)) {
    return bad("fault-at must be in [0, 1]");
  }
  if (s.max_model_len < 1) return bad("max-model-len must be at least 1");
  if (s.startup_delay_ms < 0) return bad("startup-delay-ms must be >= 0");
  if (auto f = parse_fault(s.fault); !f) return bad(f.error().message);
  return {};
}

const std::vector<std::string_view>& words() { return kWords; }

uint64_t prompt_hash(const std::vector<openai::ChatMessage>& messages) {
  uint64_t h = kFnvBasis;
  for (const auto& m : messages) {
    h = fnv1a(h, m.role);
    h = fnv1a(h, std::string_view("\0", 1));
    h = fnv1a(h, m.content);
    h = fnv1a(h, std::string_view("\0", 1));
  }
  return h;
}

namespace {
constexpr int32_t kImStart = 151644, kImEnd = 151645, kNewline = 198;

int32_t role_id(std::string_view role) {
  if (role == "system") return 8948;
  if (role == "user") return 872;
  if (role == "assistant") return 77091;
  return 15552;  // developer and anything else
}

void append_content_ids(std::vector<int32_t>& out, std::string_view text) {
  for (size_t i = 0; i < text.size(); i += 4) {
    out.push_back(int32_t(fnv1a(kFnvBasis, text.substr(i, 4)) % 151643));
  }
}
}  // namespace

std::vector<int32_t> toy_tokenize_messages(const std::vector<openai::ChatMessage>& messages,
                                           bool add_generation_prompt) {
  std::vector<int32_t> ids;
  ids.reserve(size_t(toy_count_messages(messages, add_generation_prompt)));
  for (const auto& m : messages) {
    ids.insert(ids.end(), {kImStart, role_id(m.role), kNewline});
    append_content_ids(ids, m.content);
    ids.insert(ids.end(), {kImEnd, kNewline});
  }
  if (add_generation_prompt) ids.insert(ids.end(), {kImStart, role_id("assistant"), kNewline});
  return ids;
}

std::vector<int32_t> toy_tokenize_prompt(std::string_view prompt) {
  std::vector<int32_t> ids;
  append_content_ids(ids, prompt);
  return ids;
}

int64_t toy_count_messages(const std::vector<openai::ChatMessage>& messages,
                           bool add_generation_prompt) {
  int64_t n = add_generation_prompt ? 3 : 0;
  for (const auto& m : messages) n += 5 + int64_t((m.content.size() + 3) / 4);
  return n;
}

GenToken make_token(const Script& s, uint64_t ph, int64_t pos, int top_n, bool wrong_top1) {
  const auto& w = kWords;
  const uint64_t nw = w.size();
  GenToken t;
  const size_t true_idx = mix(s.seed, ph, pos, 0) % nw;
  size_t idx = true_idx;
  const bool diverged = s.diverge_at >= 0 && pos >= s.diverge_at;
  if (diverged) {
    idx = mix(s.seed, ph, pos, 1) % nw;
    if (idx == true_idx) idx = (idx + 1) % nw;
  }
  t.text = w[idx];
  t.logprob = -(0.001 + 0.4 * unit(mix(s.seed, ph, pos, 2)));
  top_n = std::max(0, std::min(top_n, 20));

  // Alternatives: walk the list from a hashed start with a stride coprime to its size,
  // skipping words already placed.
  size_t alt = mix(s.seed, ph, pos, 3) % nw;
  auto next_alt = [&](size_t avoid1, size_t avoid2) {
    do alt = (alt + 7) % nw;  // 7 does not divide the list size (checked in tests)
    while (alt == avoid1 || alt == avoid2);
    return alt;
  };
  uint64_t gap_h = mix(s.seed, ph, pos, 4);
  auto next_gap = [&] {
    gap_h = splitmix(gap_h);
    return 0.6 + 1.5 * unit(gap_h);
  };

  int k = 0;
  double lp = t.logprob;
  size_t avoid = idx;  // a second word that alternatives must skip
  if (wrong_top1 && top_n > 0) {
    const size_t other = next_alt(idx, idx);
    t.top[k++] = {w[other], t.logprob / 2};  // higher than the emitted token's logprob
    avoid = other;
  }
  if (k < top_n) t.top[k++] = {t.text, t.logprob};
  if (diverged && pos == s.diverge_at && s.diverge_gap <= kDropGap && k < top_n) {
    lp = t.logprob - s.diverge_gap;
    t.top[k++] = {w[true_idx], lp};
    avoid = true_idx;
  } else if (diverged && pos == s.diverge_at) {
    avoid = true_idx;  // dropped: T must not come back as a low alternative
  }
  while (k < top_n) {
    lp -= next_gap();
    t.top[k++] = {w[next_alt(idx, avoid)], lp};
  }
  t.top_n = top_n;
  return t;
}

}  // namespace cacheon::testserver

#include "openai/chat_chunk.h"

#include <cmath>
#include <cstring>
#include <optional>

#include <simdjson.h>

namespace cacheon::openai {

namespace dom = simdjson::dom;

namespace {

constexpr const char* kMalformed = "stream_malformed_json";

// Walks one parsed document. The first failure records a path-qualified message; everything
// returns bool so that the happy path builds no strings besides the results.
class Walker {
 public:
  std::string err;

  bool fail(std::string_view path, std::string_view what) {
    if (err.empty()) {
      err.assign(path);
      err += ": ";
      err += what;
    }
    return false;
  }

  // string | null | absent. `present` tells whether a string was there.
  bool opt_string(dom::element v, std::string_view path, std::string& out, bool* present) {
    if (v.is_null()) return true;
    std::string_view sv;
    if (v.get(sv)) return fail(path, "expected a string or null");
    out.assign(sv);
    if (present) *present = true;
    return true;
  }

  bool number(dom::element v, std::string_view path, double& out) {
    // get_double accepts any JSON number (int64, uint64, double); JSON has no NaN/Infinity and
    // simdjson rejects numbers that overflow a double, but check anyway.
    if (v.get(out)) return fail(path, "expected a number");
    if (!std::isfinite(out)) return fail(path, "expected a finite number");
    return true;
  }

  bool count(dom::element v, std::string_view path, int64_t& out) {
    if (v.get(out)) return fail(path, "expected an integer");
    if (out < 0) return fail(path, "expected a non-negative integer");
    return true;
  }

  // `bytes`: an array of integers 0..255, or null.
  bool byte_array(dom::element v, std::string_view path, std::optional<std::string>* out) {
    if (v.is_null()) return true;
    dom::array arr;
    if (v.get(arr)) return fail(path, "expected an array of integers 0..255 or null");
    std::string bytes;
    if (out) bytes.reserve(arr.size());
    for (dom::element b : arr) {
      int64_t x;
      if (b.get(x) || x < 0 || x > 255) return fail(path, "expected an array of integers 0..255");
      if (out) bytes.push_back(char(uint8_t(x)));
    }
    if (out) *out = std::move(bytes);
    return true;
  }

  // Prepends a path prefix to the recorded failure; paths are built only on failure.
  bool within(std::string_view prefix) {
    err.insert(0, prefix);
    return false;
  }

  // {token, logprob, bytes?} common to content[] entries and their top_logprobs[] entries.
  bool token_fields(dom::object o, std::string& token, double& logprob,
                    std::optional<std::string>* bytes, std::optional<dom::element>* top) {
    bool has_token = false, has_logprob = false;
    for (dom::key_value_pair kv : o) {
      if (kv.key == "token") {
        std::string_view sv;
        if (kv.value.get(sv)) return fail(".token", "expected a string");
        token.assign(sv);
        has_token = true;
      } else if (kv.key == "logprob") {
        if (!number(kv.value, ".logprob", logprob)) return false;
        has_logprob = true;
      } else if (kv.key == "bytes") {
        if (!byte_array(kv.value, ".bytes", bytes)) return false;
      } else if (kv.key == "top_logprobs" && top) {
        *top = kv.value;
      }
    }
    if (!has_token) return fail(".token", "missing");
    if (!has_logprob) return fail(".logprob", "missing");
    return true;
  }

  bool top_logprobs(dom::element v, std::vector<TopLogprobEntry>& out) {
    if (v.is_null()) return true;
    dom::array arr;
    if (v.get(arr)) return fail(".top_logprobs", "expected an array or null");
    out.reserve(arr.size());
    size_t i = 0;
    for (dom::element e : arr) {
      dom::object o;
      TopLogprobEntry t;
      if (e.get(o)) {
        fail("", "expected an object");
      } else if (token_fields(o, t.token, t.logprob, nullptr, nullptr)) {
        out.push_back(std::move(t));
        ++i;
        continue;
      }
      return within(".top_logprobs[" + std::to_string(i) + "]");
    }
    return true;
  }

  // choices[0].logprobs: null or {"content": null | [...]} (other keys, e.g. refusal, ignored).
  bool logprobs(dom::element v, ChatChunk& out) {
    if (v.is_null()) return true;
    dom::object o;
    if (v.get(o)) return fail("choices[0].logprobs", "expected an object or null");
    dom::element content;
    if (o["content"].get(content) || content.is_null()) return true;
    dom::array arr;
    if (content.get(arr)) return fail("choices[0].logprobs.content", "expected an array or null");
    out.has_logprobs = true;
    out.logprobs.reserve(arr.size());
    size_t i = 0;
    for (dom::element e : arr) {
      dom::object eo;
      TokenLogprob t;
      std::optional<dom::element> top;
      if (e.get(eo)) {
        fail("", "expected an object");
      } else if (token_fields(eo, t.token, t.logprob, &t.bytes, &top) &&
                 (!top || top_logprobs(*top, t.top_logprobs))) {
        out.logprobs.push_back(std::move(t));
        ++i;
        continue;
      }
      return within("choices[0].logprobs.content[" + std::to_string(i) + "]");
    }
    return true;
  }

  // delta (stream) or message (completion): {role?, content?, ...}.
  bool delta(dom::element v, std::string_view path, ChatChunk& out) {
    if (v.is_null()) return true;
    dom::object o;
    if (v.get(o)) return fail(path, "expected an object or null");
    for (dom::key_value_pair kv : o) {
      if (kv.key == "role") {
        if (kv.value.is_null()) continue;
        std::string_view sv;
        if (kv.value.get(sv)) {
          fail(".role", "expected a string");
          return within(path);
        }
        out.role.emplace(sv);
      } else if (kv.key == "content") {
        if (!opt_string(kv.value, ".content", out.content, &out.has_content)) return within(path);
      }
    }
    return true;
  }

  bool choice(dom::element v, bool completion, ChatChunk& out) {
    dom::object o;
    if (v.get(o)) return fail("choices[0]", "expected an object");
    out.has_choice = true;
    const std::string_view body_key = completion ? "message" : "delta";
    for (dom::key_value_pair kv : o) {
      if (kv.key == body_key) {
        if (!delta(kv.value, completion ? "choices[0].message" : "choices[0].delta", out)) {
          return false;
        }
      } else if (kv.key == "logprobs") {
        if (!logprobs(kv.value, out)) return false;
      } else if (kv.key == "finish_reason") {
        if (kv.value.is_null()) continue;
        std::string_view sv;
        if (kv.value.get(sv)) return fail("choices[0].finish_reason", "expected a string or null");
        out.finish_reason.emplace(sv);
      }
    }
    return true;
  }

  bool usage(dom::element v, ChatChunk& out) {
    if (v.is_null()) return true;
    dom::object o;
    if (v.get(o)) return fail("usage", "expected an object or null");
    Usage u;
    for (dom::key_value_pair kv : o) {
      if (kv.key == "prompt_tokens") {
        if (!count(kv.value, "usage.prompt_tokens", u.prompt_tokens)) return false;
      } else if (kv.key == "completion_tokens") {
        if (!count(kv.value, "usage.completion_tokens", u.completion_tokens)) return false;
      } else if (kv.key == "total_tokens") {
        if (!count(kv.value, "usage.total_tokens", u.total_tokens)) return false;
      }
    }
    out.usage = u;
    return true;
  }
};

// The message of an error object, or a fallback when it has none.
std::string error_message_of(dom::element err) {
  std::string_view sv;
  if (err.get(sv) == simdjson::SUCCESS) return std::string(sv);
  dom::object o;
  if (err.get(o) == simdjson::SUCCESS && o["message"].get(sv) == simdjson::SUCCESS) {
    return std::string(sv);
  }
  return "error object without a message";
}

}  // namespace

struct ChunkParser::Impl {
  dom::parser parser;
  std::unique_ptr<char[]> buf;  // payload copy with SIMDJSON_PADDING, reused across calls
  size_t cap = 0;

  Result<ChatChunk> run(std::string_view payload, bool completion) {
    const size_t need = payload.size() + simdjson::SIMDJSON_PADDING;
    if (need > cap) {
      cap = need < 4096 ? 4096 : need + need / 2;
      buf.reset(new char[cap]);
    }
    if (!payload.empty()) std::memcpy(buf.get(), payload.data(), payload.size());
    std::memset(buf.get() + payload.size(), 0, simdjson::SIMDJSON_PADDING);

    dom::element doc;
    const auto ec = parser.parse(buf.get(), payload.size(), /*realloc_if_needed=*/false).get(doc);
    if (ec == simdjson::UTF8_ERROR) {
      return Error{"stream_invalid_utf8", "payload is not valid UTF-8"};
    }
    if (ec) {
      return Error{kMalformed, std::string("payload is not valid JSON: ") +
                                   simdjson::error_message(ec)};
    }
    dom::object root;
    if (doc.get(root)) return Error{kMalformed, "payload is not a JSON object"};

    // One pass over the top-level keys; an error object then wins over everything else:
    // {"error":{...}} (OpenAI) or {"object":"error",...} (vLLM).
    std::optional<dom::element> id, model, choices, usage, err;
    bool flat_error = false;
    for (dom::key_value_pair kv : root) {
      if (kv.key == "id") {
        id = kv.value;
      } else if (kv.key == "model") {
        model = kv.value;
      } else if (kv.key == "choices") {
        choices = kv.value;
      } else if (kv.key == "usage") {
        usage = kv.value;
      } else if (kv.key == "error") {
        if (!kv.value.is_null()) err = kv.value;
      } else if (kv.key == "object") {
        std::string_view obj;
        flat_error = kv.value.get(obj) == simdjson::SUCCESS && obj == "error";
      }
    }
    if (err) return Error{"stream_error_object", error_message_of(*err)};
    if (flat_error) return Error{"stream_error_object", error_message_of(doc)};

    Walker w;
    ChatChunk out;
    bool ok = (!id || w.opt_string(*id, "id", out.id, nullptr)) &&
              (!model || w.opt_string(*model, "model", out.model, nullptr)) &&
              (!usage || w.usage(*usage, out));
    if (ok && choices) {
      dom::array arr;
      if (choices->get(arr)) {
        ok = w.fail("choices", "expected an array");
      } else if (dom::element first; arr.at(0).get(first) == simdjson::SUCCESS) {
        ok = w.choice(first, completion, out);
      }
    }
    if (!ok) return Error{kMalformed, std::move(w.err)};
    return out;
  }
};

ChunkParser::ChunkParser() : impl_(std::make_unique<Impl>()) {}
ChunkParser::~ChunkParser() = default;
ChunkParser::ChunkParser(ChunkParser&&) noexcept = default;
ChunkParser& ChunkParser::operator=(ChunkParser&&) noexcept = default;

Result<ChatChunk> ChunkParser::parse(std::string_view payload) {
  return impl_->run(payload, /*completion=*/false);
}

Result<ChatChunk> ChunkParser::parse_completion(std::string_view body) {
  return impl_->run(body, /*completion=*/true);
}

}  // namespace cacheon::openai

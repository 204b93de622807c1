#include "openai/chunk_writer.h"

#include <array>
#include <charconv>
#include <cmath>

namespace cacheon::openai {
namespace {

// Length of the well-formed UTF-8 sequence at p (1..4), or -k where k >= 1 is the length of the
// maximal ill-formed subpart to replace by one U+FFFD (Unicode "maximal subpart" practice).
int utf8_step(const unsigned char* p, size_t n) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  int len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // <= U+10FFFF
  } else {
    return -1;  // continuation byte, C0/C1 or F5..FF: never valid as a lead
  }
  size_t i = 1;
  for (; i < size_t(len); ++i) {
    if (i >= n) return -int(i);
    const unsigned char b = p[i];
    const unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) return -int(i);
  }
  return len;
}

constexpr std::array<const char*, 32> kControlEscapes = {
    "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
    "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
    "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
    "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};

// A byte needs the slow path when it is a control char, '"', '\\' or non-ASCII.
constexpr std::array<bool, 256> make_special() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return t;
}
constexpr std::array<bool, 256> kSpecial = make_special();

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_bytes_array(std::string& out, std::string_view bytes) {
  out += '[';
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i) out += ',';
    append_int(out, static_cast<unsigned char>(bytes[i]));
  }
  out += ']';
}

void append_logprobs(std::string& out, std::span<const TokenOut> tokens) {
  out += "{\"content\":[";
  for (size_t i = 0; i < tokens.size(); ++i) {
    const TokenOut& t = tokens[i];
    if (i) out += ',';
    out += "{\"token\":";
    append_json_string(out, t.bytes);
    out += ",\"logprob\":";
    append_json_logprob(out, t.logprob);
    out += ",\"bytes\":";
    append_bytes_array(out, t.bytes);
    out += ",\"top_logprobs\":[";
    for (size_t j = 0; j < t.top.size(); ++j) {
      if (j) out += ',';
      out += "{\"token\":";
      append_json_string(out, t.top[j].bytes);
      out += ",\"logprob\":";
      append_json_logprob(out, t.top[j].logprob);
      out += ",\"bytes\":";
      append_bytes_array(out, t.top[j].bytes);
      out += '}';
    }
    out += "]}";
  }
  out += "]}";
}

void append_finish_reason(std::string& out, std::string_view finish_reason) {
  out += ",\"finish_reason\":";
  if (finish_reason.empty()) {
    out += "null";
  } else {
    append_json_string(out, finish_reason);
  }
}

void append_usage_object(std::string& out, UsageOut u) {
  out += "{\"prompt_tokens\":";
  append_int(out, u.prompt_tokens);
  out += ",\"completion_tokens\":";
  append_int(out, u.completion_tokens);
  out += ",\"total_tokens\":";
  append_int(out, u.prompt_tokens + u.completion_tokens);
  out += '}';
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Copy runs of plain ASCII in one append.
    size_t run = i;
    while (run < n && !kSpecial[p[run]]) ++run;
    if (run > i) out.append(s.data() + i, run - i);
    i = run;
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x20) {
      out += kControlEscapes[c];
      ++i;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
      ++i;
    } else {
      const int step = utf8_step(p + i, n - i);
      if (step > 0) {
        out.append(s.data() + i, size_t(step));
        i += size_t(step);
      } else {
        out += "\xEF\xBF\xBD";  // U+FFFD for the ill-formed subpart
        i += size_t(-step);
      }
    }
  }
  out += '"';
}

void append_json_logprob(std::string& out, double v) {
  if (std::isnan(v) || (std::isinf(v) && v < 0)) v = -9999.0;
  if (std::isinf(v)) v = 0.0;
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    const int step = utf8_step(p + i, s.size() - i);
    if (step <= 0) return false;
    i += size_t(step);
  }
  return true;
}

ChunkWriter::ChunkWriter(std::string_view id, std::string_view model, int64_t created)
    : id_(id) {
  prefix_ = "{\"id\":";
  append_json_string(prefix_, id);
  prefix_ += ",\"object\":\"chat.completion.chunk\",\"created\":";
  append_int(prefix_, created);
  prefix_ += ",\"model\":";
  append_json_string(prefix_, model);
  prefix_ += ',';
}

void ChunkWriter::append_role(std::string& out, std::string_view role) const {
  out += "data: ";
  out += prefix_;
  out += "\"choices\":[{\"index\":0,\"delta\":{\"role\":";
  append_json_string(out, role);
  out += ",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
}

void ChunkWriter::append_content_json(std::string& out, std::string_view text,
                                      std::span<const TokenOut> tokens, bool with_logprobs,
                                      std::string_view finish_reason) const {
  out += prefix_;
  out += "\"choices\":[{\"index\":0,\"delta\":{\"content\":";
  append_json_string(out, text);
  out += "},\"logprobs\":";
  if (with_logprobs) {
    append_logprobs(out, tokens);
  } else {
    out += "null";
  }
  append_finish_reason(out, finish_reason);
  out += "}]}";
}

void ChunkWriter::append_content(std::string& out, std::string_view text,
                                 std::span<const TokenOut> tokens, bool with_logprobs,
                                 std::string_view finish_reason) const {
  out += "data: ";
  append_content_json(out, text, tokens, with_logprobs, finish_reason);
  out += "\n\n";
}

void ChunkWriter::append_finish(std::string& out, std::string_view finish_reason) const {
  out += "data: ";
  out += prefix_;
  out += "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null";
  append_finish_reason(out, finish_reason);
  out += "}]}\n\n";
}

void ChunkWriter::append_usage(std::string& out, UsageOut usage) const {
  out += "data: ";
  out += prefix_;
  out += "\"choices\":[],\"usage\":";
  append_usage_object(out, usage);
  out += "}\n\n";
}

void ChunkWriter::append_done(std::string& out) { out += "data: [DONE]\n\n"; }

void append_chat_completion(std::string& out, std::string_view id, std::string_view model,
                            int64_t created, std::string_view content,
                            std::span<const TokenOut> tokens, bool with_logprobs,
                            std::string_view finish_reason, UsageOut usage) {
  out += "{\"id\":";
  append_json_string(out, id);
  out += ",\"object\":\"chat.completion\",\"created\":";
  append_int(out, created);
  out += ",\"model\":";
  append_json_string(out, model);
  out += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":";
  append_json_string(out, content);
  out += "},\"logprobs\":";
  if (with_logprobs) {
    append_logprobs(out, tokens);
  } else {
    out += "null";
  }
  append_finish_reason(out, finish_reason.empty() ? std::string_view("stop") : finish_reason);
  out += "}],\"usage\":";
  append_usage_object(out, usage);
  out += '}';
}

}  // namespace cacheon::openai

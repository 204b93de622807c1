// The evaluation stream's records, line framing, and error bodies.
#include <fstream>

#include <fmt/format.h>

#include "remote/protocol.h"

namespace cacheon::remote {
namespace {

using nlohmann::json;

// Invalid UTF-8 becomes U+FFFD: a server's log is arbitrary bytes.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string bounded(std::string_view s, size_t max) {
  return std::string(s.substr(0, std::min(s.size(), max)));
}

}  // namespace

std::string progress_record(std::string_view message) {
  return dump({{"type", "progress"}, {"message", bounded(message, kMaxProgressLine)}});
}
std::string launched_record() { return dump({{"type", "launched"}}); }
std::string heartbeat_record() { return dump({{"type", "heartbeat"}}); }

std::string result_record(const store::EvalResult& r, const json& report,
                          const std::optional<std::string>& log) {
  return dump({{"type", "result"},
               {"result", to_json(r)},
               {"report", report},
               {"log", log ? json(*log) : json(nullptr)}});
}

std::string proof_record(std::string_view proof_hex) {
  return dump({{"type", "proof"}, {"proof", std::string(proof_hex)}});
}

Result<StreamRecord> parse_record(std::string_view line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string())
    return Error{"bad_record", "a record is not a JSON object with a type"};
  StreamRecord rec;
  const std::string& type = j["type"].get_ref<const std::string&>();
  if (type == "progress") {
    rec.type = StreamRecord::Type::progress;
    if (j.contains("message") && j["message"].is_string())
      rec.message = bounded(j["message"].get_ref<const std::string&>(), kMaxProgressLine);
  } else if (type == "launched") {
    rec.type = StreamRecord::Type::launched;
  } else if (type == "heartbeat") {
    rec.type = StreamRecord::Type::heartbeat;
  } else if (type == "result") {
    rec.type = StreamRecord::Type::result;
    rec.body = std::move(j);
  } else if (type == "proof") {
    rec.type = StreamRecord::Type::proof;
    if (!j.contains("proof") || !j["proof"].is_string() ||
        j["proof"].get_ref<const std::string&>().size() != 64)
      return Error{"bad_record", "a proof record without a 64-hex proof"};
    rec.proof = j["proof"].get<std::string>();
  }
  return rec;
}

Result<ResultPayload> parse_result_payload(const json& record) {
  if (!record.is_object() || !record.contains("result"))
    return Error{"bad_record", "the result record has no result"};
  auto r = result_from_json(record["result"]);
  if (!r.ok()) return Error{"bad_record", r.error().message};
  ResultPayload out;
  out.result = std::move(*r);
  const json& report = record.contains("report") ? record["report"] : json(nullptr);
  if (!report.is_null() && !report.is_object())
    return Error{"bad_record", "the result record's report is not an object"};
  out.report = report;
  if (record.contains("log") && !record["log"].is_null()) {
    if (!record["log"].is_string() ||
        record["log"].get_ref<const std::string&>().size() > kMaxLogBytes + 256)
      return Error{"bad_record", "the result record's log is not a bounded string"};
    out.log = record["log"].get<std::string>();
  }
  return out;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], 0 if there is none (overlongs, surrogates and
// code points past U+10FFFF are invalid).
size_t utf8_len(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(k) & 0xC0) != 0x80) return 0;
  if (n == 3 && ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) >= 0xA0))) return 0;
  if (n == 4 && ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) >= 0x90))) return 0;
  return n;
}

// Invalid UTF-8 and control bytes (but newline and tab) become '?': the text then never grows
// when it is written as JSON (U+FFFD is 3 bytes, "\u0001" 6), so a log of hostile bytes stays
// inside the record's bound instead of making the result unreadable (an arena-blamed failure).
std::string printable_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) {
      out += '?';
      ++i;
      continue;
    }
    const size_t n = utf8_len(s, i);
    if (n == 0) {
      out += '?';
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> read_tail(const std::string& path, size_t max) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return std::nullopt;
  const auto size = static_cast<size_t>(std::max<std::streamoff>(0, f.tellg()));
  const size_t skip = size > max ? size - max : 0;
  f.seekg(static_cast<std::streamoff>(skip));
  std::string data(size - skip, '\0');
  f.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(std::max<std::streamsize>(0, f.gcount())));
  data = printable_utf8(data);
  if (skip > 0) data = fmt::format("[cacheon: the first {} bytes of this log were cut]\n", skip) + data;
  return data;
}

Status LineSplitter::feed(std::string_view data,
                          const std::function<Status(std::string_view)>& on_line) {
  total_ += data.size();
  if (total_ > max_total_)
    return Error{"response_too_large", fmt::format("the response exceeds {} bytes", max_total_)};
  while (!data.empty()) {
    size_t nl = data.find('\n');
    std::string_view part = data.substr(0, nl == std::string_view::npos ? data.size() : nl);
    if (buf_.size() + part.size() > max_line_)
      return Error{"record_too_large", fmt::format("a record exceeds {} bytes", max_line_)};
    buf_.append(part);
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
    std::string line = std::move(buf_);
    buf_.clear();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    Status st = on_line(line);
    if (!st.ok()) return st;
  }
  return {};
}

std::string error_body(std::string_view code, std::string_view message) {
  return dump({{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}});
}

Error error_from_body(std::string_view body, std::string_view fallback_code) {
  json j = json::parse(body.substr(0, std::min<size_t>(body.size(), 64 * 1024)), nullptr, false);
  Error e{std::string(fallback_code), "(no error message)"};
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const json& err = j["error"];
    if (err.contains("code") && err["code"].is_string())
      e.code = bounded(err["code"].get_ref<const std::string&>(), 64);
    if (err.contains("message") && err["message"].is_string())
      e.message = bounded(err["message"].get_ref<const std::string&>(), 1000);
  }
  return e;
}

}  // namespace cacheon::remote

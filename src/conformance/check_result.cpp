#include "conformance/check_result.h"

#include <fmt/format.h>

namespace cacheon::conformance {

using nlohmann::json;

std::string_view to_string(CheckStatus s) {
  switch (s) {
    case CheckStatus::pass: return "pass";
    case CheckStatus::fail: return "fail";
    case CheckStatus::skip: return "skip";
  }
  return "skip";
}

CheckResult CheckResult::pass(std::string id, std::string seen) {
  CheckResult r;
  r.id = std::move(id);
  r.status = CheckStatus::pass;
  r.code = "ok";
  r.seen = std::move(seen);
  return r;
}

CheckResult CheckResult::fail(std::string id, std::string code, std::string expected,
                              std::string seen, std::string fix) {
  CheckResult r;
  r.id = std::move(id);
  r.status = CheckStatus::fail;
  r.code = std::move(code);
  r.expected = std::move(expected);
  r.seen = std::move(seen);
  r.fix = std::move(fix);
  return r;
}

CheckResult CheckResult::skip(std::string id, std::string why) {
  CheckResult r;
  r.id = std::move(id);
  r.seen = std::move(why);
  return r;
}

int ConformanceReport::count(CheckStatus s) const {
  int n = 0;
  for (const auto& r : results) n += r.status == s;
  return n;
}

const CheckResult* ConformanceReport::find(std::string_view id) const {
  for (const auto& r : results)
    if (r.id == id) return &r;
  return nullptr;
}

namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not well formed.
size_t utf8_len(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d >> 6) != 2) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

std::string printable(std::string_view text, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size();) {
    if (chars >= max_chars) {
      out += "…";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = utf8_len(text, i);
    if (n == 0) {
      out += fmt::format("\\x{:02X}", c);
      i += 1;
    } else if (n == 1 && (c < 0x20 || c == 0x7F)) {
      out += c == '\n' ? std::string("\\n") : c == '\t' ? std::string("\\t")
             : c == '\r' ? std::string("\\r") : fmt::format("\\x{:02X}", c);
      i += 1;
    } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned char>(text[i + 1]));  // C1 controls
      i += 2;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
    ++chars;
  }
  return out;
}

json to_json(const CheckResult& r) {
  auto s = [](const std::string& v) { return printable(v, 2000); };
  return {{"id", r.id},          {"status", to_string(r.status)}, {"code", r.code},
          {"expected", s(r.expected)}, {"seen", s(r.seen)},       {"fix", s(r.fix)}};
}

json to_json(const ConformanceReport& r) {
  json checks = json::array();
  for (const auto& c : r.results) checks.push_back(to_json(c));
  return {{"server", r.server},
          {"model", r.model},
          {"passed", r.passed()},
          {"counts",
           {{"pass", r.count(CheckStatus::pass)},
            {"fail", r.count(CheckStatus::fail)},
            {"skip", r.count(CheckStatus::skip)}}},
          {"checks", checks}};
}

std::string render_line(const CheckResult& c) {
  if (c.status == CheckStatus::fail)
    return fmt::format("  FAIL  {:<26} {}\n        expected: {}\n        seen:     {}\n"
                       "        fix:      {}\n",
                       c.id, c.code, printable(c.expected, 400), printable(c.seen, 400),
                       printable(c.fix, 400));
  if (c.status == CheckStatus::skip)
    return fmt::format("  SKIP  {:<26} {}\n", c.id, printable(c.seen));
  return fmt::format("  PASS  {}\n", c.id);
}

std::string render_summary(const ConformanceReport& r) {
  return fmt::format("{}: {} passed, {} failed, {} skipped\n",
                     r.passed() ? "CONFORMANT" : "NOT CONFORMANT", r.count(CheckStatus::pass),
                     r.count(CheckStatus::fail), r.count(CheckStatus::skip));
}

std::string render_table(const ConformanceReport& r) {
  std::string out = fmt::format("contract checks: {} (model {})\n", printable(r.server),
                                printable(r.model));
  for (const auto& c : r.results) out += render_line(c);
  return out + render_summary(r);
}

}  // namespace cacheon::conformance

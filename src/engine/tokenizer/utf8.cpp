#include "engine/tokenizer/utf8.h"

namespace cacheon::engine::utf8 {

Step step(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  const unsigned char c = p[0];
  if (c < 0x80) return {StepKind::kValid, 1};
  int len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (Unicode Table 3-7)
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlongs
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // no overlongs
    if (c == 0xF4) hi = 0x8F;  // <= U+10FFFF
  } else {
    return {StepKind::kInvalid, 1};  // continuation byte, C0/C1 or F5..FF: never a lead
  }
  for (int i = 1; i < len; ++i) {
    if (size_t(i) >= n) return {StepKind::kTruncated, i};
    const unsigned char b = p[i];
    const unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) return {StepKind::kInvalid, i};
  }
  return {StepKind::kValid, len};
}

size_t append_lossy(std::string_view s, std::string& out, bool final) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII runs are the common case; copy them in one go.
    size_t j = i;
    while (j < s.size() && static_cast<unsigned char>(s[j]) < 0x80) ++j;
    out.append(s.data() + i, j - i);
    i = j;
    if (i == s.size()) break;
    const Step st = step(s.substr(i));
    switch (st.kind) {
      case StepKind::kValid:
        out.append(s.data() + i, size_t(st.len));
        break;
      case StepKind::kInvalid:
        out += kReplacement;
        break;
      case StepKind::kTruncated:
        if (!final) return i;
        out += kReplacement;
        break;
    }
    i += size_t(st.len);
  }
  return i;
}

std::string lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_lossy(s, out, true);
  return out;
}

bool is_valid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Step st = step(s.substr(i));
    if (st.kind != StepKind::kValid) return false;
    i += size_t(st.len);
  }
  return true;
}

void append_code_point(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

char32_t decode_valid(const unsigned char* p, int len) {
  switch (len) {
    case 1:
      return p[0];
    case 2:
      return char32_t(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
    case 3:
      return char32_t(p[0] & 0x0F) << 12 | char32_t(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    default:
      return char32_t(p[0] & 0x07) << 18 | char32_t(p[1] & 0x3F) << 12 |
             char32_t(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
  }
}

}  // namespace cacheon::engine::utf8

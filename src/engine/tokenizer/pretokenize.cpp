#include "engine/tokenizer/pretokenize.h"

#include <cstdint>

#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/utf8.h"

namespace cacheon::engine {
namespace {

using unicode::CharClass;

struct Chars {
  std::vector<char32_t> cp;
  std::vector<CharClass> cls;
  std::vector<uint32_t> off;  // byte offset of each code point, plus one past the end
};

void decode(std::string_view text, Chars& c) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    int len = 1;
    if (p[i] >= 0x80) len = utf8::step(text.substr(i)).len;  // text is well-formed
    const char32_t cp = utf8::decode_valid(p + i, len);
    c.cp.push_back(cp);
    c.cls.push_back(unicode::classify(cp));
    c.off.push_back(uint32_t(i));
    i += size_t(len);
  }
  c.off.push_back(uint32_t(text.size()));
}

// (?i:...) uses Unicode case folding: besides ASCII case, U+017F LATIN SMALL LETTER LONG S
// folds to 's' (no other code point folds to t, r, e, v, m, l or d).
bool fold_is(char32_t cp, char lower) {
  if (cp == char32_t(lower) || cp == char32_t(lower - 'a' + 'A')) return true;
  return lower == 's' && cp == 0x17F;
}

// Length after the apostrophe of the contraction starting at i+1, or 0.
size_t contraction(const Chars& c, size_t i) {
  const size_t n = c.cp.size();
  if (i + 1 >= n) return 0;
  const char32_t a = c.cp[i + 1];
  const char32_t b = i + 2 < n ? c.cp[i + 2] : 0;
  if (fold_is(a, 's') || fold_is(a, 't') || fold_is(a, 'm') || fold_is(a, 'd')) return 1;
  if ((fold_is(a, 'r') || fold_is(a, 'v')) && fold_is(b, 'e')) return 2;
  if (fold_is(a, 'l') && fold_is(b, 'l')) return 2;
  return 0;
}

// End (exclusive) of the match starting at i.
size_t match_at(const Chars& c, size_t i) {
  const size_t n = c.cp.size();
  const CharClass k = c.cls[i];
  const CharClass next = i + 1 < n ? c.cls[i + 1] : CharClass::kOther;
  const bool has_next = i + 1 < n;
  auto letters_from = [&](size_t j) {
    while (j < n && c.cls[j] == CharClass::kLetter) ++j;
    return j;
  };
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (c.cp[i] == '\'') {
    if (size_t len = contraction(c, i)) return i + 1 + len;
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+ (the optional prefix is tried first: it is greedy)
  if (k == CharClass::kLetter) return letters_from(i + 1);
  if (k != CharClass::kNewline && k != CharClass::kNumber && has_next &&
      next == CharClass::kLetter) {
    return letters_from(i + 2);
  }
  // \p{N}
  if (k == CharClass::kNumber) return i + 1;
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  const bool space_then_other = c.cp[i] == ' ' && has_next && next == CharClass::kOther;
  if (k == CharClass::kOther || space_then_other) {
    size_t j = space_then_other ? i + 1 : i;
    while (j < n && c.cls[j] == CharClass::kOther) ++j;
    while (j < n && c.cls[j] == CharClass::kNewline) ++j;
    return j;
  }
  // Whitespace from here on: the maximal run [i, e).
  size_t e = i;
  size_t last_newline = SIZE_MAX;
  while (e < n && unicode::is_space(c.cls[e])) {
    if (c.cls[e] == CharClass::kNewline) last_newline = e;
    ++e;
  }
  // \s*[\r\n]+ : \s* backtracks until [\r\n]+ fits, so the match ends after the run's last
  // newline.
  if (last_newline != SIZE_MAX) return last_newline + 1;
  // \s+(?!\S) : at the end of input the whole run; before a non-space the run gives back its
  // last character (which then starts the next match), unless that would leave nothing.
  if (e == n) return e;
  if (e - i >= 2) return e - 1;
  // \s+
  return e;
}

}  // namespace

void qwen2_pre_split(std::string_view text, std::vector<std::string_view>& pieces) {
  Chars c;
  c.cp.reserve(text.size());
  c.cls.reserve(text.size());
  c.off.reserve(text.size() + 1);
  decode(text, c);
  const size_t n = c.cp.size();
  for (size_t i = 0; i < n;) {
    const size_t j = match_at(c, i);
    pieces.push_back(text.substr(c.off[i], c.off[j] - c.off[i]));
    i = j;
  }
}

}  // namespace cacheon::engine

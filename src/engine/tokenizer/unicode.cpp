#include "engine/tokenizer/unicode.h"

#include <utf8proc.h>

#include <array>
#include <cstdlib>
#include <memory>

#include "core/status.h"

namespace cacheon::engine::unicode {
namespace {

bool is_white_space(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

CharClass classify_slow(char32_t cp) {
  if (cp == '\r' || cp == '\n') return CharClass::kNewline;
  if (is_white_space(cp)) return CharClass::kSpace;
  if (cp > 0x10FFFF) return CharClass::kOther;
  switch (utf8proc_category(utf8proc_int32_t(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return CharClass::kLetter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return CharClass::kNumber;
    default:
      return CharClass::kOther;
  }
}

// Latin-1 is most of the traffic; a table keeps utf8proc off that path.
std::array<CharClass, 256> make_latin1_table() {
  std::array<CharClass, 256> t{};
  for (char32_t c = 0; c < 256; ++c) t[c] = classify_slow(c);
  return t;
}

}  // namespace

CharClass classify(char32_t cp) {
  static const std::array<CharClass, 256> kLatin1 = make_latin1_table();
  return cp < 256 ? kLatin1[cp] : classify_slow(cp);
}

std::string nfc(std::string_view text) {
  bool ascii = true;
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return std::string(text);
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          utf8proc_ssize_t(text.size()), &out,
                                          utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> guard(out, &std::free);
  // Input is sanitised UTF-8, so the only failure left is out-of-memory.
  CACHEON_ASSERT(n >= 0);
  return std::string(reinterpret_cast<const char*>(out), size_t(n));
}

}  // namespace cacheon::engine::unicode

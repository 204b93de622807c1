// The Unicode facts the Qwen2 pre-split needs, from utf8proc: a per-code-point class and NFC.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace cacheon::engine::unicode {

// \p{L} = Lu Ll Lt Lm Lo; \p{N} = Nd Nl No; \s = the White_Space property, which is what
// Oniguruma (HF tokenizers' regex engine) means by \s in Unicode mode: U+0009..U+000D, U+0020,
// U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
// (JavaScript's \s differs: it adds U+FEFF and lacks U+0085.)
enum class CharClass : uint8_t {
  kOther,    // none of the below (punctuation, symbols, marks, controls, unassigned, ...)
  kLetter,   // \p{L}
  kNumber,   // \p{N}
  kSpace,    // \s except \r and \n
  kNewline,  // \r or \n (also \s)
};

CharClass classify(char32_t cp);

inline bool is_space(CharClass c) { return c == CharClass::kSpace || c == CharClass::kNewline; }

// NFC of well-formed UTF-8 (callers sanitise first). Pure ASCII is returned unchanged cheaply.
std::string nfc(std::string_view text);

}  // namespace cacheon::engine::unicode

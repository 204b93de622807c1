// UTF-8 scanning shared by encode (input sanitising), token_text and the streaming decoder.
// Ill-formed input is replaced one U+FFFD per maximal ill-formed subpart, the Unicode practice
// that Rust's from_utf8_lossy, Python's errors="replace" and WHATWG TextDecoder all follow, so
// our text matches what HF tokenizers/vLLM and Node produce for the same bytes.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace cacheon::engine::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

enum class StepKind { kValid, kInvalid, kTruncated };

struct Step {
  StepKind kind;
  int len;  // bytes of the character (kValid), of the ill-formed subpart (kInvalid), or of the
            // well-formed prefix that ran into the end of the input (kTruncated)
};

// Classifies the sequence starting at s[0]; s must be non-empty.
Step step(std::string_view s);

// Appends s to out with ill-formed subparts replaced by U+FFFD. When `final` is false, a
// well-formed but incomplete sequence at the very end is left unconsumed (it may complete with
// more bytes). Returns the number of bytes consumed.
size_t append_lossy(std::string_view s, std::string& out, bool final);

// The whole of s, ill-formed subparts replaced.
std::string lossy(std::string_view s);

bool is_valid(std::string_view s);

// Appends the UTF-8 encoding of code point cp (which must be a scalar value).
void append_code_point(std::string& out, char32_t cp);

// Decodes the well-formed character at s[0] (callers have validated s).
char32_t decode_valid(const unsigned char* p, int len);

}  // namespace cacheon::engine::utf8

// GPT-2's bytes_to_unicode table: each byte maps to a printable code point so that vocabulary
// strings in tokenizer.json are text. We keep tokens as raw bytes internally and use this table
// only to read the vocabulary and merges.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace cacheon::engine::byte_level {

// The code point that stands for byte b.
char32_t byte_to_code_point(unsigned char b);

// Raw bytes of a byte-level vocabulary string, or nullopt when it contains a code point that
// does not stand for a byte (or is not well-formed UTF-8).
std::optional<std::string> to_bytes(std::string_view byte_level_text);

// The byte-level spelling of raw bytes (the inverse of to_bytes).
std::string from_bytes(std::string_view bytes);

}  // namespace cacheon::engine::byte_level

// The Qwen2 pre-split, hand-written: the regex
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
// with leftmost-first alternation and backtracking exactly as Oniguruma runs it (HF tokenizers'
// Split pre-tokenizer, behaviour Isolated). Every code point is covered by some alternative, so
// the matches tile the text.
#pragma once
#include <string_view>
#include <vector>

namespace cacheon::engine {

// The exact pattern string this pre-split implements (tokenizer.json is checked against it).
inline constexpr std::string_view kQwen2SplitPattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Splits well-formed UTF-8 `text` into pieces (views into text), appended to `pieces`.
void qwen2_pre_split(std::string_view text, std::vector<std::string_view>& pieces);

}  // namespace cacheon::engine

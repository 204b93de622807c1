// Streaming detokenisation for delta.content: token ids go in one at a time, text comes out as
// soon as it is complete UTF-8, never half a character. The concatenation of every push() and
// the final flush() equals the lossy UTF-8 reading of decode(ids): ill-formed bytes become
// U+FFFD as soon as they are known to be ill-formed, and an incomplete sequence left at the end
// becomes one U+FFFD in flush().
#pragma once
#include <cstdint>
#include <string>

#include "engine/tokenizer/tokenizer.h"

namespace cacheon::engine {

class IncrementalDecoder {
 public:
  // skip_special: drop tokens marked special (vLLM's default skip_special_tokens=True).
  explicit IncrementalDecoder(Tokenizer tokenizer, bool skip_special = true)
      : tok_(std::move(tokenizer)), skip_special_(skip_special) {}

  // The text that token `id` completes (often empty while a character is split across tokens).
  std::string push(int32_t id);

  // Whatever is pending, with U+FFFD for an incomplete sequence; the decoder is then empty.
  std::string flush();

  // Bytes held back waiting for the rest of a character (at most 3).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  Tokenizer tok_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace cacheon::engine

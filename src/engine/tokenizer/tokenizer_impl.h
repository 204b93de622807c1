// Internal: the tables behind a Tokenizer, shared by the loader and the encoder.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/tokenizer/bpe.h"
#include "engine/tokenizer/tokenizer.h"

namespace cacheon::engine {

struct AddedToken {
  int32_t id;
  std::string content;
  bool special;
  bool lstrip;  // absorbs White_Space on its left
  bool rstrip;  // absorbs White_Space on its right
};

struct Tokenizer::Impl {
  std::vector<std::string> id_to_bytes;  // raw bytes per id ("" for holes)
  std::vector<uint8_t> added_kind;       // 0 = vocabulary, 1 = added, 2 = added and special
  BytesToId bytes_to_id;                 // vocabulary only, raw bytes
  std::vector<AddedToken> added;         // longest content first (leftmost-longest matching)
  std::array<bool, 256> added_first_byte{};
  bool nfc = false;
  std::unique_ptr<Bpe> bpe;
  int32_t im_start = -1, im_end = -1, endoftext = -1;
  std::vector<int32_t> stops;

  // The next added-token match at or after `from`: [start, end) of the text it consumes
  // (including stripped whitespace) and its index in `added`.
  struct Match {
    size_t start, end;
    size_t token;
  };
  std::optional<Match> find_added(std::string_view text, size_t from, bool parse_special) const;
  void encode_segment(std::string_view segment, std::vector<int32_t>& out) const;
};

}  // namespace cacheon::engine

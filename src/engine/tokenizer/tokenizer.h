// The Qwen2/Qwen2.5 tokenizer, faithful to HF tokenizers on the same tokenizer.json: added
// tokens matched first (leftmost-longest), NFC on the text between them, the Qwen2 pre-split,
// byte-level BPE by merge rank. Tokens are raw bytes internally; the byte-level alphabet of
// tokenizer.json is only used when reading it.
//
// Behaviours worth knowing:
// - Input that is not well-formed UTF-8 is accepted: each maximal ill-formed subpart becomes one
//   U+FFFD before anything else (what a client's TextDecoder / Python errors="replace" would
//   send us for the same bytes).
// - encode(text, parse_special=false) leaves tokens marked "special" in tokenizer.json unparsed
//   (they are tokenised as plain text); non-special added tokens such as <tool_call> are still
//   matched. That is HF's `split_special_tokens=True`.
// - decode() returns raw bytes: ids that cut a character leave an incomplete UTF-8 sequence.
//   Unknown ids are skipped (as HF does).
// - Copies share the immutable tables; every const method is safe to call concurrently.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cacheon::engine {

class Tokenizer {
 public:
  // Errors: "tokenizer_unreadable" (file), "tokenizer_invalid" (malformed JSON or inconsistent
  // vocabulary/merges), "tokenizer_unsupported" (a pipeline other than Qwen2's byte-level BPE, or
  // the ChatML special tokens missing).
  static Result<Tokenizer> from_file(const std::string& tokenizer_json_path);
  static Result<Tokenizer> from_json(std::string_view tokenizer_json);

  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;

  // Concatenated raw bytes of the tokens; with skip_special, tokens marked special are left out.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // Raw bytes of one token (an added token's content); empty for an unknown id.
  const std::string& token_bytes(int32_t id) const;

  // What vLLM reports as a logprob entry's `token`: tokenizer.decode([id]), i.e. the token's
  // bytes as UTF-8 with each ill-formed subpart replaced by U+FFFD (a token holding half a
  // character reads "\uFFFD"); an added token's content; "" for an unknown id.
  std::string token_text(int32_t id) const;

  // One past the largest token id (vocabulary plus added tokens): 151669 for Qwen3's file,
  // 151665 for Qwen2.5's. The model's embedding may be larger (151936); ids in between are
  // unknown here.
  int32_t vocab_size() const;

  // Id of an added token's content or of a vocabulary entry spelled as in tokenizer.json
  // (byte-level alphabet, e.g. "Ġworld").
  std::optional<int32_t> token_id(std::string_view token) const;

  bool is_special(int32_t id) const;  // an added token marked "special": true
  bool is_added(int32_t id) const;    // any added token

  int32_t im_start_id() const;
  int32_t im_end_id() const;
  int32_t endoftext_id() const;
  // The chat model's end of turn, <|im_end|> (eos_token in Qwen2.5-Instruct's tokenizer_config).
  int32_t eos_id() const { return im_end_id(); }
  // Generation stops on these: <|im_end|> and <|endoftext|> (generation_config.json's eos ids).
  std::span<const int32_t> stop_ids() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace cacheon::engine

// The prompt set of an evaluation: passages drawn from a corpus, seeded by the block hash at
// which the evaluation job was created, each wrapped in a task template. Every participant of a
// round gets the same prompts in the same order, so the set is a pure function of
// (corpus contents, block hash, spec): same inputs give a byte-identical set on every platform.
//
// Derivation (harness/rng.h has the generator and the seed rule):
//   rng = Rng(seed_from_block_hash(block_hash))
//   for each prompt, warm-ups first then scored:
//     template  = templates[rng.uniform(12)]
//     repeat up to kMaxDrawsPerPrompt times:
//       document  = drawn with probability proportional to its size in bytes, among documents of
//                   at least `passage length` bytes (cumulative sizes, rng.uniform(total))
//       start     = rng.uniform(size - length + 1), moved forward to a paragraph start, else a
//                   sentence start, else a word start
//       end       = start + length code points, moved back to a paragraph or sentence end, else
//                   a word end
//       accept unless too short (< 90% of the length), overlapping an earlier prompt's passage
//       or rejected by passage_quality_issue()
//   passage length (code points) = max(200, input_tokens * chars_per_token - template length)
//
// Not in scope: talking to servers (trim_prompts takes a token counter), or scoring.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "harness/corpus.h"
#include "openai/chat_request.h"

namespace cacheon::harness {

using ChatMessage = openai::ChatMessage;

struct PromptSpec {
  int warmup = 2;
  int scored = 10;
  int input_tokens = 6000;       // target prompt size, the cap trim_prompts enforces
  int output_tokens = 512;       // max_tokens of each request
  double chars_per_token = 4.6;  // initial passage length estimate, before trimming
};

struct Prompt {
  int index = 0;         // position in the set
  bool warmup = false;
  std::string template_id;
  std::string passage;   // the corpus excerpt (after trimming, the trimmed one)
  std::vector<ChatMessage> messages;  // render_prompt(template_id, passage)
  int target_input_tokens = 0;
  int max_tokens = 0;
  std::optional<int64_t> measured_input_tokens;  // set by trim_prompts
  std::string document;  // corpus document the passage comes from
  size_t offset = 0;     // byte offset of the passage in that document
};

struct PromptSet {
  std::string block_hash;  // canonical form: "0x" + lowercase hex
  uint64_t seed = 0;
  std::string corpus_id;   // Corpus::id()
  std::vector<Prompt> prompts;  // warm-ups first, then scored
};

inline constexpr int kMaxDrawsPerPrompt = 200;

// Errors: "bad_block_hash", "bad_prompt_spec" (counts or sizes out of range),
// "corpus_insufficient" (no document long enough, or no acceptable passage within
// kMaxDrawsPerPrompt draws; the message names the last rejection reason).
Result<PromptSet> make_prompt_set(const Corpus& corpus, std::string_view block_hash_hex,
                                  const PromptSpec& spec);

// The built-in task templates, in draw order. Each asks for an answer long enough to use the
// whole output budget.
const std::vector<std::string>& prompt_template_ids();

// The chat messages for a template and passage (one user message). "unknown_template" if the id
// is not one of prompt_template_ids().
Result<std::vector<ChatMessage>> render_prompt(std::string_view template_id,
                                               std::string_view passage);

// Why a passage is unfit for a prompt, or "" when it is fine. Reasons: "invalid_utf8", "empty",
// "control_chars", "replacement_chars", "few_letters", "many_digits", "markup",
// "mostly_uppercase", "short_lines", "repeated_lines", "repetitive_words", "long_words",
// "few_spaces".
std::string passage_quality_issue(std::string_view passage);

// Counts the prompt tokens of a conversation, e.g. through the server's /tokenize.
using TokenCounter = std::function<Result<int64_t>(const std::vector<ChatMessage>& messages)>;

struct TrimOptions {
  int64_t max_model_len = 0;  // 0 = only aim at target_input_tokens
  int max_rounds = 8;         // counter calls per prompt after the first
};

// Cuts each passage (at word boundaries, from its end) so that its measured tokens are
// <= target_input_tokens and, when max_model_len is given, tokens + max_tokens <= max_model_len.
// A proportional first cut, then bisection between the longest fitting and shortest overflowing
// lengths until within 1% of the limit or out of rounds. Sets measured_input_tokens on every
// prompt; deterministic given the counter. Errors: the counter's own error, passed through, or
// "trim_failed" (no fitting cut found, or no room left for any input).
Status trim_prompts(PromptSet& set, const TokenCounter& count_tokens, const TrimOptions& options);

}  // namespace cacheon::harness

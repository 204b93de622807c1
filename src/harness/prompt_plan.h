// Turning prompt options into the requests of a round: load the corpus, draw the prompt set from
// the block hash, trim it with a server's /tokenize, and build the request specs. Shared by
// `cacheon bench` and `cacheon eval` so both send exactly the same prompts.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/http_client.h"
#include "harness/progress.h"
#include "harness/prompts.h"
#include "harness/runner.h"

namespace cacheon::harness {

struct PromptOptions {
  std::string corpus;      // "" = built-in; a directory, .txt or .jsonl path otherwise
  std::string block_hash;  // hex; "" = a fresh random hash (printed in the report)
  PromptSpec spec;
  bool trim = true;           // trim with the tokenizer server's /tokenize
  int64_t max_model_len = 0;  // 0: the server's reported max_model_len, if any
};

// A random 32-byte block hash as "0x..." hex (used when none is given).
std::string random_block_hash();

// Errors come from the corpus, the prompt draw, or trimming (code "tokenize_failed" when the
// server's /tokenize does not work; trimming is skipped only when trim == false).
Result<PromptSet> prepare_prompts(const PromptOptions& options, const Url& tokenizer_server,
                                  const std::string& model, Progress& progress);

std::vector<RequestSpec> request_specs(const PromptSet& set);

// The prompt set without passage text (the report keeps the text out; it is reproducible).
nlohmann::json prompt_set_json(const PromptSet& set);

}  // namespace cacheon::harness

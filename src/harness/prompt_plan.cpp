#include "harness/prompt_plan.h"

#include <fstream>

#include <fmt/format.h>

#include "core/sha256.h"
#include "harness/server_probe.h"

namespace cacheon::harness {

std::string random_block_hash() {
  std::string bytes(32, '\0');
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  urandom.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return "0x" + hex_encode(bytes);
}

Result<PromptSet> prepare_prompts(const PromptOptions& options, const Url& tokenizer_server,
                                  const std::string& model, Progress& progress) {
  auto corpus = Corpus::load(options.corpus);
  if (!corpus.ok()) return corpus.error();
  std::string hash = options.block_hash.empty() ? random_block_hash() : options.block_hash;
  auto set = make_prompt_set(*corpus, hash, options.spec);
  if (!set.ok()) return set.error();
  if (!options.trim) return set;

  int64_t max_len = options.max_model_len;
  TokenCounter counter = [&](const std::vector<ChatMessage>& messages) -> Result<int64_t> {
    auto tc = count_tokens(tokenizer_server, model, messages);
    if (!tc.ok()) return tc.error();
    if (options.max_model_len == 0 && tc->max_model_len > 0) max_len = tc->max_model_len;
    return tc->count;
  };
  // One call first so the server's max_model_len is known before the trim targets are set.
  auto probe = counter(set->prompts.front().messages);
  if (!probe.ok()) return probe.error();
  progress.message(fmt::format("trimming {} prompts with {}/tokenize (max_model_len {})",
                               set->prompts.size(), tokenizer_server.str(),
                               max_len > 0 ? std::to_string(max_len) : "unknown"));
  TrimOptions trim;
  trim.max_model_len = max_len;
  Status st = trim_prompts(*set, counter, trim);
  if (!st.ok()) return st.error();
  return set;
}

std::vector<RequestSpec> request_specs(const PromptSet& set) {
  std::vector<RequestSpec> specs;
  specs.reserve(set.prompts.size());
  for (const auto& p : set.prompts)
    specs.push_back({p.index, p.warmup, p.messages, p.max_tokens});
  return specs;
}

nlohmann::json prompt_set_json(const PromptSet& set) {
  nlohmann::json prompts = nlohmann::json::array();
  for (const auto& p : set.prompts)
    prompts.push_back({{"index", p.index},
                       {"warmup", p.warmup},
                       {"template", p.template_id},
                       {"document", p.document},
                       {"offset", p.offset},
                       {"passage_bytes", p.passage.size()},
                       {"input_tokens", p.measured_input_tokens
                                            ? nlohmann::json(*p.measured_input_tokens)
                                            : nlohmann::json(nullptr)},
                       {"max_tokens", p.max_tokens}});
  return {{"block_hash", set.block_hash},
          {"seed", fmt::format("{:#018x}", set.seed)},
          {"corpus_id", set.corpus_id},
          {"prompts", std::move(prompts)}};
}

}  // namespace cacheon::harness

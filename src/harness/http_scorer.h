// The teacher-forcing gate's trusted scorer, reached over HTTP. The validator owns this server
// (our reference engine); the candidate's own logprobs are never used for this gate.
//
// Contract (documented in docs/architecture.md, served by cacheon-engine):
//   POST {base}/cacheon/v1/text_logprobs
//   {"model": M, "messages": [{role, content}...], "text": "<assistant text>"}
//   -> 200 {"tokens": ["..."], "token_logprobs": [-0.1, ...]}
// The scorer renders the chat template with the messages and the assistant turn, tokenizes the
// text itself, and returns the logprob of each text token given everything before it.
#pragma once
#include <string>

#include "core/http_client.h"
#include "harness/gates.h"

namespace cacheon::harness {

class HttpTrustedScorer final : public TrustedScorer {
 public:
  HttpTrustedScorer(Url base, std::string model) : base_(std::move(base)), model_(std::move(model)) {}
  Result<std::vector<double>> token_logprobs(const std::vector<GateMessage>& prompt_messages,
                                             std::string_view assistant_text) override;

 private:
  Url base_;
  std::string model_;
};

}  // namespace cacheon::harness

// Pure judgement of what a server sent: a captured stream or a non-stream completion against
// the contract (SPEC §1), as one CheckResult per contract item. No I/O, so unit tests drive every
// failure code with canned bytes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conformance/check_result.h"
#include "conformance/probe.h"

namespace cacheon::conformance {

// One generated token as the server reported it in logprobs.content[].
struct Token {
  std::string token;
  std::string bytes;  // decoded from the int array
  double logprob = 0;
  std::vector<double> top_logprobs;  // the alternatives' logprobs, in the order sent
};

// What the request asked for (the checks' expectations follow from it).
struct Expect {
  int max_tokens = 8;
  int top_logprobs = 5;     // logprobs were requested with this many alternatives
  bool ignore_eos = true;   // so exactly max_tokens tokens and finish_reason "length"
  bool greedy = true;       // temperature 0: every emitted token is its own top-1
  bool include_usage = true;
};

struct UsageSeen {
  int64_t prompt_tokens = -1, completion_tokens = -1, total_tokens = -1;
};

// What the analysis extracted, for cross-request checks (determinism, stop, /tokenize).
struct Generation {
  bool complete = false;  // every check that extracts it passed far enough to trust it
  std::vector<Token> tokens;
  std::string text;
  std::optional<std::string> finish_reason;
  std::optional<UsageSeen> usage;
};

struct Analysis {
  std::vector<CheckResult> results;
  Generation generation;
};

// Check ids (in order): stream.http, stream.transport, stream.chunks, stream.role,
// stream.finish_reason, stream.done, stream.logprobs, stream.greedy, stream.max_tokens,
// stream.usage, stream.text.
Analysis analyze_stream(const StreamCapture& capture, const Expect& expect);

// Check ids: nonstream.response, nonstream.logprobs, nonstream.greedy, nonstream.max_tokens,
// nonstream.usage.
Analysis analyze_completion(const Reply& reply, const Expect& expect);

// Parses logprobs.content[] entries into `out`. On a shape error returns its description
// (one line) and leaves `out` with the entries before it. `top_logprobs` is the count each
// entry's top_logprobs must have.
std::optional<std::string> parse_logprob_entries(const nlohmann::json& content, int top_logprobs,
                                                 std::vector<Token>& out);

// The first token index at which the emitted token is not its own top-1 (beyond a small
// tolerance), or -1.
int first_not_top1(const std::vector<Token>& tokens);

// One line about a transport failure ("disconnected: ...").
std::string describe(const Status& s);

}  // namespace cacheon::conformance

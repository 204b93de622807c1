// The script of the calibrated SSE source: timing, deterministic tokens, and scripted faults.
// Pure functions only (no I/O), so the token stream and the toy tokenizer are testable alone.
//
// Tokens. Position i of a request emits words[H(seed, prompt_hash, i) % W] from a built-in list of
// ~200 words (mostly " word" with a leading space; some multi-byte UTF-8: " café", " 東京", an
// emoji; a few punctuation and newline tokens). Two instances with the same seed emit identical
// tokens and logprobs for the same prompt; a different seed gives different tokens. Outputs are
// prefix-stable: max_tokens only cuts the stream.
//
// Logprobs. The emitted token is normally its own top-1 with logprob in (-0.41, -0.001]; the
// alternatives are other words with strictly decreasing logprobs, each at least 0.6 below the
// previous one.
//
// Divergence (diverge_at = p >= 0). From position p on the emitted token differs from the one the
// seed alone would give. At p exactly the emitted token D stays top-1 (logprob l) and the "true"
// token T (what a same-seed instance without divergence emits) is rank 2 with logprob
// l - diverge_gap, unless diverge_gap > kDropGap, in which case T is absent from the list.
// So against a first-mismatch gate (T in top-5, gap <= 0.5, own top-1): gap 0.3 passes, gap 0.8
// fails on the gap, gap 6 fails on top-5 membership (avoid exactly 0.5: doubles).
//
// Toy tokenizer (POST /tokenize and usage.prompt_tokens), a stand-in for Qwen2's ChatML template:
// per message 3 template tokens (<|im_start|>, role, "\n") + ceil(bytes(content)/4) content tokens
// + 2 (<|im_end|>, "\n"); plus 3 for the generation prompt when add_generation_prompt (default).
// A bare "prompt" string counts ceil(bytes/4), no template. Ids are deterministic: template tokens
// use Qwen2's special ids, content tokens a hash of their 4-byte group.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "openai/chat_request.h"
#include "openai/chunk_writer.h"

namespace cacheon::testserver {

// Scripted misbehaviour. "fault point" = token index floor(fault_at_fraction * n) (clamped into
// the stream), and "fault event" = the SSE event carrying that token. Exact wire behaviour is
// listed in kFaultDocs (script.cpp) and printed by `cacheon-testserver --help`.
enum class Fault {
  kNone,
  kBufferFlush,
  kStall,
  kDisconnect,
  kMalformedJson,
  kInvalidUtf8,
  kLogprobCount,
  kUsageLie,
  kAfterFinish,
  kAfterDone,
  kNoDone,
  kEndless,
  kHugeLine,
  kSlowHeaders,
  kHttp500,
  kErrorEvent,
  kWrongTop1,
  kNeverHealthy,
};

struct FaultInfo {
  Fault fault;
  std::string_view name;
  std::string_view doc;  // one line: what goes on the wire
};
const std::vector<FaultInfo>& all_faults();
Result<Fault> parse_fault(std::string_view name);  // error code "bad_fault"
std::string_view fault_name(Fault f);

struct Script {
  std::string model = "Qwen2.5-72B-Instruct";
  double ttft_ms = 50;
  double itl_ms = 10;
  int tokens = 64;             // output length when the request's max_tokens is larger or absent
  int tokens_per_chunk = 1;    // k tokens per SSE content event
  uint64_t seed = 1;
  int diverge_at = -1;         // -1: never
  double diverge_gap = 0.2;
  std::string fault = "none";
  double fault_at_fraction = 0.5;
  int64_t max_model_len = 32768;
  int startup_delay_ms = 0;    // /health (and the API) answer 503 until then
  bool spin = false;           // busy-wait the last kSpinNs before each write (low concurrency)
};

inline constexpr double kDropGap = 5.0;       // divergence gaps above this drop T from top-N
inline constexpr int64_t kSpinNs = 150'000;  // spin window: covers a VM's p90 timer wake-up
inline constexpr size_t kHugeLineBytes = 8u << 20;
inline constexpr int kSlowHeaderIntervalMs = 100;

// Checks ranges (ttft/itl >= 0, tokens >= 1, chunk >= 1, fault known, ...). Code "bad_script".
Status validate(const Script& s);

// The built-in word list (stable order: part of the determinism contract).
const std::vector<std::string_view>& words();

// 64-bit FNV-1a over the messages (role, NUL, content, NUL each): the "prompt" of the contract.
uint64_t prompt_hash(const std::vector<openai::ChatMessage>& messages);

std::vector<int32_t> toy_tokenize_messages(const std::vector<openai::ChatMessage>& messages,
                                           bool add_generation_prompt);
std::vector<int32_t> toy_tokenize_prompt(std::string_view prompt);
int64_t toy_count_messages(const std::vector<openai::ChatMessage>& messages,
                           bool add_generation_prompt);

// One generated token with its alternatives; string_views point into words() (static).
struct GenToken {
  std::string_view text;
  double logprob = 0;
  std::array<openai::TopTokenOut, 20> top{};
  int top_n = 0;
  openai::TokenOut out() const { return {text, logprob, {top.data(), size_t(top_n)}}; }
};

// The token at `pos`. `top_n` alternatives (0..20) are filled; `wrong_top1` puts another word
// above the emitted one (fault wrong-top1).
GenToken make_token(const Script& s, uint64_t prompt_hash, int64_t pos, int top_n,
                    bool wrong_top1);

}  // namespace cacheon::testserver

// Token auth for remote workers, both ways (see README.md "Security model").
//
// The validator and the worker share one secret token (a file, mode 0600). A request is signed:
//   HMAC-SHA256(token, "cacheon-validator\n" METHOD "\n" TARGET "\n" NONCE "\n" TIME "\n"
//               hex(sha256(body)))
// and carries NONCE (32 lowercase hex), TIME (unix seconds) and the HMAC (64 hex) in headers. The
// worker checks it in constant time, refuses a TIME outside +-kClockSkew and a NONCE it has
// already seen (NonceCache). The worker's answer ends with a proof over the exact bytes of its
// result record, bound to the request's nonce:
//   HMAC-SHA256(token, "cacheon-worker\n" NONCE "\n" hex(sha256(result line)))
// so a result that did not come from a holder of the token is never trusted.
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/status.h"

namespace cacheon::remote {

inline constexpr std::string_view kNonceHeader = "X-Cacheon-Nonce";
inline constexpr std::string_view kTimeHeader = "X-Cacheon-Time";
inline constexpr std::string_view kAuthHeader = "X-Cacheon-Auth";
inline constexpr std::chrono::seconds kClockSkew{300};
inline constexpr size_t kMinTokenBytes = 32;
inline constexpr size_t kMaxTokenBytes = 4096;

// The shared secret. Never printed: no operator<<, no accessor that formats it.
class Token {
 public:
  // Reads the token file: a regular file readable by its owner only (no group/other bits),
  // kMinTokenBytes..kMaxTokenBytes of secret after trailing whitespace is dropped.
  // Error codes: token_unreadable, token_permissions, token_invalid.
  static Result<Token> load(const std::string& path);
  // For tests and `gen-token`: validates the length like load().
  static Result<Token> from_secret(std::string secret);
  const std::string& secret() const { return secret_; }

 private:
  explicit Token(std::string s) : secret_(std::move(s)) {}
  std::string secret_;
};

// Writes a fresh token (32 random bytes, hex) to `path` with mode 0600; refuses to overwrite.
// Error codes: token_exists, token_write_failed.
Status write_new_token_file(const std::string& path);

// Raw 32-byte HMAC-SHA256.
std::string hmac_sha256(std::string_view key, std::string_view message);
// Constant-time equality (lengths compared first: lengths are not secret here).
bool equal_ct(std::string_view a, std::string_view b);
// 16 random bytes as 32 lowercase hex characters.
std::string random_nonce();

struct RequestAuth {
  std::string nonce;
  int64_t time = 0;   // unix seconds
  std::string hmac;   // 64 lowercase hex
};

std::string request_message(std::string_view method, std::string_view target,
                            std::string_view nonce, int64_t time, std::string_view body);
RequestAuth sign_request(const Token& token, std::string_view method, std::string_view target,
                         std::string_view body, int64_t now_unix);

// Remembers the nonces of accepted requests while their time is inside the window, bounded:
// when full of live nonces, new requests are refused (only token holders can fill it).
class NonceCache {
 public:
  explicit NonceCache(size_t capacity = 65536) : capacity_(capacity) {}
  // fresh: new (now remembered); replay: seen and still live; full: no room for it.
  enum class Outcome { fresh, replay, full };
  Outcome remember(const std::string& nonce, int64_t time, int64_t now_unix);

 private:
  std::mutex mu_;
  size_t capacity_;
  std::deque<std::pair<int64_t, std::string>> order_;  // (time, nonce) in arrival order
  std::unordered_set<std::string> seen_;
};

// Checks the three headers' values against the request. Error codes (all -> HTTP 401 except
// replay_cache_full -> 503): auth_missing, auth_malformed, auth_clock_skew, auth_bad_signature,
// auth_replay, replay_cache_full.
Status verify_request(const Token& token, NonceCache& nonces, std::string_view method,
                      std::string_view target, std::string_view body, std::string_view nonce,
                      std::string_view time, std::string_view hmac_hex, int64_t now_unix);

// The worker's proof over its result line (hex); and its check on the validator's side.
std::string result_proof(const Token& token, std::string_view nonce, std::string_view result_line);
bool verify_result_proof(const Token& token, std::string_view nonce, std::string_view result_line,
                         std::string_view proof_hex);

int64_t unix_now();

}  // namespace cacheon::remote

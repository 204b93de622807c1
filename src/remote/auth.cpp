#include "remote/auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/sha256.h"

namespace cacheon::remote {
namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string trim_right(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' ||
                        s.back() == '\t'))
    s.pop_back();
  return s;
}

}  // namespace

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<Token> Token::from_secret(std::string secret) {
  secret = trim_right(std::move(secret));
  if (secret.size() < kMinTokenBytes || secret.size() > kMaxTokenBytes)
    return Error{"token_invalid", fmt::format("the token must be {}..{} bytes (got {}); make one "
                                              "with `cacheon worker gen-token`",
                                              kMinTokenBytes, kMaxTokenBytes, secret.size())};
  return Token(std::move(secret));
}

Result<Token> Token::load(const std::string& path) {
  // O_NOFOLLOW: the permission check must be about the file we read, not a link's target.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return Error{"token_unreadable",
                 fmt::format("cannot open token file {}: {}", path, std::strerror(errno))};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{"token_unreadable", fmt::format("token file {} is not a regular file", path)};
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Error{"token_permissions",
                 fmt::format("token file {} is accessible by group or others (mode {:o}); run "
                             "chmod 600 {}",
                             path, st.st_mode & 0777, path)};
  }
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    return Error{"token_permissions",
                 fmt::format("token file {} is not owned by the user running cacheon", path)};
  }
  std::string data;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxTokenBytes + 16) break;  // bounded: a token is small
  }
  ::close(fd);
  return from_secret(std::move(data));
}

Status write_new_token_file(const std::string& path) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return Error{"token_write_failed", "the system random generator failed"};
  std::string text =
      hex_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw)) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return Error{errno == EEXIST ? "token_exists" : "token_write_failed",
                 fmt::format("cannot create {}: {}", path, std::strerror(errno))};
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) return Error{"token_write_failed", fmt::format("cannot write {}", path)};
  return {};
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_nonce() {
  unsigned char raw[16];
  CACHEON_ASSERT(RAND_bytes(raw, sizeof raw) == 1);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

std::string request_message(std::string_view method, std::string_view target,
                            std::string_view nonce, int64_t time, std::string_view body) {
  return fmt::format("cacheon-validator\n{}\n{}\n{}\n{}\n{}", method, target, nonce, time,
                     sha256_hex(body));
}

RequestAuth sign_request(const Token& token, std::string_view method, std::string_view target,
                         std::string_view body, int64_t now_unix) {
  RequestAuth a;
  a.nonce = random_nonce();
  a.time = now_unix;
  a.hmac = hex_encode(
      hmac_sha256(token.secret(), request_message(method, target, a.nonce, a.time, body)));
  return a;
}

NonceCache::Outcome NonceCache::remember(const std::string& nonce, int64_t time,
                                         int64_t now_unix) {
  std::lock_guard lock(mu_);
  // A nonce can only be replayed while its time is still accepted: forget it after that.
  while (!order_.empty() && order_.front().first + kClockSkew.count() < now_unix) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
  if (seen_.count(nonce)) return Outcome::replay;
  if (seen_.size() >= capacity_) return Outcome::full;
  seen_.insert(nonce);
  // Keep `order_` sorted by time so pruning from the front is exact (times are near `now`).
  auto it = order_.end();
  while (it != order_.begin() && std::prev(it)->first > time) --it;
  order_.insert(it, {time, nonce});
  return Outcome::fresh;
}

Status verify_request(const Token& token, NonceCache& nonces, std::string_view method,
                      std::string_view target, std::string_view body, std::string_view nonce,
                      std::string_view time, std::string_view hmac_hex, int64_t now_unix) {
  if (nonce.empty() || time.empty() || hmac_hex.empty())
    return Error{"auth_missing", "the request is not signed"};
  if (nonce.size() != 32 || !is_lower_hex(nonce) || hmac_hex.size() != 64 ||
      !is_lower_hex(hmac_hex) || time.size() > 12)
    return Error{"auth_malformed", "malformed authentication headers"};
  int64_t t = 0;
  for (char c : time) {
    if (c < '0' || c > '9') return Error{"auth_malformed", "malformed authentication headers"};
    t = t * 10 + (c - '0');
  }
  if (t < now_unix - kClockSkew.count() || t > now_unix + kClockSkew.count())
    return Error{"auth_clock_skew",
                 fmt::format("request time {} is more than {} s from the worker's clock {}", t,
                             kClockSkew.count(), now_unix)};
  const std::string want =
      hmac_sha256(token.secret(), request_message(method, target, nonce, t, body));
  auto got = hex_decode(hmac_hex);
  if (!got.ok() || !equal_ct(*got, want))
    return Error{"auth_bad_signature", "bad request signature (is the token the same?)"};
  // Only after the signature: an attacker cannot fill the cache without the token.
  switch (nonces.remember(std::string(nonce), t, now_unix)) {
    case NonceCache::Outcome::fresh:
      return {};
    case NonceCache::Outcome::replay:
      return Error{"auth_replay", "this request was already received (replay)"};
    case NonceCache::Outcome::full:
      break;
  }
  return Error{"replay_cache_full", "too many requests in the replay window; retry later"};
}

std::string result_proof(const Token& token, std::string_view nonce,
                         std::string_view result_line) {
  return hex_encode(hmac_sha256(
      token.secret(), fmt::format("cacheon-worker\n{}\n{}", nonce, sha256_hex(result_line))));
}

bool verify_result_proof(const Token& token, std::string_view nonce, std::string_view result_line,
                         std::string_view proof_hex) {
  auto got = hex_decode(proof_hex);
  if (!got.ok() || proof_hex.size() != 64) return false;
  return equal_ct(*got, hmac_sha256(token.secret(), fmt::format("cacheon-worker\n{}\n{}", nonce,
                                                                sha256_hex(result_line))));
}

}  // namespace cacheon::remote

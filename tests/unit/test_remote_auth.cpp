// Remote worker auth (src/remote/auth.h): HMAC vectors, request signatures that fail on any
// changed byte, replay and clock-skew refusal, the bounded nonce cache, the worker's result proof,
// and the token file's permission checks.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/sha256.h"
#include "remote/auth.h"

namespace cacheon::remote {
namespace {

namespace fs = std::filesystem;

Token token(char c = 'k') { return *Token::from_secret(std::string(40, c)); }

TEST(RemoteAuth, HmacMatchesRfc4231) {
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex_encode(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_TRUE(equal_ct("abc", "abc"));
  EXPECT_FALSE(equal_ct("abc", "abd"));
  EXPECT_FALSE(equal_ct("abc", "abcd"));
  EXPECT_NE(random_nonce(), random_nonce());
  EXPECT_EQ(random_nonce().size(), 32u);
}

TEST(RemoteAuth, ASignatureCoversEveryField) {
  const Token t = token();
  const int64_t now = 1'700'000'000;
  const RequestAuth a = sign_request(t, "POST", "/v1/evaluate", "{\"x\":1}", now);
  const std::string time = std::to_string(a.time);
  struct Case {
    const char* what;
    std::string method, target, body, nonce, time, hmac;
    Token key;
    const char* code;  // "" = accepted
  };
  const Case cases[] = {
      {"as signed", "POST", "/v1/evaluate", "{\"x\":1}", a.nonce, time, a.hmac, t, ""},
      {"other method", "GET", "/v1/evaluate", "{\"x\":1}", a.nonce, time, a.hmac, t,
       "auth_bad_signature"},
      {"other path", "POST", "/v1/finish-job", "{\"x\":1}", a.nonce, time, a.hmac, t,
       "auth_bad_signature"},
      {"other body", "POST", "/v1/evaluate", "{\"x\":2}", a.nonce, time, a.hmac, t,
       "auth_bad_signature"},
      {"other nonce", "POST", "/v1/evaluate", "{\"x\":1}", std::string(32, '0'), time, a.hmac, t,
       "auth_bad_signature"},
      {"other time", "POST", "/v1/evaluate", "{\"x\":1}", a.nonce, std::to_string(now + 1), a.hmac,
       t, "auth_bad_signature"},
      {"other token", "POST", "/v1/evaluate", "{\"x\":1}", a.nonce, time, a.hmac, token('j'),
       "auth_bad_signature"},
      {"no signature", "POST", "/v1/evaluate", "{\"x\":1}", a.nonce, time, "", t, "auth_missing"},
      {"upper-case hex", "POST", "/v1/evaluate", "{\"x\":1}", a.nonce, time,
       std::string(64, 'A'), t, "auth_malformed"},
      {"short nonce", "POST", "/v1/evaluate", "{\"x\":1}", "abc", time, a.hmac, t,
       "auth_malformed"},
      {"negative time", "POST", "/v1/evaluate", "{\"x\":1}", a.nonce, "-5", a.hmac, t,
       "auth_malformed"},
      {"huge time", "POST", "/v1/evaluate", "{\"x\":1}", a.nonce, std::string(40, '9'), a.hmac, t,
       "auth_malformed"},
  };
  for (const auto& c : cases) {
    NonceCache nonces;
    Status st = verify_request(c.key, nonces, c.method, c.target, c.body, c.nonce, c.time, c.hmac,
                               now);
    if (std::string(c.code).empty())
      EXPECT_TRUE(st.ok()) << c.what << ": " << st.error().message;
    else
      EXPECT_EQ(st.ok() ? "" : st.error().code, c.code) << c.what;
  }
}

TEST(RemoteAuth, ReplaysAndSkewedClocksAreRefused) {
  const Token t = token();
  const int64_t now = 1'700'000'000;
  NonceCache nonces;
  auto check = [&](const RequestAuth& a, int64_t at) {
    Status st = verify_request(t, nonces, "POST", "/p", "", a.nonce, std::to_string(a.time),
                               a.hmac, at);
    return st.ok() ? std::string() : st.error().code;
  };
  const RequestAuth a = sign_request(t, "POST", "/p", "", now);
  EXPECT_EQ(check(a, now), "");
  EXPECT_EQ(check(a, now + 10), "auth_replay");
  EXPECT_EQ(check(a, now + kClockSkew.count()), "auth_replay");       // still live
  EXPECT_EQ(check(a, now + kClockSkew.count() + 1), "auth_clock_skew");  // too old anyway
  EXPECT_EQ(check(sign_request(t, "POST", "/p", "", now + 301), now), "auth_clock_skew");
  EXPECT_EQ(check(sign_request(t, "POST", "/p", "", now - 301), now), "auth_clock_skew");
}

TEST(RemoteAuth, TheNonceCacheIsBoundedAndForgetsExpiredNonces) {
  NonceCache c(2);
  const int64_t now = 1000;
  EXPECT_EQ(c.remember("a", now, now), NonceCache::Outcome::fresh);
  EXPECT_EQ(c.remember("b", now + 1, now), NonceCache::Outcome::fresh);
  EXPECT_EQ(c.remember("c", now, now), NonceCache::Outcome::full);  // live nonces are kept
  EXPECT_EQ(c.remember("a", now, now), NonceCache::Outcome::replay);
  // Once "a" can no longer be accepted (its time is out of the window) it is forgotten.
  const int64_t later = now + kClockSkew.count() + 1;
  EXPECT_EQ(c.remember("c", later, later), NonceCache::Outcome::fresh);
  EXPECT_EQ(c.remember("a", later, later), NonceCache::Outcome::full);  // "b" still live
}

TEST(RemoteAuth, TheResultProofBindsTheNonceTheBytesAndTheToken) {
  const Token t = token();
  const std::string line = R"({"type":"result","result":{"passed":true}})";
  const std::string nonce(32, 'a');
  const std::string proof = result_proof(t, nonce, line);
  EXPECT_EQ(proof.size(), 64u);
  EXPECT_TRUE(verify_result_proof(t, nonce, line, proof));
  EXPECT_FALSE(verify_result_proof(t, std::string(32, 'b'), line, proof));  // another request
  EXPECT_FALSE(verify_result_proof(t, nonce, line + " ", proof));           // changed bytes
  EXPECT_FALSE(verify_result_proof(token('z'), nonce, line, proof));        // another token
  EXPECT_FALSE(verify_result_proof(t, nonce, line, proof.substr(0, 62)));
  EXPECT_FALSE(verify_result_proof(t, nonce, line, "zz" + proof.substr(2)));
  EXPECT_FALSE(verify_result_proof(t, nonce, line, ""));
}

class TokenFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cacheon_token_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text, mode_t mode) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }
  static std::string code(const Result<Token>& t) { return t.ok() ? "" : t.error().code; }
  fs::path dir_;
};

TEST_F(TokenFile, PermissionsAndLengthAreChecked) {
  const std::string secret(40, 's');
  EXPECT_EQ(code(Token::load(write("ok", secret + "\n", 0600))), "");
  EXPECT_EQ(Token::load(write("ok2", secret + "\r\n", 0400))->secret(), secret);
  EXPECT_EQ(code(Token::load(write("world", secret, 0644))), "token_permissions");
  EXPECT_EQ(code(Token::load(write("group", secret, 0640))), "token_permissions");
  EXPECT_EQ(code(Token::load(write("others-w", secret, 0602))), "token_permissions");
  EXPECT_EQ(code(Token::load(write("short", std::string(31, 's') + "\n", 0600))), "token_invalid");
  EXPECT_EQ(code(Token::load(write("huge", std::string(5000, 's'), 0600))), "token_invalid");
  EXPECT_EQ(code(Token::load((dir_ / "missing").string())), "token_unreadable");
  EXPECT_EQ(code(Token::load(dir_.string())), "token_unreadable");  // a directory
  fs::create_symlink(dir_ / "ok", dir_ / "link");
  EXPECT_EQ(code(Token::load((dir_ / "link").string())), "token_unreadable");  // no links
}

TEST_F(TokenFile, GenTokenWritesAPrivateFileAndNeverOverwrites) {
  const std::string p = (dir_ / "t").string();
  ASSERT_TRUE(write_new_token_file(p).ok());
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto t = Token::load(p);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->secret().size(), 64u);
  Status again = write_new_token_file(p);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "token_exists");
  EXPECT_EQ(Token::load(p)->secret(), t->secret());
}

}  // namespace
}  // namespace cacheon::remote

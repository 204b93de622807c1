// Ed25519 keys, signed call encoding, TAO amounts.
#include <gtest/gtest.h>

#include "core/sha256.h"
#include "ledger/call.h"
#include "ledger/keys.h"
#include "ledger/units.h"

namespace cacheon::ledger {
namespace {

std::array<uint8_t, 32> seed(uint8_t b) {
  std::array<uint8_t, 32> s{};
  s.fill(b);
  return s;
}

TEST(LedgerKeys, SignVerifyAndTamper) {
  Keypair k = generate_keypair();
  std::string sig = sign(k, "hello");
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE(verify(k.address(), "hello", sig));
  EXPECT_FALSE(verify(k.address(), "hellO", sig));
  std::string bad = sig;
  bad[10] ^= 1;
  EXPECT_FALSE(verify(k.address(), "hello", bad));
  EXPECT_FALSE(verify(generate_keypair().address(), "hello", sig));
  EXPECT_FALSE(verify(k.address(), "hello", sig.substr(0, 63)));
  EXPECT_FALSE(verify("0x1234", "hello", sig));
}

TEST(LedgerKeys, SeedIsDeterministic) {
  Keypair a = keypair_from_seed(seed(7)), b = keypair_from_seed(seed(7));
  EXPECT_EQ(a.address(), b.address());
  EXPECT_EQ(sign(a, "m"), sign(b, "m"));  // Ed25519 signatures are deterministic
  EXPECT_NE(a.address(), keypair_from_seed(seed(8)).address());
  EXPECT_EQ(seed_of(a), std::string(32, '\7'));
  EXPECT_EQ(a.address().size(), 66u);
  EXPECT_TRUE(parse_address(a.address()).ok());
}

TEST(LedgerKeys, Rfc8032Vector) {
  // RFC 8032 section 7.1, TEST 1: secret 9d61b19d..., public d75a9801...
  auto s = std::array<uint8_t, 32>{0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                                   0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                                   0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
  Keypair k = keypair_from_seed(s);
  EXPECT_EQ(k.address(), "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(hex_encode(sign(k, "")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
}

TEST(LedgerKeys, AddressesAreStrict) {
  for (const char* bad :
       {"", "0x", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "0xD75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A",
        "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511",
        "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511az"})
    EXPECT_EQ(parse_address(bad).error().code, "bad_address") << bad;
}

Call sample(CallKind kind) {
  Call c;
  c.kind = kind;
  c.genesis_hash = keypair_from_seed(seed(1)).address();
  c.signer = keypair_from_seed(seed(2)).address();
  c.nonce = 42;
  c.to = keypair_from_seed(seed(3)).address();
  c.amount_rao = 123;
  c.remark = "cacheon:x";
  c.netuid = 7;
  c.hotkey = keypair_from_seed(seed(4)).address();
  c.data = std::string("d\0ta", 4);
  c.weights = {{0, 65535}, {3, 1}};
  return c;
}

TEST(LedgerCall, EncodeDecodeRoundTripsEveryKind) {
  for (CallKind k :
       {CallKind::kTransfer, CallKind::kRegister, CallKind::kCommit, CallKind::kSetWeights}) {
    Call c = sample(k);
    auto bytes = encode_call(c);
    ASSERT_TRUE(bytes.ok());
    auto back = decode_call(*bytes);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(encode_call(*back).value(), *bytes);
    EXPECT_EQ(back->signer, c.signer);
    EXPECT_EQ(back->nonce, 42u);
    // Every truncation and any trailing byte is refused.
    for (size_t n = 0; n < bytes->size(); ++n)
      EXPECT_EQ(decode_call(std::string_view(*bytes).substr(0, n)).error().code, "bad_call");
    EXPECT_FALSE(decode_call(*bytes + "x").ok());
  }
}

TEST(LedgerCall, EncodeRefusesOutOfRange) {
  Call c = sample(CallKind::kTransfer);
  c.amount_rao = -1;
  EXPECT_EQ(encode_call(c).error().code, "bad_call");
  c = sample(CallKind::kCommit);
  c.netuid = 70000;
  EXPECT_EQ(encode_call(c).error().code, "bad_call");
  c = sample(CallKind::kSetWeights);
  c.weights = {{-1, 1}};
  EXPECT_EQ(encode_call(c).error().code, "bad_call");
  c = sample(CallKind::kTransfer);
  c.to = "alice";
  EXPECT_EQ(encode_call(c).error().code, "bad_call");
}

TEST(LedgerCall, SignaturesAreChecked) {
  Keypair signer = keypair_from_seed(seed(2)), hot = keypair_from_seed(seed(4));
  Call c = sample(CallKind::kRegister);
  auto sc = sign_call(c, signer, &hot);
  ASSERT_TRUE(sc.ok());
  EXPECT_TRUE(verify_signed_call(*sc).ok());
  // A flipped bit anywhere in the signed bytes is caught (decode or signature).
  for (size_t i = 0; i < sc->encoded.size(); ++i) {
    SignedCall t = *sc;
    t.encoded[i] ^= 0x01;
    EXPECT_FALSE(verify_signed_call(t).ok()) << "byte " << i;
  }
  SignedCall no_cosig = *sc;
  no_cosig.cosignature.clear();
  EXPECT_EQ(verify_signed_call(no_cosig).error().code, "bad_signature");
  SignedCall wrong_signer = *sign_call(c, hot, &hot);
  EXPECT_EQ(verify_signed_call(wrong_signer).error().code, "bad_signature");
}

TEST(LedgerUnits, TaoAmounts) {
  struct Case {
    const char* text;
    int64_t rao;  // -1: rejected
  } cases[] = {{"0.1", 100'000'000},
               {"1", 1'000'000'000},
               {"1.000000001", 1'000'000'001},
               {".5", 500'000'000},
               {"0", 0},
               {"9000000000", 9'000'000'000'000'000'000},
               {"", -1},
               {".", -1},
               {"1.", -1},
               {"-1", -1},
               {"1e3", -1},
               {"0.0000000001", -1},
               {"9000000001", -1},
               {"1,5", -1},
               {" 1", -1}};
  for (const Case& c : cases) {
    auto r = parse_tao(c.text);
    if (c.rao < 0)
      EXPECT_EQ(r.error().code, "bad_amount") << c.text;
    else
      EXPECT_EQ(r.value(), c.rao) << c.text;
  }
  EXPECT_EQ(format_tao(100'000'000), "0.1");
  EXPECT_EQ(format_tao(2'000'000'000), "2");
  EXPECT_EQ(format_tao(1'000'000'001), "1.000000001");
  EXPECT_EQ(format_tao(-5), "-0.000000005");
}

}  // namespace
}  // namespace cacheon::ledger

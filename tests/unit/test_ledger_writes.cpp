// LocalLedger writes: every path applies, every rejection has its code and changes nothing.
#include "ledger_fixture.h"

namespace cacheon::ledger {
namespace {

using testing::key;
using testing::LedgerTest;

// A fingerprint of all state the pending block can see: equal before and after a rejection.
std::string state(LocalLedger& l) {
  std::string s = l.head()->hash;
  for (uint8_t b : {1, 2, 3, 4, 5, 6}) s += std::to_string(l.next_nonce(key(b).address()).value());
  auto fund = l.find_transfers(l.faucet().address(), "faucet");
  s += std::to_string(fund->size());
  return s + std::to_string(l.commitment_history(1, key(2).address())->size());
}

TEST_F(LedgerTest, TransferMovesBalanceAtTheNextBlock) {
  LocalLedger& l = make();
  Keypair a = key(1), b = key(3);
  auto f = l.fund(a.address(), 5 * kRaoPerTao);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->block, 1);
  EXPECT_EQ(l.balance(a.address(), 0).value(), 0);  // pending: not visible at head 0
  EXPECT_FALSE(l.find_transfer(f->id)->has_value());
  EXPECT_TRUE(l.find_transfer_any(f->id)->has_value());
  EXPECT_EQ(produce(), 1);
  EXPECT_EQ(l.balance(a.address(), 1).value(), 5 * kRaoPerTao);
  auto t = l.transfer(a, b.address(), kRaoPerTao / 10, "cacheon:hk:sha256:00");
  ASSERT_TRUE(t.ok()) << t.error().message;
  produce();
  EXPECT_EQ(l.balance(a.address(), 2).value(), 4'900'000'000);
  EXPECT_EQ(l.balance(b.address(), 2).value(), 100'000'000);
  auto found = l.find_transfer(t->id);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->remark, "cacheon:hk:sha256:00");
  EXPECT_EQ((*found)->from, a.address());
  EXPECT_EQ((*found)->block, 2);
  EXPECT_EQ(l.find_transfers(a.address(), "cacheon:hk:sha256:00")->size(), 1u);
  EXPECT_EQ(l.balance(l.faucet().address(), 0).value(), l.config().faucet_balance_rao);
}

TEST_F(LedgerTest, RejectionsHaveCodesAndChangeNothing) {
  LocalLedger& l = make(SubnetConfig{1, 2, 0, 100, 0});
  Keypair cold = key(1), hot = key(2), stranger = key(5), other_cold = key(6);
  miner(cold, hot);
  ASSERT_TRUE(l.fund(other_cold.address(), kRaoPerTao).ok());
  produce();
  struct Case {
    const char* name;
    std::function<Error()> write;
    const char* code;
  } cases[] = {
      {"unknown signer", [&] { return l.transfer(stranger, cold.address(), 1, "").error(); },
       "unknown_signer"},
      {"insufficient balance",
       [&] { return l.transfer(cold, stranger.address(), 11 * kRaoPerTao, "").error(); },
       "insufficient_balance"},
      {"zero amount", [&] { return l.transfer(cold, stranger.address(), 0, "").error(); },
       "bad_amount"},
      {"bad recipient", [&] { return l.transfer(cold, "0xAB", 1, "").error(); }, "bad_address"},
      {"remark too long",
       [&] { return l.transfer(cold, stranger.address(), 1, std::string(257, 'r')).error(); },
       "too_large"},
      {"duplicate registration", [&] { return l.register_hotkey(cold, hot, 1).error(); },
       "already_registered"},
      {"hotkey of another coldkey", [&] { return l.register_hotkey(other_cold, hot, 1).error(); },
       "hotkey_owned"},
      {"unknown subnet", [&] { return l.register_hotkey(cold, key(4), 9).error(); },
       "unknown_subnet"},
      {"unfunded coldkey registers", [&] { return l.register_hotkey(stranger, key(4), 1).error(); },
       "unknown_signer"},
      {"hotkey equals coldkey", [&] { return l.register_hotkey(cold, cold, 1).error(); },
       "bad_call"},
      {"unregistered commit", [&] { return l.commit(stranger, 1, "x").error(); }, "not_registered"},
      {"oversize commitment",
       [&] { return l.commit(hot, 1, std::string(kMaxCommitmentBytes + 1, 'd')).error(); },
       "too_large"},
      {"empty commitment", [&] { return l.commit(hot, 1, "").error(); }, "too_large"},
      {"unregistered weights",
       [&] {
         return l.set_weights(stranger, 1, {{0, 1}}).error();
       },
       "not_registered"},
      {"uid out of range",
       [&] {
         return l.set_weights(hot, 1, {{2, 1}}).error();
       },
       "bad_weights"},
      {"repeated uid",
       [&] {
         return l.set_weights(hot, 1, {{0, 1}, {0, 2}}).error();
       },
       "bad_weights"},
      {"no weights", [&] { return l.set_weights(hot, 1, {}).error(); }, "bad_weights"},
  };
  for (const Case& c : cases) {
    std::string before = state(l);
    EXPECT_EQ(c.write().code, c.code) << c.name;
    EXPECT_EQ(state(l), before) << c.name;
  }
  EXPECT_TRUE(l.verify_chain().ok());
}

TEST_F(LedgerTest, TamperedAndReplayedCallsAreRejected) {
  LocalLedger& l = make();
  Keypair a = key(1), b = key(3);
  ASSERT_TRUE(l.fund(a.address(), kRaoPerTao).ok());
  produce();
  Call c;
  c.kind = CallKind::kTransfer;
  c.genesis_hash = l.genesis_hash();
  c.signer = a.address();
  c.nonce = l.next_nonce(a.address()).value();
  c.to = b.address();
  c.amount_rao = 1000;
  auto sc = sign_call(c, a, nullptr);
  ASSERT_TRUE(sc.ok());

  // The amount's last byte sits just before the remark length (4 bytes, remark empty).
  SignedCall more = *sc;
  more.encoded[more.encoded.size() - 5] ^= 0x01;
  EXPECT_EQ(l.submit(more).error().code, "bad_signature");
  SignedCall forged = *sc;
  forged.signature = sign(b, sc->encoded);  // signed by someone else
  EXPECT_EQ(l.submit(forged).error().code, "bad_signature");
  SignedCall garbage = *sc;
  garbage.encoded.resize(20);
  EXPECT_EQ(l.submit(garbage).error().code, "bad_call");
  EXPECT_EQ(l.next_nonce(a.address()).value(), 0u);

  auto ok = l.submit(*sc);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(l.submit(*sc).error().code, "bad_nonce");  // a replay
  Call other_chain = c;
  other_chain.nonce = 1;
  other_chain.genesis_hash = key(9).address();
  EXPECT_EQ(l.submit(*sign_call(other_chain, a, nullptr)).error().code, "wrong_chain");
  produce();
  EXPECT_EQ(l.balance(b.address(), head()).value(), 1000);

  // A registration needs the hotkey's own signature over the same bytes.
  Call reg;
  reg.kind = CallKind::kRegister;
  reg.genesis_hash = l.genesis_hash();
  reg.signer = a.address();
  reg.nonce = 1;
  reg.netuid = 1;
  reg.hotkey = key(2).address();
  EXPECT_EQ(l.submit(*sign_call(reg, a, nullptr)).error().code, "bad_signature");
  EXPECT_EQ(l.submit(*sign_call(reg, a, &b)).error().code, "bad_signature");
  Keypair hot = key(2);
  EXPECT_TRUE(l.submit(*sign_call(reg, a, &hot)).ok());
}

TEST_F(LedgerTest, CommitmentsLatestWins) {
  LocalLedger& l = make();
  Keypair cold = key(1), hot = key(2);
  miner(cold, hot);
  ASSERT_TRUE(l.commit(hot, 1, "first").ok());
  BlockNumber b1 = produce();
  ASSERT_TRUE(l.commit(hot, 1, "second").ok());
  ASSERT_TRUE(l.commit(hot, 1, "third").ok());  // same block: the later one wins
  BlockNumber b2 = produce();
  EXPECT_EQ(l.commitment(1, hot.address(), b1).value()->data, "first");
  EXPECT_EQ(l.commitment(1, hot.address(), b2).value()->data, "third");
  auto all = l.commitments(1, 0, b2);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].block, b1);
  EXPECT_EQ((*all)[1].data, "third");
  EXPECT_EQ(l.commitments(1, b1, b2)->size(), 1u);
  EXPECT_FALSE(l.commitment(1, hot.address(), b1 - 1).value().has_value());
  EXPECT_EQ(l.commitments(1, 0, b2 + 1).error().code, "unknown_block");
  // Both calls are still in the block (and its hash), only the state keeps the latest.
  EXPECT_EQ(l.calls_in_block(b2)->size(), 2u);
}

TEST_F(LedgerTest, SetWeightsIsRateLimited) {
  LocalLedger& l = make(SubnetConfig{1, 8, 0, 3, 0});
  Keypair cold = key(1), hot = key(2);
  miner(cold, hot);  // head 1
  EXPECT_EQ(l.weights_rate_limit(1).value(), 3);
  auto w = l.set_weights(hot, 1, {{0, 65535}, {5, 100}});
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->block, 2);
  produce();  // 2
  // Blocks 3 and 4 are within the limit (2 + 3 = 5 is the next allowed).
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(l.set_weights(hot, 1, {{0, 1}}).error().code, "rate_limited");
    produce();
  }
  ASSERT_TRUE(l.set_weights(hot, 1, {{0, 1}}).ok());  // pending block 5
  produce();
  EXPECT_EQ(l.weights(1, hot.address(), 4).value()->weights.size(), 2u);
  EXPECT_EQ(l.weights(1, hot.address(), 5).value()->block, 5);
  EXPECT_FALSE(l.weights(1, hot.address(), 1).value().has_value());
  EXPECT_EQ(l.all_weights(1, 5)->size(), 1u);
  EXPECT_EQ(l.all_weights(1, 3)->front().weights[1].weight, 100);
}

TEST_F(LedgerTest, RegistrationBurnIsCharged) {
  LocalLedger& l = make(SubnetConfig{1, 8, 0, 100, kRaoPerTao});
  Keypair cold = key(1);
  ASSERT_TRUE(l.fund(cold.address(), kRaoPerTao + 5).ok());
  ASSERT_TRUE(l.register_hotkey(cold, key(2), 1).ok());
  EXPECT_EQ(l.register_hotkey(cold, key(3), 1).error().code, "insufficient_balance");
  produce();
  EXPECT_EQ(l.balance(cold.address(), 1).value(), 5);
}

}  // namespace
}  // namespace cacheon::ledger

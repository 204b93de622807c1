// LocalLedger as a chain: reads at past blocks, UID recycling, the hash chain, the lazy clock,
// finality, and two connections (as two processes) on one file.
#include <fstream>

#include "core/sqlite.h"
#include "ledger_fixture.h"

namespace cacheon::ledger {
namespace {

using testing::key;
using testing::LedgerTest;

TEST_F(LedgerTest, ReadsAtPastBlocksSeeThePast) {
  LocalLedger& l = make(SubnetConfig{1, 2, 0, 0, 0});
  Keypair c1 = key(1), h1 = key(2), c2 = key(3), h2 = key(4), h3 = key(5);
  miner(c1, h1);  // block 1: fund + register h1
  ASSERT_TRUE(l.commit(h1, 1, "v1").ok());
  BlockNumber b2 = produce();
  ASSERT_TRUE(l.transfer(c1, c2.address(), kRaoPerTao, "").ok());
  BlockNumber b3 = produce();
  ASSERT_TRUE(l.register_hotkey(c2, h2, 1).ok());
  ASSERT_TRUE(l.commit(h1, 1, "v2").ok());
  BlockNumber b4 = produce();
  ASSERT_TRUE(l.register_hotkey(c2, h3, 1).ok());  // full: recycles h1's UID 0 (oldest)
  BlockNumber b5 = produce();

  EXPECT_EQ(l.balance(c2.address(), b2).value(), 0);
  EXPECT_EQ(l.balance(c2.address(), b3).value(), kRaoPerTao);
  EXPECT_EQ(l.balance(c1.address(), b2).value(), 10 * kRaoPerTao);
  EXPECT_EQ(l.commitment(1, h1.address(), b3).value()->data, "v1");
  EXPECT_EQ(l.commitment(1, h1.address(), b4).value()->data, "v2");
  auto at4 = l.metagraph(1, b4), at5 = l.metagraph(1, b5), at1 = l.metagraph(1, 1);
  ASSERT_EQ(at1->size(), 1u);
  ASSERT_EQ(at4->size(), 2u);
  EXPECT_EQ((*at4)[0].hotkey, h1.address());
  EXPECT_EQ((*at4)[0].uid, 0);
  EXPECT_EQ((*at4)[1].hotkey, h2.address());
  ASSERT_EQ(at5->size(), 2u);
  EXPECT_EQ((*at5)[0].hotkey, h3.address());  // UID 0 now holds another hotkey
  EXPECT_EQ((*at5)[0].registered_at, b5);
  EXPECT_EQ((*at5)[0].coldkey, c2.address());
  EXPECT_EQ(l.metagraph(1, b5 + 1).error().code, "unknown_block");
  EXPECT_EQ(l.balance(c1.address(), -1).error().code, "unknown_block");
  EXPECT_EQ(l.metagraph(7, b5).error().code, "unknown_subnet");
  // The deregistered hotkey cannot commit; it can register again (its owner's), taking the
  // oldest non-immune UID (h2's, registered at b4).
  EXPECT_EQ(l.commit(h1, 1, "v3").error().code, "not_registered");
  auto back = l.register_hotkey(c1, h1, 1);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->uid, 1);
  EXPECT_EQ(l.register_hotkey(c1, h1, 1).error().code, "already_registered");
  EXPECT_EQ(l.register_hotkey(c2, h1, 1).error().code, "hotkey_owned");
}

TEST_F(LedgerTest, UidRecyclingTable) {
  // Subnet of 3 UIDs, immunity 3 blocks: a full subnet recycles the UID of the oldest
  // registration that is at least 3 blocks old at the pending block, else refuses.
  struct Step {
    uint8_t hotkey;
    const char* code;  // "" accepted
    int uid;
    BlockNumber pending;  // the block the registration goes into
  } steps[] = {
      {20, "", 0, 2},
      {21, "", 1, 3},
      {22, "", 2, 4},  // fills the subnet
      {23, "", 0, 5},  // UID 0 (held since 2) is 3 old
      {24, "", 1, 6},
      {25, "", 2, 7},             // then UID 1, UID 2
      {40, "", 0, 8},             // UID 0 (held since 5) is 3 old
      {41, "subnet_full", 0, 8},  // same block: UIDs held since 6, 7, 8 are all immune
      {41, "", 1, 10},            // after an empty block 9, UID 1 (since 6) is 4 old
  };
  LocalLedger& l = make(SubnetConfig{1, 3, 3, 100, 0});
  Keypair cold = key(1);
  ASSERT_TRUE(l.fund(cold.address(), kRaoPerTao).ok());
  produce();
  for (const Step& s : steps) {
    while (head() + 1 < s.pending) produce();
    ASSERT_EQ(head() + 1, s.pending) << int(s.hotkey);
    auto n = l.register_hotkey(cold, key(s.hotkey), 1);
    if (*s.code) {
      EXPECT_EQ(n.error().code, s.code) << int(s.hotkey);
      continue;
    }
    ASSERT_TRUE(n.ok()) << int(s.hotkey) << ": " << n.error().message;
    EXPECT_EQ(n->uid, s.uid) << int(s.hotkey);
    EXPECT_EQ(n->registered_at, s.pending);
  }
  produce();
  auto mg = l.metagraph(1, head());
  ASSERT_EQ(mg->size(), 3u);
  EXPECT_EQ((*mg)[0].hotkey, key(40).address());
  EXPECT_EQ((*mg)[1].hotkey, key(41).address());
  EXPECT_EQ((*mg)[2].hotkey, key(25).address());
}

TEST_F(LedgerTest, BlocksFormAVerifiableHashChain) {
  LocalLedger& l = make();
  Keypair cold = key(1), hot = key(2);
  miner(cold, hot);
  ASSERT_TRUE(l.commit(hot, 1, "x").ok());
  produce();
  produce();  // an empty one
  auto blocks = l.blocks(0, 100);
  ASSERT_EQ(blocks->size(), 4u);
  for (size_t i = 1; i < blocks->size(); ++i) {
    EXPECT_EQ((*blocks)[i].parent_hash, (*blocks)[i - 1].hash);
    EXPECT_NE((*blocks)[i].hash, (*blocks)[i - 1].hash);
  }
  EXPECT_EQ((*blocks)[0].hash, l.genesis_hash());
  EXPECT_EQ(l.calls_in_block(1)->size(), 2u);  // fund, register
  ASSERT_TRUE(l.verify_chain().ok());

  // Tampering with a stored call (amount of the funding) is caught by the re-verification.
  {
    auto db = SqliteDb::open(path_);
    ASSERT_TRUE(db.ok());
    auto calls = l.calls_in_block(1);
    std::string enc = (*calls)[0].signed_call.encoded;
    enc[enc.size() - 5] ^= 1;
    auto st = db->prepare("UPDATE calls SET encoded = ? WHERE id = ?");
    st->bind_blob(1, enc).bind(2, std::string_view((*calls)[0].id));
    ASSERT_TRUE(st->run());
  }
  auto v = l.verify_chain();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "chain_corrupt");
  EXPECT_NE(v.error().message.find("block 1"), std::string::npos);
}

TEST_F(LedgerTest, GenesisCommitsToTheConfiguration) {
  make(SubnetConfig{1, 256, 4096, 100, 0});
  std::string g1 = ledger_->genesis_hash();
  ledger_.reset();
  remove_files();
  make(SubnetConfig{1, 255, 4096, 100, 0});
  EXPECT_NE(ledger_->genesis_hash(), g1);
  // An edited configuration no longer matches the genesis hash.
  {
    auto db = SqliteDb::open(path_);
    ASSERT_TRUE(
        db->exec("UPDATE config SET value = replace(value, '255', '254') "
                 "WHERE key = 'chain'"));
  }
  EXPECT_EQ(reopen()->verify_chain().error().code, "chain_corrupt");
}

TEST_F(LedgerTest, LazyClockProducesDeterministicBlocks) {
  LocalLedger& l = make({}, 12'000);
  EXPECT_EQ(head(), 0);
  EXPECT_EQ(l.produce_block().error().code, "not_on_demand");
  now_ms_ += 11'999;
  EXPECT_EQ(head(), 0);
  Keypair a = key(1);
  auto f = l.fund(a.address(), 100);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->block, 1);
  now_ms_ += 1;  // slot 1 is due: the pending transfer is sealed in block 1
  EXPECT_EQ(head(), 1);
  EXPECT_EQ(l.balance(a.address(), 1).value(), 100);
  now_ms_ += 12'000 * 5 + 7'000;  // five more slots passed while nobody looked
  auto h = l.head();
  EXPECT_EQ(h->number, 6);
  EXPECT_EQ(h->timestamp_ms, l.block(0)->timestamp_ms + 6 * 12'000);
  // A second connection derives the same blocks (same hashes) from the same clock.
  auto other = reopen();
  now_ms_ += 24'000;
  auto h2 = other->head();
  EXPECT_EQ(h2->number, 8);
  EXPECT_EQ(l.head()->hash, h2->hash);
  EXPECT_TRUE(l.verify_chain().ok());
  // A clock going backwards produces nothing and breaks nothing.
  now_ms_ -= 100'000;
  EXPECT_EQ(head(), 8);
}

TEST_F(LedgerTest, FinalityDepth) {
  LocalLedger& l = make({}, 0, 2);
  EXPECT_EQ(l.finalized()->number, 0);
  for (int i = 0; i < 5; ++i) produce();
  EXPECT_EQ(l.head()->number, 5);
  EXPECT_EQ(l.finalized()->number, 3);
  EXPECT_EQ(l.finalized()->hash, l.block(3)->hash);
  EXPECT_EQ(l.block(6).error().code, "unknown_block");
}

TEST_F(LedgerTest, TwoConnectionsShareOneChain) {
  LocalLedger& a = make();
  auto b = reopen();
  Keypair cold = key(1), hot = key(2);
  ASSERT_TRUE(a.fund(cold.address(), kRaoPerTao).ok());
  // The second connection sees the pending state: nonces, balances for validation.
  auto n = b->register_hotkey(cold, hot, 1);
  ASSERT_TRUE(n.ok()) << n.error().message;
  ASSERT_TRUE(b->produce_block().ok());
  EXPECT_EQ(a.metagraph(1, 1)->size(), 1u);
  // Interleaved writers with one key never reuse a nonce.
  for (int i = 0; i < 10; ++i) {
    LocalLedger& w = i % 2 ? a : *b;
    ASSERT_TRUE(w.transfer(cold, key(3).address(), 1, "").ok()) << i;
  }
  EXPECT_EQ(a.next_nonce(cold.address()).value(), 11u);
  ASSERT_TRUE(a.produce_block().ok());
  EXPECT_EQ(b->balance(key(3).address(), 2).value(), 10);
  EXPECT_TRUE(b->verify_chain().ok());
}

TEST_F(LedgerTest, OpenAndCreateRefuseTheWrongFile) {
  make();
  ChainConfig c;
  EXPECT_EQ(LocalLedger::create(path_, c).error().code, "ledger_exists");
  EXPECT_EQ(LocalLedger::open(path_ + ".missing").error().code, "not_a_ledger");
  std::string other = path_ + ".other";
  { ASSERT_TRUE(SqliteDb::open(other)->exec("CREATE TABLE t (x INTEGER)")); }
  EXPECT_EQ(LocalLedger::open(other).error().code, "not_a_ledger");
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(other + s);
  c.subnets = {SubnetConfig{1, 0, 0, 0, 0}};
  EXPECT_EQ(LocalLedger::create(other, c).error().code, "bad_config");
}

TEST_F(LedgerTest, BlockTimeParsing) {
  struct Case {
    const char* text;
    BlockMode mode;
    int64_t ms;  // -1: rejected
  } cases[] = {{"12s", BlockMode::kClock, 12'000},  {"500ms", BlockMode::kClock, 500},
               {"2.5s", BlockMode::kClock, 2'500},  {"on-demand", BlockMode::kOnDemand, 0},
               {"instant", BlockMode::kInstant, 0}, {"12", BlockMode::kClock, -1},
               {"0s", BlockMode::kClock, -1},       {"-1s", BlockMode::kClock, -1},
               {"s", BlockMode::kClock, -1},        {"1xs", BlockMode::kClock, -1},
               {"90000000s", BlockMode::kClock, -1}};
  for (const Case& c : cases) {
    ChainConfig cfg;
    Status s = parse_block_time(c.text, cfg);
    if (c.ms < 0) {
      EXPECT_EQ(s.error().code, "bad_block_time") << c.text;
      continue;
    }
    ASSERT_TRUE(s.ok()) << c.text;
    EXPECT_EQ(cfg.mode, c.mode) << c.text;
    if (c.mode == BlockMode::kClock) {
      EXPECT_EQ(cfg.block_time_ms, c.ms) << c.text;
    }
  }
}

TEST_F(LedgerTest, InstantModeSealsEveryWrite) {
  ChainConfig c;
  c.mode = BlockMode::kInstant;
  auto created = LocalLedger::create(path_, c, options());
  ASSERT_TRUE(created.ok());
  ledger_ = std::move(*created);
  Keypair cold = key(1), hot = key(2);
  auto f = ledger_->fund(cold.address(), kRaoPerTao);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(head(), f->block);  // sealed before the call returned
  EXPECT_TRUE(ledger_->find_transfer(f->id)->has_value());
  auto n = ledger_->register_hotkey(cold, hot, 1);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->registered_at, 2);
  EXPECT_EQ(ledger_->metagraph(1, head())->size(), 1u);
  EXPECT_EQ(ledger_->commit(hot, 1, "x")->block, 3);
  EXPECT_EQ(ledger_->commitment(1, hot.address(), 3).value()->data, "x");
  EXPECT_TRUE(ledger_->verify_chain().ok());
}

}  // namespace
}  // namespace cacheon::ledger

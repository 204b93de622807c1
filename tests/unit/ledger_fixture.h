// Shared by the test_ledger_* files: a LocalLedger in a temporary file with a settable clock.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "ledger/local_ledger.h"

namespace cacheon::ledger::testing {

inline Keypair key(uint8_t b) {
  std::array<uint8_t, 32> s{};
  s.fill(b);
  return keypair_from_seed(s);
}

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("cacheon_ledger_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db"))
                .string();
    remove_files();
  }
  void TearDown() override {
    ledger_.reset();
    remove_files();
  }
  void remove_files() {
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + s);
  }
  LocalLedger::Options options() {
    LocalLedger::Options o;
    o.now_ms = [this] { return now_ms_; };
    return o;
  }
  // An on-demand chain (or a clock chain when block_time_ms > 0) with subnet 1.
  LocalLedger& make(SubnetConfig subnet = {}, int64_t block_time_ms = 0,
                    int64_t finality_depth = 0) {
    ChainConfig c;
    c.mode = block_time_ms > 0 ? BlockMode::kClock : BlockMode::kOnDemand;
    c.block_time_ms = block_time_ms > 0 ? block_time_ms : 12'000;
    c.finality_depth = finality_depth;
    c.faucet_seed = std::array<uint8_t, 32>{};
    c.subnets = {subnet};
    auto l = LocalLedger::create(path_, c, options());
    EXPECT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
    return *ledger_;
  }
  std::unique_ptr<LocalLedger> reopen() {
    auto l = LocalLedger::open(path_, options());
    EXPECT_TRUE(l.ok()) << l.error().message;
    return std::move(*l);
  }
  BlockNumber produce() {
    auto b = ledger_->produce_block();
    EXPECT_TRUE(b.ok()) << b.error().message;
    return b.ok() ? b->number : -1;
  }
  // A funded coldkey with a registered hotkey on `netuid`, sealed.
  void miner(const Keypair& cold, const Keypair& hot, int netuid = 1) {
    ASSERT_TRUE(ledger_->fund(cold.address(), 10 * kRaoPerTao).ok());
    auto n = ledger_->register_hotkey(cold, hot, netuid);
    ASSERT_TRUE(n.ok()) << n.error().message;
    produce();
  }
  BlockNumber head() { return ledger_->head()->number; }

  std::string path_;
  int64_t now_ms_ = 1'700'000'000'000;
  std::unique_ptr<LocalLedger> ledger_;
};

}  // namespace cacheon::ledger::testing

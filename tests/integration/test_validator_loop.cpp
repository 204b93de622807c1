// The validator loop's control flow on the real LocalLedger, wrapped so a test can make it
// unreachable: payments are deferred (never rejected) while the ledger cannot answer and accepted
// once it can; a hotkey's older commitment is superseded by its newer one; an image the arena
// cannot run is the miner's failure; a round with no leader burns the pool; a ledger that cannot
// say its finalized block fails the pass and the status file says why.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "arena/fee.h"
#include "arena/submission.h"
#include "ledger/local_ledger.h"
#include "store/arena_store.h"
#include "runner/local_launcher.h"
#include "validator/validator.h"

namespace cacheon::validator {
using namespace runner;  // ServerLauncher and LocalProcessLauncher
namespace {

namespace fs = std::filesystem;
using ledger::Keypair;

// The real ledger, with reads that can be switched off (a lost RPC connection).
class FlakyLedger final : public ledger::Ledger {
 public:
  explicit FlakyLedger(ledger::Ledger& l) : l_(l) {}
  bool down = false;
  bool finality_down = false;
  Error unreachable() const { return {"ledger_unreachable", "connection refused (test)"}; }
  Result<ledger::BlockInfo> head() override { return l_.head(); }
  Result<ledger::BlockInfo> finalized() override {
    if (finality_down) return unreachable();
    return l_.finalized();
  }
  Result<ledger::BlockInfo> block(ledger::BlockNumber n) override { return l_.block(n); }
  Result<int64_t> balance(std::string_view c, ledger::BlockNumber at) override {
    return l_.balance(c, at);
  }
  Result<std::vector<ledger::Neuron>> metagraph(int netuid, ledger::BlockNumber at) override {
    if (down) return unreachable();
    return l_.metagraph(netuid, at);
  }
  Result<std::vector<ledger::Commitment>> commitments(int netuid, ledger::BlockNumber from,
                                                      ledger::BlockNumber to) override {
    return l_.commitments(netuid, from, to);
  }
  Result<std::optional<ledger::Commitment>> commitment(int netuid, std::string_view hk,
                                                       ledger::BlockNumber at) override {
    return l_.commitment(netuid, hk, at);
  }
  Result<std::optional<ledger::Transfer>> find_transfer(std::string_view id) override {
    if (down) return unreachable();
    return l_.find_transfer(id);
  }
  Result<std::optional<ledger::WeightsSet>> weights(int netuid, std::string_view v,
                                                    ledger::BlockNumber at) override {
    return l_.weights(netuid, v, at);
  }
  Result<int64_t> weights_rate_limit(int netuid) override { return l_.weights_rate_limit(netuid); }
  Result<ledger::Transfer> transfer(const Keypair& f, std::string_view t, int64_t a,
                                    std::string_view r) override {
    return l_.transfer(f, t, a, r);
  }
  Result<ledger::Neuron> register_hotkey(const Keypair& c, const Keypair& h, int n) override {
    return l_.register_hotkey(c, h, n);
  }
  Result<ledger::Commitment> commit(const Keypair& h, int n, std::string_view d) override {
    return l_.commit(h, n, d);
  }
  Result<ledger::WeightsSet> set_weights(const Keypair& v, int n,
                                         const std::vector<ledger::UidWeight>& w) override {
    return l_.set_weights(v, n, w);
  }

 private:
  ledger::Ledger& l_;
};

Keypair key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return ledger::keypair_from_seed(seed);
}

TEST(ValidatorLoop, DefersWhileTheLedgerIsDownThenEvaluates) {
  const fs::path work =
      fs::temp_directory_path() / ("cacheon_validator_loop_" + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::create_directories(work);
  ledger::ChainConfig chain;
  chain.mode = ledger::BlockMode::kInstant;
  chain.subnets = {ledger::SubnetConfig{1, 64, 4096, 1, 0}};
  auto real = ledger::LocalLedger::create((work / "ledger.db").string(), chain);
  ASSERT_TRUE(real.ok()) << real.error().message;
  FlakyLedger ledger(**real);
  Keypair vcold = key(1), vhot = key(2), arena_acct = key(3), cold = key(4), hot = key(5);
  ASSERT_TRUE((*real)->fund(vcold.address(), ledger::kRaoPerTao).ok());
  ASSERT_TRUE((*real)->fund(cold.address(), ledger::kRaoPerTao).ok());
  ASSERT_TRUE((*real)->register_hotkey(vcold, vhot, 1).ok());
  auto miner_uid = (*real)->register_hotkey(cold, hot, 1);
  ASSERT_TRUE(miner_uid.ok());
  const std::string d1 = "sha256:" + std::string(64, '1'), d2 = "sha256:" + std::string(64, '2');
  for (const auto& d : {d1, d2}) {  // two commitments of one hotkey: the second is current
    auto paid = (*real)->transfer(cold, arena_acct.address(), 100'000'000,
                                  arena::fee_remark(hot.address(), d));
    ASSERT_TRUE(paid.ok());
    auto c = (*real)->commit(hot, 1, *arena::serialize_commitment({1, "ghcr.io/m/x", d, paid->id}));
    ASSERT_TRUE(c.ok()) << c.error().message;
  }

  const std::string text =
      "[arena]\nmodel = \"tiny\"\npayment_account = \"" + arena_acct.address() +
      "\"\n[ledger]\npath = \"ledger.db\"\n[validator]\nstore = \"arena.db\"\n"
      "[workload]\nprompts = 1\nwarmup = 0\ninput_tokens = 64\noutput_tokens = 4\n"
      "[timeouts]\nstartup_s = 10\n[baseline]\ncommand = [\"" +
      std::string(CACHEON_BIN_DIR) + "/cacheon-testserver\", \"--port\", \"0\", \"--model\", "
      "\"tiny\"]\n";
  auto cfg = parse_config(text, "loop.toml", work.string());
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto st = store::ArenaStore::open(cfg->store_path);
  ASSERT_TRUE(st.ok());
  LocalProcessLauncher launcher({}, std::chrono::milliseconds(1000));
  harness::Progress progress(false, true);
  Validator v(*cfg, ledger, *st, launcher, vhot, progress);

  ledger.down = true;
  auto p1 = v.run_once();
  ASSERT_TRUE(p1.ok()) << p1.error().message;
  EXPECT_EQ(p1->scanned, 2);
  EXPECT_EQ(p1->deferred, 1);
  EXPECT_FALSE(p1->round_id.has_value());
  auto subs = *st->all_submissions();
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].state, store::SubmissionState::rejected);
  EXPECT_EQ(subs[0].reason, "superseded");
  EXPECT_EQ(subs[1].state, store::SubmissionState::deferred);
  EXPECT_EQ(subs[1].reason, arena::fee_code::kLedgerUnreachable);
  EXPECT_FALSE(*st->proof_used(subs[1].sub.payment_proof));

  ledger.down = false;
  auto p2 = v.run_once();
  ASSERT_TRUE(p2.ok()) << p2.error().message;
  EXPECT_EQ(p2->accepted, 1);
  ASSERT_TRUE(p2->round_id.has_value());
  EXPECT_TRUE(p2->round_finished);
  auto evals = *st->evaluations(*p2->round_id);
  ASSERT_EQ(evals.size(), 1u);
  ASSERT_TRUE(evals[0].result.has_value());
  EXPECT_EQ(evals[0].result->reason_code, launch_code::kImageUnavailable);
  EXPECT_EQ(evals[0].result->blame, "candidate");
  EXPECT_TRUE(evals[0].result->decided);
  EXPECT_EQ((*st->submission(evals[0].participant.key))->state,
            store::SubmissionState::evaluated);
  auto standings = *st->latest_standings();
  ASSERT_TRUE(standings.has_value());
  EXPECT_FALSE(standings->leader.has_value());
  // No leader: the whole pool goes to the burn UID (0, the validator's own here).
  auto w = (*real)->weights(1, vhot.address(), (*real)->head()->number);
  ASSERT_TRUE(w.ok() && w->has_value());
  ASSERT_EQ((*w)->weights.size(), 1u);
  EXPECT_EQ((*w)->weights[0].uid, 0);
  EXPECT_EQ((*w)->weights[0].weight, 65535);

  ledger.finality_down = true;
  auto p3 = v.run_once();
  ASSERT_FALSE(p3.ok());
  EXPECT_EQ(p3.error().code, "ledger_unreachable");
  std::ifstream f(cfg->status_path);
  auto status = nlohmann::json::parse(f, nullptr, false);
  ASSERT_TRUE(status.is_object());
  EXPECT_NE(status["error"].get<std::string>().find("ledger_unreachable"), std::string::npos);
  fs::remove_all(work);
}

}  // namespace
}  // namespace cacheon::validator

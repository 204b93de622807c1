// The validator's TOML config: the shipped example parses, defaults are documented values,
// every bad value and unknown key is an error that names the key.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "validator/config.h"
#include "validator/crash_points.h"

namespace cacheon::validator {
namespace {

const std::string kAccount = "0x" + std::string(64, 'a');
// `extra` plus the required keys, merged into extra's own [arena]/[ledger]/[baseline] tables
// when it has them (TOML forbids defining a table twice).
Result<ValidatorConfig> parse(const std::string& extra, const std::string& base = "/cfg") {
  std::string text = extra;
  auto inject = [&](const std::string& header, const std::string& line) {
    size_t at = text.find(header + "\n");
    if (at == std::string::npos)
      text += "\n" + header + "\n" + line;
    else
      text.insert(at + header.size() + 1, line);
  };
  inject("[arena]", "payment_account = \"" + kAccount + "\"\n");
  inject("[ledger]", "path = \"l.db\"\n");
  inject("[baseline]", "command = [\"cacheon-engine\", \"serve\"]\n");
  return parse_config(text, "test.toml", base);
}

TEST(ValidatorConfig, TheShippedExampleParses) {
  std::ifstream f(std::string(CACHEON_TEST_DATA) + "/../../config/validator.example.toml");
  ASSERT_TRUE(f) << "config/validator.example.toml missing";
  std::stringstream ss;
  ss << f.rdbuf();
  auto c = parse_config(ss.str(), "validator.example.toml", "/etc/cacheon");
  ASSERT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  // The example documents the defaults: parsing it must give the same values as the structs.
  ValidatorConfig d;
  EXPECT_EQ(c->model, d.model);
  EXPECT_EQ(c->fee_rao, d.fee_rao);
  EXPECT_EQ(c->tempo, d.tempo);
  EXPECT_EQ(c->prompts.spec.scored, d.prompts.spec.scored);
  EXPECT_EQ(c->prompts.spec.input_tokens, d.prompts.spec.input_tokens);
  EXPECT_EQ(c->startup_timeout, d.startup_timeout);
  EXPECT_EQ(c->poll_interval, d.poll_interval);
  EXPECT_EQ(c->sequence, d.sequence);
  EXPECT_EQ(c->policy.name(), d.policy.name());
  EXPECT_EQ(c->margin.decay_blocks, d.margin.decay_blocks);
  EXPECT_DOUBLE_EQ(c->weights.target, d.weights.target);
  EXPECT_EQ(c->store_path, "/etc/cacheon/arena.db");
  EXPECT_EQ(c->ledger_path, "/etc/cacheon/ledger.db");
  EXPECT_EQ(c->live_path, "/etc/cacheon/live.json");
  EXPECT_EQ(c->log_path, "/etc/cacheon/validator.log");
  EXPECT_EQ(c->dashboard_listen, d.dashboard_listen);
  EXPECT_DOUBLE_EQ(c->dashboard_rate_per_s, d.dashboard_rate_per_s);
  EXPECT_EQ(c->dashboard_burst, d.dashboard_burst);
}

TEST(ValidatorConfig, DashboardAndItsFiles) {
  auto c = parse(
      "[validator]\nlive_file = \"\"\nlog_file = \"/var/log/v.log\"\n"
      "[dashboard]\nlisten = \"0.0.0.0:8080\"\nrate_per_s = 5.0\nburst = 10\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->live_path, "");  // off
  EXPECT_EQ(c->log_path, "/var/log/v.log");
  EXPECT_EQ(c->dashboard_listen, "0.0.0.0:8080");
  EXPECT_DOUBLE_EQ(c->dashboard_rate_per_s, 5.0);
  EXPECT_EQ(c->dashboard_burst, 10);
  for (const char* bad : {"[dashboard]\nburst = 0\n", "[dashboard]\nrate_per_s = 0.0\n",
                          "[dashboard]\nlisten = 8080\n", "[dashboard]\nport = 1\n"}) {
    auto b = parse(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.error().message.find("dashboard."), std::string::npos) << b.error().message;
  }
}

TEST(ValidatorConfig, MinimalFileGetsDefaultsAndResolvesPaths) {
  auto c = parse("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->payment_account, kAccount);
  EXPECT_EQ(c->ledger_path, "/cfg/l.db");
  EXPECT_EQ(c->logs_dir, "/cfg/logs");
  EXPECT_EQ(c->baseline.argv, (std::vector<std::string>{"cacheon-engine", "serve"}));
  EXPECT_EQ(c->run.model, c->model);
  auto abs = parse("[validator]\nstore = \"/var/a.db\"\n");
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs->store_path, "/var/a.db");
}

TEST(ValidatorConfig, ValuesAreRead) {
  auto c = parse(
      "[workload]\nprompts = 3\ninput_tokens = 300\noutput_tokens = 16\nwarmup = 1\n"
      "policy = \"ttft-tps\"\nsequence = \"B,C\"\ngates = \"structural\"\n"
      "[timeouts]\nstartup_s = 30\nread_s = 2.5\n"
      "[margin]\npolicy = \"fixed\"\nfixed = 0.02\n"
      "[weights]\nburn_uid = 7\nschedule = [{from_block = 10, fraction = 0.5}]\n"
      "[launcher.local.images]\n\"ghcr.io/a/b:v1@sha256:" +
      std::string(64, '1') + "\" = [\"x\", \"--port\", \"0\"]\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->prompts.spec.scored, 3);
  EXPECT_EQ(c->prompts.spec.warmup, 1);
  EXPECT_EQ(c->policy.name(), "ttft-tps@1");
  EXPECT_EQ(c->sequence, (std::vector<char>{'B', 'C'}));
  EXPECT_FALSE(c->gates.first_mismatch);
  EXPECT_EQ(c->startup_timeout, std::chrono::milliseconds(30'000));
  EXPECT_EQ(c->run.timeouts.read_idle, std::chrono::milliseconds(2'500));
  EXPECT_EQ(c->margin.kind, arena::MarginPolicy::Kind::fixed);
  EXPECT_DOUBLE_EQ(c->margin.fixed, 0.02);
  EXPECT_EQ(c->weights.burn_uid, 7);
  ASSERT_EQ(c->weights.schedule.size(), 1u);
  EXPECT_EQ(c->weights.schedule[0].from_block, 10);
  // The tag is dropped: the key is what the launcher looks up (name@digest).
  ASSERT_EQ(c->local_images.size(), 1u);
  EXPECT_EQ(c->local_images.begin()->first, "ghcr.io/a/b@sha256:" + std::string(64, '1'));
}

struct BadCase {
  std::string text;
  std::string names;  // the message must contain this
};

TEST(ValidatorConfig, EveryBadValueNamesItsKey) {
  const std::string d64(64, '1');
  const BadCase cases[] = {
      {"[arena]\nnetuidd = 1\n", "arena.netuidd: unknown key"},
      {"[workload]\nprompt = 3\n", "workload.prompt: unknown key"},
      {"[wrkload]\nprompts = 3\n", "wrkload: unknown key"},
      {"[workload]\nprompts = 0\n", "workload.prompts: must be an integer in 1..10000"},
      {"[workload]\nprompts = \"3\"\n", "workload.prompts"},
      {"[workload]\nprompts = 2.5\n", "workload.prompts"},
      {"[workload]\npolicy = \"fastest\"\n", "workload.policy"},
      {"[workload]\ngates = \"first-mismatch,bogus\"\n", "workload.gates"},
      {"[workload]\nsequence = \"C,C\"\n", "workload.sequence"},
      {"[workload]\nload = \"rate:-1\"\n", "workload.load"},
      {"[workload]\ngates = \"teacher-forcing\"\n", "baseline.scorer"},
      {"[workload]\ntop_logprobs = 21\n", "workload.top_logprobs"},
      {"[timeouts]\nstartup_s = -1\n", "timeouts.startup_s"},
      {"[timeouts]\nread_s = nan\n", "timeouts.read_s"},
      {"[margin]\npolicy = \"exponential\"\n", "margin.policy"},
      {"[margin]\ninitial = 1.5\n", "margin.initial"},
      {"[weights]\nleader_share = 1.2\n", "weights.leader_share"},
      {"[weights]\nschedule = [{from_block = 5}]\n", "weights.schedule[0]"},
      {"[weights]\nschedule = [{from_block = 5, fraction = 0.1, x = 1}]\n", "schedule[0].x"},
      {"[weights]\nschedule = [{from_block = 5, fraction = 0.1}, {from_block = 5, fraction = 0.2}]\n",
       "weights.schedule"},
      {"[validator]\nwallet = \"../etc\"\n", "validator.wallet"},
      {"[validator]\npoll_interval_s = 0\n", "validator.poll_interval_s"},
      {"[ledger]\nbackend = \"subtensor\"\n", "ledger.backend"},
      {"[launcher]\nkind = \"docker\"\n", "launcher.kind"},
      {"[launcher.local.images]\n\"ghcr.io/a/b\" = [\"x\"]\n", "launcher.local.images.\"ghcr.io/a/b\""},
      {"[launcher.local.images]\n\"ghcr.io/a/b@sha256:" + d64 + "\" = []\n", "images"},
      {"[launcher.local.images]\n\"ghcr.io/a/b@sha256:" + d64 + "\" = [\"\"]\n", "images"},
      {"[launcher.local]\nimagez = {}\n", "launcher.local.imagez: unknown key"},
      {"[arena]\nfee = 0.1\n", "arena.fee"},
      {"[arena]\nfee = \"-1\"\n", "arena.fee"},
      {"not toml at all = = =\n", "line 1"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.text);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.text;
    EXPECT_EQ(r.error().code, "config_invalid");
    EXPECT_NE(r.error().message.find(c.names), std::string::npos)
        << "for " << c.text << " got: " << r.error().message;
    EXPECT_EQ(r.error().message.rfind("test.toml: ", 0), 0u) << r.error().message;
  }
}

TEST(ValidatorConfig, RequiredKeysAreRequired) {
  auto no_account = parse_config("[ledger]\npath = \"x\"\n[baseline]\ncommand = [\"a\"]\n", "t",
                                 "");
  ASSERT_FALSE(no_account.ok());
  EXPECT_NE(no_account.error().message.find("arena.payment_account"), std::string::npos);
  auto no_baseline = parse_config("[arena]\npayment_account = \"" + kAccount +
                                      "\"\n[ledger]\npath = \"x\"\n",
                                  "t", "");
  ASSERT_FALSE(no_baseline.ok());
  EXPECT_NE(no_baseline.error().message.find("baseline.command"), std::string::npos);
  auto bad = parse_config("[arena]\npayment_account = \"0xABC\"\n[ledger]\npath = \"x\"\n"
                          "[baseline]\ncommand = [\"a\"]\n",
                          "t", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("arena.payment_account"), std::string::npos);
}

TEST(CrashPoints, ParseAndCount) {
  EXPECT_FALSE(CrashPoints::parse("").value().armed());
  auto c = CrashPoints::parse("eval.claimed:3");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->armed());
  c->hit("eval.claimed");
  c->hit("eval.claimed");  // the third would kill the process
  c->hit("round.done");
  EXPECT_EQ(c->hits("eval.claimed"), 2);
  EXPECT_EQ(c->hits("round.done"), 1);
  for (const char* bad : {"eval.claimed", "nope:1", "eval.claimed:0", "eval.claimed:x",
                          "eval.claimed:-1", ":1", "eval.claimed:99999999"}) {
    auto r = CrashPoints::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "bad_crash_point");
  }
  EXPECT_EQ(CrashPoints::names().size(), 16u);
  for (auto n : CrashPoints::names())
    EXPECT_TRUE(CrashPoints::parse(std::string(n) + ":1").ok()) << n;
}

TEST(CrashPointsDeathTest, KillsLikeKillDashNine) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        auto c = CrashPoints::parse("round.scored:2");
        c->hit("round.scored");
        c->hit("round.scored");
        std::exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "");
}

}  // namespace
}  // namespace cacheon::validator

// Shared by the validator's end-to-end tests (test_validator_e2e.cpp, test_validator_crash.cpp):
// deterministic keys, pinned digests, cacheon-engine command lines for [launcher.local.images],
// a miner that pays and commits on the embedded ledger, and the check that no engine started
// by a test outlived it; and the final state of a validator's work directory as comparable text.
// Inline: both files link into one binary.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "arena/fee.h"
#include "arena/submission.h"
#include "core/sqlite.h"
#include "ledger/call.h"
#include "ledger/local_ledger.h"
#include "store/arena_store.h"

namespace cacheon::validator::fixture {

namespace fs = std::filesystem;
using ledger::Keypair;

inline const std::string kEngine = std::string(CACHEON_BIN_DIR) + "/cacheon-engine";
inline const std::string kCacheon = std::string(CACHEON_BIN_DIR) + "/cacheon";
inline constexpr int kNetuid = 1;
inline constexpr int64_t kFee = 100'000'000;  // 0.1 TAO, the configs' fee

inline Keypair key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return ledger::keypair_from_seed(seed);
}

inline std::string digest(char c) { return "sha256:" + std::string(64, c); }

// A TOML array: cacheon-engine serving `model` as "tiny" on a free port, one compute thread.
inline std::string engine_cmd(const fs::path& model, const std::string& extra) {
  std::string s = "[\"" + kEngine + "\", \"serve\", \"--model\", \"" + model.string() +
                  "\", \"--served-model-name\", \"tiny\", \"--port\", \"0\", \"--max-model-len\", "
                  "\"2048\", \"--threads\", \"1\"";
  if (!extra.empty()) s += ", " + extra;
  return s + "]";
}

// The validator config both end-to-end tests use: the baseline and three miners' images (fast:
// default engine; medium: another prefill chunk; wrong: the model `m1`), each test choosing the
// workload and the chunk sizes.
struct RoundConfig {
  std::string payment_account;
  fs::path m0, m1;  // the model and the wrong model
  int baseline_chunk = 8, medium_chunk = 24;
  std::string workload;  // the [workload] table's lines
  double stop_grace_s = 5;
  std::string validator_extra;  // more [validator] lines
};

inline std::string round_config_text(const RoundConfig& c) {
  const auto chunk = [](int n) { return "\"--prefill-chunk\", \"" + std::to_string(n) + "\""; };
  std::ostringstream t;
  t << "[arena]\nmodel = \"tiny\"\nnetuid = 1\npayment_account = \"" << c.payment_account
    << "\"\nfee = \"0.1\"\ntempo = 360\n"
    << "[ledger]\npath = \"ledger.db\"\n"
    << "[validator]\nwallets_dir = \"wallets\"\nstore = \"arena.db\"\nlogs_dir = \"logs\"\n"
    << "status_file = \"status.json\"\n" << c.validator_extra
    << "[workload]\n" << c.workload
    << "[timeouts]\nstartup_s = 60\nstop_grace_s = " << c.stop_grace_s << "\n"
    << "[baseline]\ncommand = " << engine_cmd(c.m0, chunk(c.baseline_chunk)) << "\n"
    << "[launcher.local.images]\n"
    << "\"ghcr.io/miner/fast@" << digest('1') << "\" = " << engine_cmd(c.m0, "") << "\n"
    << "\"ghcr.io/miner/medium@" << digest('2') << "\" = "
    << engine_cmd(c.m0, chunk(c.medium_chunk)) << "\n"
    << "\"ghcr.io/miner/wrong@" << digest('3') << "\" = " << engine_cmd(c.m1, "") << "\n";
  return t.str();
}

struct Miner {
  Keypair cold, hot;
};

// A registered miner (coldkey seed `seed`, hotkey seed + 100) that pays the fee to `arena` (with
// `remark`, default the right one) and commits `raw` (default the canonical payload).
inline Miner submit_miner(ledger::LocalLedger& l, const Keypair& arena, uint8_t seed,
                          const std::string& image, const std::string& dig,
                          std::optional<std::string> remark = std::nullopt,
                          std::string raw = "") {
  Miner m{key(seed), key(static_cast<uint8_t>(seed + 100))};
  EXPECT_TRUE(l.fund(m.cold.address(), ledger::kRaoPerTao).ok());
  auto reg = l.register_hotkey(m.cold, m.hot, kNetuid);
  EXPECT_TRUE(reg.ok()) << reg.error().message;
  auto paid = l.transfer(m.cold, arena.address(), kFee,
                         remark.value_or(arena::fee_remark(m.hot.address(), dig)));
  EXPECT_TRUE(paid.ok()) << paid.error().message;
  if (raw.empty() && paid.ok()) raw = *arena::serialize_commitment({1, image, dig, paid->id});
  auto c = l.commit(m.hot, kNetuid, raw);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return m;
}

// Engines whose command line names a path under work.parent_path() (the suite's directory, where
// the models live) that are still alive. Zombies have an empty cmdline and do not count.
inline int live_engines(const fs::path& work) {
  int n = 0;
  for (const auto& p : fs::directory_iterator("/proc")) {
    std::ifstream f(p.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (cmd.find(kEngine) == 0 && cmd.find(work.parent_path().string()) != std::string::npos) ++n;
  }
  return n;
}

// The final state of a validator's work directory (store, ledger, status file) as text to compare
// between runs: identities, states and reason codes, never measured timings.
struct Outcome {
  std::map<std::string, std::string> submissions;  // "hotkey@block" -> "state reason"
  std::vector<std::string> rounds;                 // "id block hash state"
  std::vector<std::string> evaluations;            // identity, state, verdict, prompt count
  std::string leader, runner_up;                   // "hotkey@block uid= crowned="
  std::vector<std::string> events;                 // the standings' events: "code role hotkey"
  size_t standings_rows = 0;
  std::vector<std::string> proofs;          // consumed payment proofs: "proof hotkey@block"
  std::vector<std::string> ledger_weights;  // the validator's set_weights calls: "block: uid=w"
  std::string store_weights;                // the store's one 'set' row: "block vector"
  int64_t ledger_head = -1;
  std::string status_leader;  // status.json's leader hotkey
  // Not compared: a kill makes a re-run, and scores are measured timings.
  int attempts = 0;  // claims, summed
  double leader_score = 0, runner_up_score = 0;
};

inline int64_t count_rows(SqliteDb& db, const std::string& sql) {
  auto q = db.prepare(sql);
  EXPECT_TRUE(q.ok()) << sql;
  if (!q.ok()) return -1;
  auto row = q->step();
  return row.ok() && *row ? q->column_int(0) : -1;
}

// Reads `work` after a completed pass and checks the store's invariants on the way: nothing left
// pending or running, one evaluation per (round, hotkey, commit_block), no per-prompt row without
// its finished evaluation, one weights intent set and none pending (a failed one only as
// "interrupted": a kill before the ledger call), each recorded report on disk, a valid chain.
inline Outcome read_outcome(const fs::path& work, const std::string& validator_hotkey) {
  Outcome o;
  {  // raw, before ArenaStore::open's recover() could hide a row left 'running'
    auto db = SqliteDb::open((work / "arena.db").string(), {false, false, 5000, true});
    EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
    if (!db.ok()) return o;
    const std::vector<std::pair<std::string, std::string>> zero = {
        {"evaluations not done", "SELECT count(*) FROM evaluations WHERE state != 'done'"},
        {"rounds not done", "SELECT count(*) FROM rounds WHERE state != 'done'"},
        {"weights pending", "SELECT count(*) FROM weights WHERE state = 'pending'"},
        {"weights failed other than interrupted",
         "SELECT count(*) FROM weights WHERE state = 'failed' AND reason != 'interrupted'"},
        {"submissions in flight", "SELECT count(*) FROM submissions WHERE state IN "
                                  "('seen', 'payment_ok', 'deferred', 'queued')"},
        {"evaluations recorded twice",
         "SELECT count(*) FROM (SELECT 1 FROM evaluations GROUP BY round_id, hotkey, "
         "commit_block HAVING count(*) > 1)"},
        {"orphan prompt rows",
         "SELECT count(*) FROM prompt_results p LEFT JOIN evaluations e ON e.id = "
         "p.evaluation_id WHERE e.id IS NULL OR e.state != 'done'"}};
    for (const auto& [what, sql] : zero) EXPECT_EQ(count_rows(*db, sql), 0) << what;
    EXPECT_EQ(count_rows(*db, "SELECT count(*) FROM weights WHERE state = 'set'"), 1);
    auto q = db->prepare("SELECT set_block, vector_json FROM weights WHERE state = 'set'");
    auto row = q.ok() ? q->step() : Result<bool>(false);
    if (row.ok() && *row)
      o.store_weights = fmt::format("{} {}", q->column_int(0), q->column_text(1));
  }
  auto st = store::ArenaStore::open((work / "arena.db").string());
  EXPECT_TRUE(st.ok());
  if (!st.ok()) return o;
  auto subs = st->all_submissions();
  EXPECT_TRUE(subs.ok());
  for (const auto& r : subs.ok() ? *subs : std::vector<store::SubmissionRow>{})
    o.submissions[fmt::format("{}@{}", r.sub.hotkey, r.sub.commit_block)] =
        fmt::format("{} {}", store::to_string(r.state), r.reason);
  const auto proofs = *st->used_proofs();
  for (const auto& [proof, k] : proofs)
    o.proofs.push_back(fmt::format("{} {}@{}", proof, k.hotkey, k.commit_block));
  const auto rounds = *st->rounds();
  for (const auto& r : rounds) {
    o.rounds.push_back(fmt::format("{} {} {} {}", r.id, r.block, r.block_hash,
                                   store::to_string(r.state)));
    const auto evals = *st->evaluations(r.id);
    for (const auto& e : evals) {
      o.attempts += e.attempts;
      const store::EvalResult res = e.result.value_or(store::EvalResult{});
      EXPECT_TRUE(res.report_path.empty() || fs::exists(res.report_path)) << res.report_path;
      o.evaluations.push_back(fmt::format(
          "round {} #{} {}@{} {} {} decided={} passed={} {} blame={} prompts={}", r.id,
          e.participant.position, e.participant.key.hotkey, e.participant.key.commit_block,
          store::to_string(e.participant.role), store::to_string(e.state), res.decided,
          res.passed, res.reason_code, res.blame, res.prompts.size()));
    }
  }
  auto place = [](const std::optional<store::StandingEntry>& e) {
    return e ? fmt::format("{}@{} uid={} crowned={}", e->key.hotkey, e->key.commit_block, e->uid,
                           e->crowned_block)
             : std::string("none");
  };
  if (auto latest = *st->latest_standings()) {
    o.leader = place(latest->leader);
    o.runner_up = place(latest->runner_up);
    if (latest->leader) o.leader_score = latest->leader->score;
    if (latest->runner_up) o.runner_up_score = latest->runner_up->score;
    auto detail = nlohmann::json::parse(latest->detail_json, nullptr, false);
    for (const auto& ev : detail.value("events", nlohmann::json::array()))
      o.events.push_back(fmt::format("{} {} {}", ev.value("code", ""), ev.value("role", ""),
                                     ev.value("hotkey", "")));
  }
  o.standings_rows = st->standings_history(1000)->size();

  auto l = ledger::LocalLedger::open((work / "ledger.db").string());
  EXPECT_TRUE(l.ok());
  if (!l.ok()) return o;
  EXPECT_TRUE((*l)->verify_chain().ok());
  o.ledger_head = (*l)->head()->number;
  for (int64_t b = 0; b <= o.ledger_head; ++b) {
    const auto calls = *(*l)->calls_in_block(b);
    for (const auto& c : calls) {
      if (c.kind != "set_weights" || c.signer != validator_hotkey) continue;
      auto call = ledger::decode_call(c.signed_call.encoded);
      EXPECT_TRUE(call.ok());
      std::string w = fmt::format("{}:", b);
      for (const auto& x : call.ok() ? call->weights : std::vector<ledger::UidWeight>{})
        w += fmt::format(" {}={}", x.uid, x.weight);
      o.ledger_weights.push_back(w);
    }
  }
  std::ifstream f(work / "status.json");
  auto status = nlohmann::json::parse(f, nullptr, false);
  EXPECT_TRUE(status.is_object()) << "status.json";
  if (status.is_object() && status["leader"].is_object())
    o.status_leader = status["leader"].value("hotkey", "");
  return o;
}

inline void expect_same(const Outcome& ref, const Outcome& got) {
  EXPECT_EQ(got.submissions, ref.submissions);
  EXPECT_EQ(got.proofs, ref.proofs);
  EXPECT_EQ(got.rounds, ref.rounds);
  EXPECT_EQ(got.evaluations, ref.evaluations);
  EXPECT_EQ(got.leader, ref.leader);
  EXPECT_EQ(got.runner_up, ref.runner_up);
  EXPECT_EQ(got.events, ref.events);
  EXPECT_EQ(got.standings_rows, ref.standings_rows);
  EXPECT_EQ(got.ledger_weights, ref.ledger_weights);
  EXPECT_EQ(got.store_weights, ref.store_weights);
  EXPECT_EQ(got.ledger_head, ref.ledger_head);
  EXPECT_EQ(got.status_leader, ref.status_leader);
}

}  // namespace cacheon::validator::fixture

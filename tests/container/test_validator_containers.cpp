// A whole validator round with the container runner: the baseline and every submission are
// images pulled by digest from a real registry and run sandboxed by real podman. Miner A commits
// the engine; miner B, later, commits the same files under another digest (only the image config
// differs): B's content fingerprint matches A's, so B is a duplicate although its digest is new;
// miner C serves garbage and is disqualified. Nothing is left running afterwards.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>

#include "../integration/validator_fixture.h"
#include "launcher_fixture.h"
#include "ledger/local_ledger.h"
#include "store/arena_store.h"
#include "validator/launcher_factory.h"
#include "validator/validator.h"

namespace cacheon::validator {
namespace {

using namespace fixture;
using container_test::LauncherWorld;

TEST(ValidatorContainers, ARoundInContainersFindsACopyByItsFingerprint) {
  auto world = LauncherWorld::get();
  ASSERT_TRUE(world.ok()) << world.error().message;
  LauncherWorld& w = **world;
  // Same files as the engine image, another image config (so another digest).
  auto relabelled = w.derive("engine-relabel", w.local_image("engine"),
                             {"--served-model-name", "Qwen2.5-72B-Instruct"});
  ASSERT_TRUE(relabelled.ok()) << relabelled.error().message;
  ASSERT_NE(relabelled->digest, w.image("engine").digest);

  const fs::path work = fs::path(w.work_dir()) / "validator";
  fs::create_directories(work);
  ledger::ChainConfig chain;
  chain.mode = ledger::BlockMode::kInstant;
  chain.subnets = {ledger::SubnetConfig{kNetuid, 64, 4096, 1, 0}};
  auto l = ledger::LocalLedger::create((work / "ledger.db").string(), chain);
  ASSERT_TRUE(l.ok()) << l.error().message;
  auto& ledger = **l;
  Miner validator{key(1), key(2)};
  Keypair arena = key(3);
  ASSERT_TRUE(ledger.fund(validator.cold.address(), 10 * ledger::kRaoPerTao).ok());
  ASSERT_TRUE(ledger.register_hotkey(validator.cold, validator.hot, kNetuid).ok());

  const auto& a_img = w.image("engine-copy");
  const auto& c_img = w.image("garbage");
  Miner a = submit_miner(ledger, arena, 10, a_img.repo, a_img.digest);
  Miner b = submit_miner(ledger, arena, 11, relabelled->repo, relabelled->digest);
  Miner c = submit_miner(ledger, arena, 12, c_img.repo, c_img.digest);

  const std::string scope = fmt::format("vc{}", ::getpid());
  const auto o = w.options(scope);
  const std::string text = fmt::format(
      "[arena]\npayment_account = \"{}\"\n[ledger]\npath = \"ledger.db\"\n"
      "[workload]\nprompts = 2\nwarmup = 0\ninput_tokens = 200\noutput_tokens = 8\n"
      "[timeouts]\nstartup_s = 60\nstop_grace_s = 3\n"
      "[baseline]\nimage = \"{}\"\n"
      "[launcher]\nkind = \"container\"\n"
      "[launcher.container]\nsocket = \"{}\"\nmodels_dir = \"{}\"\nrelay_image = \"{}\"\n"
      "scope = \"{}\"\n"
      "[launcher.sandbox]\nmemory = \"2g\"\ncpus = 2\npids = 256\nshm = \"64m\"\ntmpfs = \"64m\"\n"
      "nofile = {}\ngpus = \"none\"\n",
      arena.address(), w.image("engine").pinned(), o.runtime.socket_path, o.models_dir,
      o.relay_image, scope, o.sandbox.nofile);
  auto cfg = parse_config(text, "containers.toml", work.string());
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto st = store::ArenaStore::open(cfg->store_path);
  ASSERT_TRUE(st.ok());
  harness::Progress progress(false, true);
  auto launchers = make_launchers(*cfg, progress);
  ASSERT_TRUE(launchers.ok()) << launchers.error().message;
  Validator v(*cfg, ledger, *st, launchers->active(), validator.hot, progress);

  auto rep = v.run_once();
  ASSERT_TRUE(rep.ok()) << rep.error().message;
  EXPECT_EQ(rep->evaluations, 3);
  EXPECT_TRUE(rep->round_finished);

  auto rounds = *st->rounds();
  ASSERT_EQ(rounds.size(), 1u);
  std::map<std::string, store::EvalResult> by;
  auto evals = st->evaluations(rounds[0].id);  // kept: the loop must not outlive the Result
  ASSERT_TRUE(evals.ok());
  for (const auto& e : *evals) {
    ASSERT_TRUE(e.result.has_value()) << e.participant.key.hotkey << " "
                                      << store::to_string(e.state) << " round "
                                      << store::to_string(rounds[0].state);
    by[e.participant.key.hotkey] = *e.result;
  }
  ASSERT_EQ(by.size(), 3u);
  for (const auto* m : {&a, &b, &c})
    ASSERT_TRUE(by.count(m->hot.address())) << "no evaluation of " << m->hot.address();
  const auto& ra = by[a.hot.address()];
  const auto& rb = by[b.hot.address()];
  const auto& rc = by[c.hot.address()];
  EXPECT_TRUE(ra.passed) << ra.reason_code << ": " << ra.message;
  EXPECT_FALSE(ra.fingerprint.empty());
  EXPECT_EQ(ra.fingerprint, rb.fingerprint) << "same files, same fingerprint";
  EXPECT_NE(ra.fingerprint, rc.fingerprint);
  EXPECT_FALSE(rc.passed);
  EXPECT_EQ(rc.blame, "candidate") << rc.reason_code << ": " << rc.message;

  auto subs = *st->all_submissions();
  std::map<std::string, store::SubmissionRow> sub;
  for (const auto& s : subs) sub[s.sub.hotkey] = s;
  EXPECT_EQ(sub[a.hot.address()].state, store::SubmissionState::evaluated);
  EXPECT_EQ(sub[b.hot.address()].state, store::SubmissionState::duplicate);
  EXPECT_NE(sub[b.hot.address()].message.find("fingerprint"), std::string::npos)
      << sub[b.hot.address()].message;
  auto standings = *st->latest_standings();
  ASSERT_TRUE(standings.has_value());
  for (const auto* place : {&standings->leader, &standings->runner_up})
    if (place->has_value()) {
      EXPECT_NE((*place)->key.hotkey, b.hot.address()) << "a copy holds a place";
      EXPECT_NE((*place)->key.hotkey, c.hot.address()) << "a DQ holds a place";
    }

  runner::ContainerRuntime rt(o.runtime);
  EXPECT_EQ(container_test::leftovers(rt, scope), 0);
}

}  // namespace
}  // namespace cacheon::validator

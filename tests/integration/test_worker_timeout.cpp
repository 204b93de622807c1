// The whole-evaluation bound ([timeouts] evaluation_s): a candidate whose stream stalls (the
// connection stays open, no byte more) would hold the harness until the per-read timeout; the
// worker's watchdog stops its server at the evaluation deadline instead, and the result says
// evaluation_timeout, the candidate's fault, within seconds.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/clock.h"
#include "runner/local_launcher.h"
#include "validator/config.h"
#include "validator/worker.h"

namespace cacheon::validator {
namespace {

namespace fs = std::filesystem;

TEST(WorkerTimeout, AStalledCandidateIsStoppedAtTheEvaluationDeadline) {
  const fs::path work = fs::temp_directory_path() /
                        ("cacheon_worker_timeout_" + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::create_directories(work);
  const std::string ts = std::string(CACHEON_BIN_DIR) + "/cacheon-testserver";
  const std::string image = "ghcr.io/m/stall@sha256:" + std::string(64, '5');
  const std::string text =
      "[arena]\nmodel = \"tiny\"\npayment_account = \"0x" + std::string(64, 'a') +
      "\"\n[ledger]\npath = \"ledger.db\"\n"
      "[workload]\nprompts = 1\nwarmup = 0\ninput_tokens = 200\noutput_tokens = 32\n"
      "[timeouts]\nstartup_s = 10\nread_s = 60\nevaluation_s = 2\n"
      "[baseline]\ncommand = [\"" + ts + "\", \"--port\", \"0\", \"--model\", \"tiny\", "
      "\"--itl-ms\", \"1\"]\n"
      "[launcher.local.images]\n\"" + image + "\" = [\"" + ts + "\", \"--port\", \"0\", "
      "\"--model\", \"tiny\", \"--itl-ms\", \"1\", \"--fault\", \"stall\"]\n";
  auto cfg = parse_config(text, "timeout.toml", work.string());
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  std::map<std::string, std::vector<std::string>> images;
  for (const auto& [k, v] : cfg->local_images) images[k] = v.argv;
  runner::LocalProcessLauncher launcher(images, std::chrono::milliseconds(1000));
  harness::Progress progress(false, true);
  Worker worker(*cfg, launcher, progress);

  store::Participant p;
  p.key = {"5Fstall", 7};
  p.role = store::Role::challenger;
  p.image = "ghcr.io/m/stall";
  p.digest = "sha256:" + std::string(64, '5');
  EvalJob job{1, 7, std::string(64, 'c'), {p}};
  const int64_t t0 = mono_ns();
  store::EvalResult r = worker.evaluate(job, p, 1);
  const double seconds = (mono_ns() - t0) / 1e9;
  worker.finish_job();

  EXPECT_EQ(r.reason_code, "evaluation_timeout") << r.message;
  EXPECT_EQ(r.blame, "candidate");
  EXPECT_TRUE(r.decided);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("2 s"), std::string::npos) << r.message;
  EXPECT_LT(seconds, 20.0) << "the stall was not cut at the deadline";
  EXPECT_GE(seconds, 2.0);
  if (!std::getenv("KEEP_WORK")) fs::remove_all(work);
}

}  // namespace
}  // namespace cacheon::validator

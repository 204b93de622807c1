// The container runner's part of the validator config: [launcher] kind, [launcher.container],
// [launcher.sandbox] and a baseline given as an image. Every value lands where the runner reads
// it; every bad value is an error naming its key.
#include <gtest/gtest.h>

#include <string>

#include "validator/config.h"

namespace cacheon::validator {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'b');

Result<ValidatorConfig> parse(const std::string& launcher,
                              const std::string& baseline = "command = [\"e\"]\n") {
  std::string text = "[arena]\npayment_account = \"0x" + std::string(64, 'a') +
                     "\"\n[ledger]\npath = \"l.db\"\n[baseline]\n" + baseline + launcher;
  return parse_config(text, "t.toml", "/cfg");
}

const std::string kContainer =
    "[launcher]\nkind = \"container\"\n[launcher.container]\nmodels_dir = \"models\"\n"
    "relay_image = \"localhost/cacheon-relay:x\"\n";

TEST(ValidatorConfigRunner, ContainerKeysLandInTheLauncherOptions) {
  auto c = parse(kContainer +
                 "socket = \"/run/x.sock\"\nmax_image_gb = 1.5\npull_timeout_s = 60\n"
                 "reach = \"direct\"\nscope = \"ci7\"\nremove_images = true\nfingerprint = false\n"
                 "max_log_mb = 3\n"
                 "[launcher.sandbox]\nmemory = \"2g\"\ncpus = 1.5\npids = 64\nshm = \"64m\"\n"
                 "tmpfs = \"16m\"\nnofile = 1024\nnproc = 0\nuser = \"nonroot\"\ngpus = \"none\"\n"
                 "gpu_api = \"cdi\"\nport = 9000\nenv = [\"A=1\"]\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& o = c->container;
  EXPECT_EQ(c->launcher_kind, "container");
  EXPECT_EQ(o.runtime.socket_path, "/run/x.sock");
  EXPECT_EQ(o.models_dir, "/cfg/models");  // relative to the config file
  EXPECT_EQ(o.max_image_bytes, 1'500'000'000);
  EXPECT_EQ(o.pull_timeout, std::chrono::seconds(60));
  EXPECT_EQ(o.reach, runner::Reach::direct);
  EXPECT_EQ(o.scope, "ci7");
  EXPECT_TRUE(o.remove_images);
  EXPECT_FALSE(o.fingerprint);
  EXPECT_EQ(o.max_log_bytes, size_t{3} << 20);
  EXPECT_EQ(o.sandbox.memory_bytes, int64_t{2} << 30);
  EXPECT_DOUBLE_EQ(o.sandbox.cpus, 1.5);
  EXPECT_EQ(o.sandbox.pids_limit, 64);
  EXPECT_EQ(o.sandbox.shm_bytes, int64_t{64} << 20);
  EXPECT_EQ(o.sandbox.tmpfs_bytes, int64_t{16} << 20);
  EXPECT_EQ(o.sandbox.nofile, 1024);
  EXPECT_EQ(o.sandbox.nproc, 0);
  EXPECT_EQ(o.sandbox.user, "nonroot");
  EXPECT_EQ(o.sandbox.gpus, runner::GpuMode::none);
  EXPECT_EQ(o.sandbox.gpu_api, runner::GpuApi::cdi);
  EXPECT_EQ(o.sandbox.port, 9000);
  EXPECT_EQ(o.sandbox.env, (std::vector<std::string>{"A=1"}));
}

TEST(ValidatorConfigRunner, DefaultsAreTheSafeOnes) {
  auto c = parse(kContainer);
  ASSERT_TRUE(c.ok()) << c.error().message;
  runner::ContainerLauncherOptions d;
  EXPECT_EQ(c->container.reach, runner::Reach::relay);
  EXPECT_EQ(c->container.max_image_bytes, 20'000'000'000);
  EXPECT_EQ(c->container.sandbox.memory_bytes, d.sandbox.memory_bytes);
  EXPECT_EQ(c->container.sandbox.pids_limit, d.sandbox.pids_limit);
  EXPECT_EQ(c->container.sandbox.gpus, runner::GpuMode::auto_detect);
  EXPECT_TRUE(c->container.fingerprint);
  auto local = parse("");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->launcher_kind, "local");
}

TEST(ValidatorConfigRunner, BaselineAsAnImage) {
  auto c = parse("", "image = \"ghcr.io/arena/vllm:0.9@" + kDigest + "\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->baseline_image, "ghcr.io/arena/vllm");
  EXPECT_EQ(c->baseline_digest, kDigest);
  EXPECT_TRUE(c->baseline.argv.empty());
}

TEST(ValidatorConfigRunner, BadValuesNameTheirKey) {
  struct Case {
    std::string launcher, baseline, key;
  };
  const std::string cmd = "command = [\"e\"]\n";
  const std::vector<Case> cases = {
      {"[launcher]\nkind = \"docker\"\n", cmd, "launcher.kind"},
      {"[launcher]\nkind = \"container\"\n", cmd, "launcher.container.models_dir"},
      {"[launcher]\nkind = \"container\"\n[launcher.container]\nmodels_dir = \"/m\"\n", cmd,
       "launcher.container.relay_image"},
      {kContainer + "reach = \"tunnel\"\n", cmd, "launcher.container.reach"},
      {kContainer + "scope = \"Bad-Scope\"\n", cmd, "launcher.container.scope"},
      {kContainer + "max_image_gb = 0\n", cmd, "launcher.container.max_image_gb"},
      {kContainer + "pulls = 1\n", cmd, "launcher.container.pulls"},
      {kContainer + "[launcher.sandbox]\nmemory = \"lots\"\n", cmd, "launcher.sandbox.memory"},
      {kContainer + "[launcher.sandbox]\nmemory = \"1k\"\n", cmd, "launcher.sandbox.memory"},
      {kContainer + "[launcher.sandbox]\npids = 0\n", cmd, "launcher.sandbox.pids"},
      {kContainer + "[launcher.sandbox]\ngpus = \"some\"\n", cmd, "launcher.sandbox.gpus"},
      {kContainer + "[launcher.sandbox]\ngpu_api = \"x\"\n", cmd, "launcher.sandbox.gpu_api"},
      {kContainer + "[launcher.sandbox]\nport = 70000\n", cmd, "launcher.sandbox.port"},
      {kContainer + "[launcher.sandbox]\nenv = [\"=1\"]\n", cmd, "launcher.sandbox"},
      {kContainer + "[launcher.sandbox]\nprivileged = true\n", cmd,
       "launcher.sandbox.privileged"},
      {"", "image = \"ghcr.io/a/b:v1\"\n", "baseline.image"},
      {"", cmd + "image = \"ghcr.io/a/b@" + kDigest + "\"\n", "baseline.image"},
      {"", "", "baseline.command"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.launcher, c.baseline);
    ASSERT_FALSE(r.ok()) << c.launcher << c.baseline;
    EXPECT_EQ(r.error().code, "config_invalid");
    EXPECT_NE(r.error().message.find(c.key), std::string::npos)
        << "want " << c.key << " in: " << r.error().message;
  }
}

}  // namespace
}  // namespace cacheon::validator

namespace cacheon::validator {
namespace {

TEST(ValidatorConfigRunner, RemoteWorkers) {
  auto c = parse("[remote]\nworkers = [\"https://10.0.0.5:8443\"]\ntoken_file = \"t\"\n"
                 "ca_file = \"/etc/w.crt\"\nread_idle_s = 30\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->remote.workers, (std::vector<std::string>{"https://10.0.0.5:8443"}));
  EXPECT_EQ(c->remote.token_file, "/cfg/t");
  EXPECT_EQ(c->remote.ca_file, "/etc/w.crt");
  EXPECT_EQ(c->remote.read_idle, std::chrono::seconds(30));
  EXPECT_TRUE(parse("")->remote.workers.empty());
  for (const std::string bad : {"[remote]\nworkers = [\"http://x:1\"]\ntoken_file = \"t\"\n"
                                "ca_file = \"c\"\n",
                                "[remote]\nworkers = [\"https://x:1\"]\n",
                                "[remote]\nworker = []\n"}) {
    auto r = parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("remote"), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace cacheon::validator

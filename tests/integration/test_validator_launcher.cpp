// LocalProcessLauncher with real processes: the address read from the server's own line, logs
// captured, stop() ends the whole process group; a server that exits, one that never listens,
// and an image the arena does not know are distinct errors.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/server_probe.h"
#include "runner/local_launcher.h"

namespace cacheon::validator {
using namespace runner;  // ServerLauncher and LocalProcessLauncher
namespace {

namespace fs = std::filesystem;
const std::string kTestServer = std::string(CACHEON_BIN_DIR) + "/cacheon-testserver";
const std::string kDigest = "sha256:" + std::string(64, 'e');

class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cacheon_launcher_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  LaunchSpec spec(std::vector<std::string> argv, std::string name = "t") {
    LaunchSpec s;
    s.name = name;
    s.argv = std::move(argv);
    s.logs_path = (dir_ / (name + ".log")).string();
    s.startup_timeout = std::chrono::milliseconds(3000);
    return s;
  }
  fs::path dir_;
};

TEST(FindListeningUrl, NeedsACompleteLine) {
  EXPECT_EQ(find_listening_url("x\nlistening on http://127.0.0.1:8123\n"),
            "http://127.0.0.1:8123");
  EXPECT_EQ(find_listening_url("listening on http://127.0.0.1:81"), std::nullopt);  // partial
  EXPECT_EQ(find_listening_url("nothing here\n"), std::nullopt);
}

TEST_F(LauncherTest, StartsFromTheImageTableAndStopsTheGroup) {
  LocalProcessLauncher launcher({{"ghcr.io/a/b@" + kDigest, {kTestServer, "--port", "0"}}},
                                std::chrono::milliseconds(2000));
  LaunchSpec s = spec({}, "miner");
  s.image = "ghcr.io/a/b";
  s.digest = kDigest;
  auto h = launcher.start(s);
  ASSERT_TRUE(h.ok()) << h.error().message;
  const Url url = (*h)->url();
  EXPECT_TRUE(harness::wait_healthy(url, std::chrono::seconds(5)).ok());
  EXPECT_EQ((*h)->logs_path(), s.logs_path);
  std::ifstream log(s.logs_path);
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("listening on"), std::string::npos);
  (*h)->stop();
  (*h)->stop();  // idempotent
  EXPECT_FALSE(harness::wait_healthy(url, std::chrono::milliseconds(300)).ok());
}

TEST_F(LauncherTest, ErrorsSayWhoseFaultItIs) {
  LocalProcessLauncher launcher({}, std::chrono::milliseconds(500));
  LaunchSpec unknown = spec({}, "unknown");
  unknown.image = "ghcr.io/a/b";
  unknown.digest = kDigest;
  auto a = launcher.start(unknown);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, launch_code::kImageUnavailable);

  auto b = launcher.start(spec({"/bin/sh", "-c", "echo boom; exit 3"}, "exits"));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, launch_code::kServerExited);
  EXPECT_NE(b.error().message.find("boom"), std::string::npos) << b.error().message;

  auto missing = launcher.start(spec({"/nonexistent/server"}, "missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, launch_code::kServerExited);

  // Never listens: a startup timeout, and the whole group (the shell and its sleep) is gone.
  LaunchSpec silent = spec({"/bin/sh", "-c", "sleep 30 & echo $! > " +
                                                  (dir_ / "child.pid").string() + "; wait"},
                           "silent");
  silent.startup_timeout = std::chrono::milliseconds(300);
  auto c = launcher.start(silent);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, launch_code::kStartupTimeout);
  std::ifstream pidf(dir_ / "child.pid");
  pid_t child = 0;
  pidf >> child;
  ASSERT_GT(child, 0);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = ::kill(child, 0) != 0;
    if (!gone) ::usleep(20'000);
  }
  EXPECT_TRUE(gone) << "the server's child outlived stop()";
}

}  // namespace
}  // namespace cacheon::validator

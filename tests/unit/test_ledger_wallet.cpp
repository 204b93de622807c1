// Wallet files: layout, permissions, no silent overwrite, strict names, hostile files.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ledger/wallet.h"

namespace fs = std::filesystem;

namespace cacheon::ledger {
namespace {

class LedgerWallet : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cacheon_wallet_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string root() const { return (dir_ / "wallets").string(); }
  static int mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  }
  fs::path dir_;
};

TEST_F(LedgerWallet, CreatesBittensorLayoutWithPrivateModes) {
  auto cold = create_coldkey(root(), "miner1");
  ASSERT_TRUE(cold.ok()) << cold.error().message;
  auto hot = create_hotkey(root(), "miner1", "default");
  ASSERT_TRUE(hot.ok());
  fs::path w = fs::path(root()) / "miner1";
  EXPECT_EQ(mode(w), 0700);
  EXPECT_EQ(mode(w / "coldkey"), 0600);
  EXPECT_EQ(mode(w / "hotkeys"), 0700);
  EXPECT_EQ(mode(w / "hotkeys" / "default"), 0600);
  EXPECT_EQ(mode(w / "coldkeypub.txt"), 0644);
  // coldkeypub.txt holds no secret.
  std::ifstream pub(w / "coldkeypub.txt");
  std::string text((std::istreambuf_iterator<char>(pub)), {});
  EXPECT_EQ(text.find("secret"), std::string::npos);
  EXPECT_NE(text.find(cold->address()), std::string::npos);
  // Loading gives the same keys; no temporary files are left behind.
  EXPECT_EQ(load_coldkey(root(), "miner1")->address(), cold->address());
  EXPECT_EQ(load_hotkey(root(), "miner1", "default")->address(), hot->address());
  for (const auto& e : fs::recursive_directory_iterator(w))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  auto list = list_wallets(root());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].coldkey, cold->address());
  ASSERT_EQ((*list)[0].hotkeys.size(), 1u);
  EXPECT_EQ((*list)[0].hotkeys[0].second, hot->address());
}

TEST_F(LedgerWallet, NeverOverwritesUnlessAsked) {
  auto first = create_coldkey(root(), "w");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(create_coldkey(root(), "w").error().code, "key_exists");
  EXPECT_EQ(load_coldkey(root(), "w")->address(), first->address());
  ASSERT_TRUE(create_hotkey(root(), "w", "h").ok());
  EXPECT_EQ(create_hotkey(root(), "w", "h").error().code, "key_exists");
  KeyFileOptions o;
  o.overwrite = true;
  auto second = create_coldkey(root(), "w", o);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->address(), first->address());
  EXPECT_EQ(load_coldkey(root(), "w")->address(), second->address());
  EXPECT_EQ((*list_wallets(root()))[0].coldkey, second->address());
}

TEST_F(LedgerWallet, SeededKeysAreDeterministic) {
  KeyFileOptions o;
  o.seed = std::array<uint8_t, 32>{};
  o.seed->fill(9);
  auto a = create_coldkey(root(), "a", o), b = create_coldkey(root(), "b", o);
  EXPECT_EQ(a->address(), b->address());
}

TEST_F(LedgerWallet, RejectsBadNames) {
  for (const char* bad : {"", ".", "..", ".hidden", "a/b", "../x", "a b", "a\\b", "é", "name\n"}) {
    EXPECT_EQ(validate_key_name(bad).error().code, "bad_name") << bad;
    EXPECT_EQ(create_coldkey(root(), bad).error().code, "bad_name") << bad;
    EXPECT_FALSE(create_hotkey(root(), "ok", bad).ok()) << bad;
  }
  EXPECT_FALSE(validate_key_name(std::string(65, 'a')).ok());
  EXPECT_TRUE(validate_key_name(std::string(64, 'a')).ok());
  EXPECT_TRUE(validate_key_name("miner-1.v2_x").ok());
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

TEST_F(LedgerWallet, HostileKeyFilesAreRefused) {
  ASSERT_TRUE(create_coldkey(root(), "w").ok());
  fs::path key = fs::path(root()) / "w" / "coldkey";
  auto write = [&](const std::string& text) {
    std::ofstream(key, std::ios::trunc) << text;
    return load_coldkey(root(), "w");
  };
  EXPECT_EQ(write("not json").error().code, "bad_key_file");
  EXPECT_EQ(write("{}").error().code, "bad_key_file");
  EXPECT_EQ(write(R"({"secretSeed": "0x1234"})").error().code, "bad_key_file");
  EXPECT_EQ(write(R"({"secretSeed": 5})").error().code, "bad_key_file");
  EXPECT_EQ(write(std::string(5000, ' ')).error().code, "bad_key_file");
  std::string seed = "0x" + std::string(64, '1');
  EXPECT_TRUE(write(R"({"secretSeed": ")" + seed + "\"}").ok());
  EXPECT_EQ(write(R"({"secretSeed": ")" + seed + R"(", "publicKey": "0x00"})").error().code,
            "bad_key_file");
  EXPECT_EQ(load_coldkey(root(), "missing").error().code, "no_key");
}

TEST_F(LedgerWallet, DefaultDirFollowsCacheonHome) {
  const char* old = std::getenv("CACHEON_HOME");
  std::string saved = old ? old : "";
  ::setenv("CACHEON_HOME", "/tmp/ch", 1);
  EXPECT_EQ(default_wallets_dir(), "/tmp/ch/wallets");
  ::unsetenv("CACHEON_HOME");
  EXPECT_NE(default_wallets_dir().find(".cacheon/wallets"), std::string::npos);
  if (old) ::setenv("CACHEON_HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace cacheon::ledger

// `cacheon worker gen-cert` (src/remote/tls.h): an EC P-256 key (mode 0600) and a self-signed
// certificate carrying the host as SAN, loadable by the worker's and the validator's TLS contexts;
// never overwritten; a key that does not match its certificate is refused.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "remote/tls.h"

namespace cacheon::remote {
namespace {

namespace fs = std::filesystem;

class GenCert : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cacheon_gencert_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(GenCert, WritesALoadableCertAndPrivateKeyWithTheSan) {
  struct Case {
    const char* host;
    const char* san;
  };
  for (const Case& c : {Case{"127.0.0.1", "IP:127.0.0.1"}, Case{"gpu-1.example.org", "DNS:gpu-1.example.org"}}) {
    const std::string d = (dir_ / c.host).string();
    auto files = generate_self_signed(d, c.host, 30);
    ASSERT_TRUE(files.ok()) << files.error().message;
    struct stat st {};
    ASSERT_EQ(::stat(files->key.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto sans = certificate_sans(files->cert);
    ASSERT_TRUE(sans.ok());
    EXPECT_EQ(*sans, std::vector<std::string>{c.san});
    auto server = make_server_tls(files->cert, files->key);
    EXPECT_TRUE(server.ok()) << server.error().message;
    auto client = make_client_tls(files->cert);
    EXPECT_TRUE(client.ok()) << client.error().message;
  }
}

TEST_F(GenCert, NeverOverwritesAndRefusesBadInput) {
  ASSERT_TRUE(generate_self_signed((dir_ / "a").string(), "10.1.2.3", 1).ok());
  auto again = generate_self_signed((dir_ / "a").string(), "10.1.2.3", 1);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "cert_exists");
  for (const char* host : {"", "a b", "x/y", "host;rm"})
    EXPECT_FALSE(generate_self_signed((dir_ / "b").string(), host, 1).ok()) << host;
  EXPECT_FALSE(generate_self_signed((dir_ / "c").string(), "h", 0).ok());
  EXPECT_FALSE(generate_self_signed((dir_ / "c").string(), "h", 5000).ok());
}

TEST_F(GenCert, AKeyFromAnotherCertificateIsRefused) {
  auto a = generate_self_signed((dir_ / "a").string(), "127.0.0.1", 1);
  auto b = generate_self_signed((dir_ / "b").string(), "127.0.0.1", 1);
  ASSERT_TRUE(a.ok() && b.ok());
  auto mixed = make_server_tls(a->cert, b->key);
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.error().code, "tls_config");
  EXPECT_FALSE(make_server_tls((dir_ / "none.crt").string(), a->key).ok());
  EXPECT_FALSE(make_client_tls((dir_ / "none.crt").string()).ok());
  EXPECT_FALSE(make_client_tls(a->key).ok());  // a key is not a certificate
}

}  // namespace
}  // namespace cacheon::remote

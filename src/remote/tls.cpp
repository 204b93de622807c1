#include "remote/tls.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace cacheon::remote {
namespace {

namespace ssl = boost::asio::ssl;

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

void harden(ssl::context& ctx) {
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                  SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2: forward-secret AEAD suites only (1.3's suites are all fine).
  SSL_CTX_set_cipher_list(ctx.native_handle(),
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
}

bool is_ip(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

// Creates `path` exclusively with `mode` (a key must never exist with wider rights, not even
// briefly).
Result<std::unique_ptr<FILE, FileCloser>> create_exclusive(const std::string& path, int mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return Error{errno == EEXIST ? "cert_exists" : "cert_failed",
                 fmt::format("cannot create {}: {}", path, std::strerror(errno))};
  FILE* f = ::fdopen(fd, "w");
  if (!f) {
    ::close(fd);
    return Error{"cert_failed", fmt::format("cannot open {}", path)};
  }
  return std::unique_ptr<FILE, FileCloser>(f);
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_server_tls(const std::string& cert_file,
                                                      const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  harden(*ctx);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec)
    return Error{"tls_config", fmt::format("cannot load certificate {}: {}", cert_file,
                                           ec.message())};
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec)
    return Error{"tls_config", fmt::format("cannot load key {}: {}", key_file, ec.message())};
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return Error{"tls_config",
                 fmt::format("key {} does not match certificate {}", key_file, cert_file)};
  return ctx;
}

Result<std::shared_ptr<ssl::context>> make_client_tls(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  harden(*ctx);
  boost::system::error_code ec;
  ctx->load_verify_file(ca_file, ec);
  if (ec)
    return Error{"tls_config", fmt::format("cannot load CA file {}: {}", ca_file, ec.message())};
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  // A pinned self-signed leaf (not a CA) must be accepted as the trust anchor it is meant to be.
  X509_STORE* store = SSL_CTX_get_cert_store(ctx->native_handle());
  X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
  return ctx;
}

Status expect_peer_native(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (is_ip(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1)
      return Error{"tls_config", "cannot set the expected IP address " + host};
    return {};
  }
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1 || SSL_set1_host(ssl, host.c_str()) != 1)
    return Error{"tls_config", "cannot set the expected host name " + host};
  return {};
}

Result<CertFiles> generate_self_signed(const std::string& dir, const std::string& host,
                                       int days) {
  if (host.empty() || host.size() > 253)
    return Error{"cert_failed", "--host must be a DNS name or an IP address"};
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':'))
      return Error{"cert_failed", "--host must be a DNS name or an IP address"};
  if (days < 1 || days > 3650) return Error{"cert_failed", "--days must be in 1..3650"};
  std::error_code fec;
  std::filesystem::create_directories(dir, fec);
  CertFiles out{(std::filesystem::path(dir) / "worker.crt").string(),
                (std::filesystem::path(dir) / "worker.key").string()};
  if (std::filesystem::exists(out.cert) || std::filesystem::exists(out.key))
    return Error{"cert_exists", fmt::format("{} or {} already exists", out.cert, out.key)};

  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  if (!key || !x) return Error{"cert_failed", openssl_error()};
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return Error{"cert_failed", openssl_error()};
  serial[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(serial, sizeof serial, nullptr),
                                                  BN_free);
  bool ok = bn && X509_set_version(x.get(), 2) == 1 &&
            BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get())) &&
            X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600) &&
            X509_gmtime_adj(X509_getm_notAfter(x.get()), int64_t{days} * 86400) &&
            X509_set_pubkey(x.get(), key.get()) == 1;
  X509_NAME* name = X509_get_subject_name(x.get());
  ok = ok &&
       X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>("cacheon worker"), -1,
                                  -1, 0) == 1 &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1,
                                  0) == 1 &&
       X509_set_issuer_name(x.get(), name) == 1;
  if (!ok) return Error{"cert_failed", openssl_error()};
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  const std::string san = (is_ip(host) ? "IP:" : "DNS:") + host;
  const std::pair<int, std::string> exts[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_subject_alt_name, san}};
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (!ext) return Error{"cert_failed", fmt::format("extension {}: {}", value, openssl_error())};
    ok = X509_add_ext(x.get(), ext, -1) == 1;
    X509_EXTENSION_free(ext);
    if (!ok) return Error{"cert_failed", openssl_error()};
  }
  if (X509_sign(x.get(), key.get(), EVP_sha256()) <= 0) return Error{"cert_failed", openssl_error()};

  auto kf = create_exclusive(out.key, 0600);
  if (!kf.ok()) return kf.error();
  if (PEM_write_PrivateKey(kf->get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      std::fflush(kf->get()) != 0)
    return Error{"cert_failed", "cannot write " + out.key};
  auto cf = create_exclusive(out.cert, 0644);
  if (!cf.ok()) return cf.error();
  if (PEM_write_X509(cf->get(), x.get()) != 1 || std::fflush(cf->get()) != 0)
    return Error{"cert_failed", "cannot write " + out.cert};
  return out;
}

Result<std::vector<std::string>> certificate_sans(const std::string& cert_file) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(cert_file.c_str(), "r"));
  if (!f) return Error{"cert_failed", "cannot read " + cert_file};
  std::unique_ptr<X509, decltype(&X509_free)> x(
      PEM_read_X509(f.get(), nullptr, nullptr, nullptr), X509_free);
  if (!x) return Error{"cert_failed", "not a PEM certificate: " + cert_file};
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type == GEN_DNS) {
      const ASN1_STRING* s = g->d.dNSName;
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<size_t>(ASN1_STRING_length(s))));
    } else if (g->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = g->d.iPAddress;
      const unsigned char* d = ASN1_STRING_get0_data(s);
      if (ASN1_STRING_length(s) == 4)
        out.push_back(fmt::format("IP:{}.{}.{}.{}", d[0], d[1], d[2], d[3]));
      else
        out.push_back("IP:(v6)");
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

}  // namespace cacheon::remote

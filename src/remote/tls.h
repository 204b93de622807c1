// TLS for remote workers (Boost.Asio SSL over OpenSSL 3): TLS 1.2 minimum (1.3 preferred, ECDHE
// AEAD suites only for 1.2). The worker serves a certificate + key (PEM); the validator trusts
// exactly the certificates in its CA file (a self-signed worker certificate is its own trust
// anchor) and checks the worker's host name or IP address against the certificate's SAN.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "core/status.h"

namespace cacheon::remote {

// Error code "tls_config" (unreadable files, a key that does not match the certificate).
Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls(const std::string& cert_file,
                                                                   const std::string& key_file);
Result<std::shared_ptr<boost::asio::ssl::context>> make_client_tls(const std::string& ca_file);

// Sets SNI (names only) and the name / IP the peer's certificate must carry. Error "tls_config".
Status expect_peer_native(SSL* ssl, const std::string& host);
template <class Stream>
Status expect_peer(boost::asio::ssl::stream<Stream>& s, const std::string& host) {
  return expect_peer_native(s.native_handle(), host);
}

struct CertFiles {
  std::string cert;  // DIR/worker.crt (0644)
  std::string key;   // DIR/worker.key (0600)
};
// `cacheon worker gen-cert`: an EC P-256 key and a self-signed certificate (CN and SAN = host, a
// DNS name or an IP address, serverAuth), valid for `days`. Refuses to overwrite either file.
// Error codes: cert_exists, cert_failed.
Result<CertFiles> generate_self_signed(const std::string& dir, const std::string& host, int days);

// The SANs of a PEM certificate ("DNS:name", "IP:1.2.3.4"), for tests and messages.
Result<std::vector<std::string>> certificate_sans(const std::string& cert_file);

}  // namespace cacheon::remote

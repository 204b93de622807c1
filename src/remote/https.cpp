#include "remote/https.h"

#include <algorithm>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <openssl/x509.h>

#include "remote/tls.h"

namespace cacheon::remote {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

Error read_error(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return {"timeout", "the worker went silent (timeout)"};
  if (ec == http::error::body_limit) return {"response_too_large", "the response is too large"};
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message)
    return {"http_malformed", "malformed HTTP response: " + ec.message()};
  return {"disconnected", "the worker closed the connection: " + ec.message()};
}

}  // namespace

Result<WorkerUrl> WorkerUrl::parse(std::string_view text) {
  constexpr std::string_view scheme = "https://";
  if (text.substr(0, scheme.size()) != scheme)
    return Error{"bad_url", fmt::format("'{}': a worker URL must start with https://", text)};
  std::string_view rest = text.substr(scheme.size());
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    if (rest.substr(slash) != "/")
      return Error{"bad_url", fmt::format("'{}': a worker URL has no path", text)};
    rest = rest.substr(0, slash);
  }
  WorkerUrl u;
  std::string_view hostpart = rest;
  std::string_view portpart;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Error{"bad_url", fmt::format("'{}'", text)};
    hostpart = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return Error{"bad_url", fmt::format("'{}'", text)};
      portpart = rest.substr(close + 2);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    hostpart = rest.substr(0, colon);
    portpart = rest.substr(colon + 1);
  }
  if (hostpart.empty() || hostpart.size() > 253)
    return Error{"bad_url", fmt::format("'{}': no host", text)};
  for (char c : hostpart)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':'))
      return Error{"bad_url", fmt::format("'{}': bad host", text)};
  u.host = std::string(hostpart);
  if (!portpart.empty()) {
    unsigned v = 0;
    for (char c : portpart) {
      if (c < '0' || c > '9' || v > 65535) return Error{"bad_url", fmt::format("'{}': bad port", text)};
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return Error{"bad_url", fmt::format("'{}': bad port", text)};
    u.port = static_cast<uint16_t>(v);
  }
  return u;
}

std::string WorkerUrl::str() const {
  return host.find(':') != std::string::npos ? fmt::format("https://[{}]:{}", host, port)
                                             : fmt::format("https://{}:{}", host, port);
}

Status https_exchange(net::ssl::context& tls, const WorkerUrl& url, const HttpsRequest& request,
                      const HttpsTimeouts& timeouts, size_t max_body,
                      const HttpsHandlers& handlers) {
  net::io_context io;
  const auto deadline = Clock::now() + timeouts.total;
  auto expire = [&](TlsStream& s, std::chrono::milliseconds d) {
    beast::get_lowest_layer(s).expires_at(std::min(Clock::now() + d, deadline));
  };

  // Resolve (bounded by a timer: the resolver has no expiry of its own).
  tcp::resolver resolver(io);
  tcp::resolver::results_type endpoints;
  {
    net::steady_timer timer(io, timeouts.connect);
    timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) resolver.cancel();
    });
    auto ec = await(io, [&](auto h) {
      resolver.async_resolve(url.host, std::to_string(url.port),
                             [&, h](boost::system::error_code e, tcp::resolver::results_type r) {
                               endpoints = std::move(r);
                               h(e);
                             });
    });
    timer.cancel();
    if (ec) return Error{"connect_failed", fmt::format("cannot resolve {}: {}", url.host, ec.message())};
  }

  TlsStream stream(io, tls);
  if (Status st = expect_peer_native(stream.native_handle(), url.host); !st.ok()) return st;
  expire(stream, timeouts.connect);
  if (auto ec = await(io, [&](auto h) { beast::get_lowest_layer(stream).async_connect(endpoints, h); }))
    return Error{"connect_failed", fmt::format("cannot connect to {}: {}", url.str(), ec.message())};
  expire(stream, timeouts.handshake);
  if (auto ec = await(io, [&](auto h) { stream.async_handshake(net::ssl::stream_base::client, h); })) {
    long v = SSL_get_verify_result(stream.native_handle());
    std::string why = v != X509_V_OK ? X509_verify_cert_error_string(v) : ec.message();
    return Error{"tls_failed", fmt::format("TLS with {} failed: {}", url.str(), why)};
  }

  http::request<http::string_body> req{http::string_to_verb(request.method), request.target, 11};
  req.set(http::field::host, fmt::format("{}:{}", url.host, url.port));
  req.set(http::field::user_agent, "cacheon-validator");
  for (const auto& [k, v] : request.headers) req.set(k, v);
  if (!request.body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = request.body;
  req.keep_alive(false);
  req.prepare_payload();
  expire(stream, timeouts.read_idle);
  if (auto ec = await(io, [&](auto h) { http::async_write(stream, req, h); }))
    return Error{"disconnected", fmt::format("cannot send to {}: {}", url.str(), ec.message())};

  beast::flat_buffer buf;
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(max_body);
  expire(stream, timeouts.read_idle);
  if (auto ec = await(io, [&](auto h) { http::async_read_header(stream, buf, parser, h); }))
    return read_error(ec);
  if (handlers.on_status)
    if (Status st = handlers.on_status(static_cast<int>(parser.get().result_int())); !st.ok())
      return st;
  std::vector<char> chunk(64 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    expire(stream, timeouts.read_idle);
    // read_some: hand records over as they arrive, not when 64 KiB have piled up.
    auto ec = await(io, [&](auto h) { http::async_read_some(stream, buf, parser, h); });
    if (ec && ec != http::error::need_buffer) return read_error(ec);
    const size_t got = chunk.size() - parser.get().body().size;
    if (got > 0 && handlers.on_body)
      if (Status st = handlers.on_body(std::string_view(chunk.data(), got)); !st.ok()) return st;
  }
  // No TLS close_notify wait: the HTTP framing already told us the response is complete.
  boost::system::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  return {};
}

Result<std::pair<int, std::string>> https_fetch(net::ssl::context& tls, const WorkerUrl& url,
                                                const HttpsRequest& request,
                                                const HttpsTimeouts& timeouts, size_t max_body) {
  std::pair<int, std::string> out;
  HttpsHandlers h;
  h.on_status = [&](int s) -> Status {
    out.first = s;
    return {};
  };
  h.on_body = [&](std::string_view d) -> Status {
    out.second.append(d);
    return {};
  };
  Status st = https_exchange(tls, url, request, timeouts, max_body, h);
  if (!st.ok()) return st.error();
  return out;
}

}  // namespace cacheon::remote

#include "conformance/probe.h"

#include <boost/asio/io_context.hpp>

#include "core/strings.h"

namespace cacheon::conformance {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

std::string header_value(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (ascii_iequals(k, name)) return v;
  return {};
}

Reply exchange(const Url& server, HttpClientRequest req, const ProbeLimits& limits) {
  Reply out;
  auto r = http_fetch(server, std::move(req), limits.timeouts,
                      HttpLimits{64 * 1024, limits.max_body_bytes});
  if (!r.ok()) {
    out.transport = r.error();
    return out;
  }
  out.status = r->status;
  out.content_type = r->header("content-type");
  out.body = std::move(r->body);
  return out;
}

}  // namespace

Reply http_get(const Url& server, std::string_view path, const ProbeLimits& limits) {
  HttpClientRequest req;
  req.target = server.join(path);
  return exchange(server, std::move(req), limits);
}

Reply http_post_json(const Url& server, std::string_view path, std::string body,
                     const ProbeLimits& limits) {
  HttpClientRequest req;
  req.method = "POST";
  req.target = server.join(path);
  req.body = std::move(body);
  return exchange(server, std::move(req), limits);
}

StreamCapture http_post_stream(const Url& server, std::string_view path, std::string body,
                               size_t max_events, const ProbeLimits& limits) {
  StreamCapture cap;
  SseReader reader(limits.sse);
  boost::asio::io_context io;
  auto conn = HttpConnection::create(io, server, HttpLimits{64 * 1024, limits.max_body_bytes});
  HttpClientRequest req;
  req.method = "POST";
  req.target = server.join(path);
  req.body = std::move(body);
  HttpStreamCallbacks cb;
  cb.on_headers = [&](int status, const HttpHeaders& h) {
    cap.status = status;
    cap.content_type = header_value(h, "content-type");
  };
  cb.on_body = [&](std::string_view data, int64_t at) {
    if (cap.status != 200) {
      cap.error_body.append(data.substr(0, kMaxErrorBody - std::min(kMaxErrorBody,
                                                                    cap.error_body.size())));
      return cap.error_body.size() < kMaxErrorBody;
    }
    Status st = reader.feed(data, at, [&](SseEvent&& ev) { cap.events.push_back(std::move(ev)); });
    if (!st.ok()) {
      cap.sse = st;
      return false;
    }
    if (cap.events.size() > max_events) {
      cap.overrun = true;
      return false;
    }
    return true;
  };
  cb.on_done = [&](Status st, int64_t) { cap.transport = std::move(st); };
  conn->request(std::move(req), limits.timeouts, std::move(cb));
  io.run();
  if (cap.transport.ok() && cap.status == 200 && cap.sse.ok()) cap.sse = reader.finish();
  return cap;
}

StreamCapture capture_from_bytes(int status, std::string content_type, std::string_view body,
                                 Status transport, const SseOptions& sse) {
  StreamCapture cap;
  cap.status = status;
  cap.content_type = std::move(content_type);
  cap.transport = std::move(transport);
  if (status != 200) {
    cap.error_body = std::string(body.substr(0, kMaxErrorBody));
    return cap;
  }
  SseReader reader(sse);
  cap.sse = reader.feed(body, 0, [&](SseEvent&& ev) { cap.events.push_back(std::move(ev)); });
  if (cap.sse.ok() && cap.transport.ok()) cap.sse = reader.finish();
  return cap;
}

}  // namespace cacheon::conformance

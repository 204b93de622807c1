// ContainerRuntime: each call is one HTTP exchange on a fresh unix-socket connection
// (unix_http.h); response JSON goes through the pure parsers of docker_json.h.
#include "runner/runtime.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "runner/docker_json.h"
#include "runner/unix_http.h"

namespace cacheon::runner {
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr size_t kPullLineCap = 64 * 1024;          // one progress message
constexpr size_t kPullStreamCap = 256 * 1024 * 1024;  // the whole progress stream

Error with_call(std::string_view call, Error e) {
  e.message = fmt::format("{}: {}", call, e.message);
  return e;
}

Error status_error(std::string_view call, int status, std::string_view body) {
  std::string message = docker::daemon_error_message(body);
  std::string_view code = status == 404   ? runtime_code::kNotFound
                          : status == 409 ? runtime_code::kConflict
                                          : runtime_code::kApiError;
  // Podman 4.3's compat handlers answer a name collision with 500, not 409.
  if (status == 500 && message.find("already in use") != std::string::npos)
    code = runtime_code::kConflict;
  return Error{std::string(code), fmt::format("{}: {} (HTTP {})", call, message, status)};
}

// The request target: "/<api_version><path>".
std::string target(const RuntimeOptions& o, std::string_view path) {
  if (o.api_version.empty()) return std::string(path);
  return fmt::format("/{}{}", o.api_version, path);
}

Result<UnixHttpOptions> transport(const RuntimeOptions& o, milliseconds timeout,
                                  size_t max_body) {
  auto path = unix_socket_path(o.socket_path);
  if (!path.ok()) return path.error();
  UnixHttpOptions t;
  t.socket_path = std::move(*path);
  t.connect_timeout = o.connect_timeout;
  t.timeout = timeout;
  t.max_body_bytes = max_body;
  return t;
}

// One non-streamed call. HTTP >= 400 becomes an error, except the statuses in `ok_statuses`.
Result<UnixHttpResponse> call(const RuntimeOptions& o, std::string_view name,
                              std::string method, std::string_view path, std::string body = {},
                              milliseconds timeout = milliseconds::zero(),
                              std::initializer_list<int> ok_statuses = {}) {
  auto t = transport(o, timeout == milliseconds::zero() ? o.request_timeout : timeout,
                     o.max_response_bytes);
  if (!t.ok()) return with_call(name, t.error());
  UnixHttpRequest req{std::move(method), target(o, path), std::move(body)};
  auto r = unix_http_fetch(*t, req);
  if (!r.ok()) return with_call(name, r.error());
  bool allowed = std::find(ok_statuses.begin(), ok_statuses.end(), r->status) != ok_statuses.end();
  if (r->status >= 400 && !allowed) return status_error(name, r->status, r->body);
  return r;
}

Result<json> call_json(const RuntimeOptions& o, std::string_view name, std::string method,
                       std::string_view path, std::string body = {},
                       milliseconds timeout = milliseconds::zero()) {
  auto r = call(o, name, std::move(method), path, std::move(body), timeout);
  if (!r.ok()) return r.error();
  auto j = docker::parse_json(r->body, name);
  if (!j.ok()) return j.error();
  return j;
}

Status as_status(const Result<UnixHttpResponse>& r) {
  if (!r.ok()) return r.error();
  return {};
}

std::string id_path(std::string_view prefix, std::string_view id, std::string_view suffix = {}) {
  return fmt::format("{}/{}{}", prefix, docker::path_encode(id, false), suffix);
}

}  // namespace

ContainerRuntime::ContainerRuntime(RuntimeOptions options) : options_(std::move(options)) {}

Result<json> ContainerRuntime::version() { return call_json(options_, "version", "GET", "/version"); }

// ---------------------------------------------------------------------------------------------
// Images

Status ContainerRuntime::pull(std::string_view reference, milliseconds timeout,
                              const std::function<void(const PullProgress&)>& progress) {
  const std::string name = fmt::format("pull {}", reference);
  auto split = docker::split_reference(reference);
  if (!split.ok()) return with_call(name, split.error());
  // Podman's compat handler joins fromImage and tag with '@' when tag is a digest; dockerd
  // accepts the same split form.
  std::string path = "/images/create?fromImage=" + docker::query_encode(split->repo);
  if (!split->digest.empty()) path += "&tag=" + docker::query_encode(split->digest);
  auto t = transport(options_, timeout, kPullStreamCap);
  if (!t.ok()) return with_call(name, t.error());

  std::string line;
  std::optional<Error> stream_error;  // from the progress messages or their framing
  PullProgress last;
  bool any = false;
  auto handle_line = [&](std::string_view l) -> bool {
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ')) l.remove_suffix(1);
    if (l.empty()) return true;
    auto m = docker::parse_pull_message(l);
    if (!m.ok()) {
      stream_error = with_call(name, m.error());
      return false;
    }
    if (m->error) {
      stream_error = Error{std::string(runtime_code::kPullFailed),
                           fmt::format("{}: {}", name, docker::daemon_error_message(*m->error))};
      return false;
    }
    any = true;
    last = m->progress;
    if (progress) progress(m->progress);
    return true;
  };
  std::function<bool(std::string_view)> on_body = [&](std::string_view data) {
    while (!data.empty()) {
      size_t nl = data.find('\n');
      std::string_view piece = data.substr(0, nl);
      if (line.size() + piece.size() > kPullLineCap) {
        stream_error = Error{std::string(runtime_code::kBadResponse),
                             fmt::format("{}: a progress message over {} bytes", name,
                                         kPullLineCap)};
        return false;
      }
      line.append(piece);
      if (nl == std::string_view::npos) break;
      data.remove_prefix(nl + 1);
      bool go_on = handle_line(line);
      line.clear();
      if (!go_on) return false;
    }
    return true;
  };
  UnixHttpRequest req{"POST", target(options_, path), ""};
  auto r = unix_http_stream(*t, req, on_body);
  if (!r.ok()) {
    if (r.error().code == runtime_code::kTimeout)
      return Error{std::string(runtime_code::kPullTimeout),
                   fmt::format("{}: not done within {} ms", name, timeout.count())};
    return with_call(name, r.error());
  }
  if (stream_error) return *stream_error;
  if (r->status >= 400) {  // dockerd refuses some pulls before streaming (404, 500)
    Error e = status_error(name, r->status, r->error_body);
    e.code = std::string(runtime_code::kPullFailed);
    return e;
  }
  if (!line.empty() && !handle_line(line)) return *stream_error;
  if (!any || !docker::is_pull_success(last))
    return Error{std::string(runtime_code::kPullFailed),
                 fmt::format("{}: the progress stream ended without success (last status '{}')",
                             name, last.status)};
  return {};
}

Result<ImageInfo> ContainerRuntime::inspect_image(std::string_view name_or_id) {
  const std::string name = fmt::format("inspect image {}", name_or_id);
  auto j = call_json(options_, name, "GET",
                     fmt::format("/images/{}/json", docker::path_encode(name_or_id, true)));
  if (!j.ok()) return j.error();
  auto info = docker::parse_image_info(*j);
  if (!info.ok()) return with_call(name, info.error());
  return info;
}

Status ContainerRuntime::remove_image(std::string_view name_or_id, bool force) {
  return as_status(call(options_, fmt::format("remove image {}", name_or_id), "DELETE",
                        fmt::format("/images/{}?force={}", docker::path_encode(name_or_id, true),
                                    force ? 1 : 0)));
}

// ---------------------------------------------------------------------------------------------
// Containers

Result<std::string> ContainerRuntime::create_container(std::string_view name, const json& body) {
  const std::string what = fmt::format("create container {}", name);
  std::string path = "/containers/create";
  if (!name.empty()) path += "?name=" + docker::query_encode(name);
  auto j = call_json(options_, what, "POST", path, body.dump());
  if (!j.ok()) return j.error();
  auto id = docker::parse_created_id(*j);
  if (!id.ok()) return with_call(what, id.error());
  return id;
}

Status ContainerRuntime::start_container(std::string_view id) {
  // 304: already started.
  return as_status(call(options_, fmt::format("start container {}", id), "POST",
                        id_path("/containers", id, "/start")));
}

Result<ContainerInfo> ContainerRuntime::inspect_container(std::string_view id) {
  const std::string name = fmt::format("inspect container {}", id);
  auto j = call_json(options_, name, "GET", id_path("/containers", id, "/json"));
  if (!j.ok()) return j.error();
  auto info = docker::parse_container_info(*j);
  if (!info.ok()) return with_call(name, info.error());
  return info;
}

Status ContainerRuntime::stop_container(std::string_view id, std::chrono::seconds grace) {
  auto t = std::max<int64_t>(0, grace.count());
  return as_status(call(options_, fmt::format("stop container {}", id), "POST",
                        id_path("/containers", id, fmt::format("/stop?t={}", t)), "",
                        options_.request_timeout + std::chrono::seconds(t)));
}

Status ContainerRuntime::kill_container(std::string_view id, std::string_view signal) {
  return as_status(call(options_, fmt::format("kill container {}", id), "POST",
                        id_path("/containers", id,
                                "/kill?signal=" + docker::query_encode(signal))));
}

Status ContainerRuntime::remove_container(std::string_view id, bool force) {
  return as_status(call(options_, fmt::format("remove container {}", id), "DELETE",
                        id_path("/containers", id,
                                fmt::format("?force={}&v=1", force ? 1 : 0)),
                        "", milliseconds::zero(), {404}));
}

Result<int> ContainerRuntime::wait_container(std::string_view id, milliseconds timeout) {
  const std::string name = fmt::format("wait container {}", id);
  auto j = call_json(options_, name, "POST", id_path("/containers", id, "/wait"), "", timeout);
  if (!j.ok()) return j.error();
  auto code = docker::parse_wait_status(*j);
  if (!code.ok()) return with_call(name, code.error());
  return code;
}

Result<std::vector<ContainerSummary>> ContainerRuntime::list_containers(
    const std::vector<std::string>& labels) {
  auto j = call_json(options_, "list containers", "GET",
                     "/containers/json?all=1&filters=" + docker::label_filters(labels));
  if (!j.ok()) return j.error();
  return docker::parse_container_list(*j);
}

Result<std::string> ContainerRuntime::logs_tail(std::string_view id, int lines,
                                                size_t max_bytes) {
  const std::string name = fmt::format("logs of container {}", id);
  auto t = transport(options_, options_.request_timeout, options_.max_response_bytes);
  if (!t.ok()) return with_call(name, t.error());
  std::string tail = lines < 0 ? "all" : std::to_string(lines);
  UnixHttpRequest req{"GET", target(options_, id_path("/containers", id,
                                                      "/logs?stdout=1&stderr=1&tail=" + tail)),
                      ""};
  docker::LogDemuxer demux;
  std::string out;
  std::optional<Error> bad;
  std::function<bool(std::string_view)> on_body = [&](std::string_view data) {
    if (Status s = demux.feed(data, out); !s.ok()) {
      bad = s.error();
      return false;
    }
    // Keep the last max_bytes; trim in batches so appending stays linear.
    if (out.size() > 2 * max_bytes + 64 * 1024) out.erase(0, out.size() - max_bytes);
    return true;
  };
  auto r = unix_http_stream(*t, req, on_body);
  if (!r.ok()) return with_call(name, r.error());
  if (r->status >= 400) return status_error(name, r->status, r->error_body);
  if (!bad) {
    if (Status s = demux.finish(out); !s.ok()) bad = s.error();
  }
  if (bad) return with_call(name, *bad);
  if (out.size() > max_bytes) out.erase(0, out.size() - max_bytes);
  return out;
}

Status ContainerRuntime::export_container(std::string_view id, milliseconds timeout,
                                          const std::function<bool(std::string_view)>& on_data) {
  const std::string name = fmt::format("export container {}", id);
  auto t = transport(options_, timeout, std::numeric_limits<size_t>::max());
  if (!t.ok()) return with_call(name, t.error());
  UnixHttpRequest req{"GET", target(options_, id_path("/containers", id, "/export")), ""};
  auto r = unix_http_stream(*t, req, on_data);
  if (!r.ok()) return with_call(name, r.error());
  if (r->status >= 400) return status_error(name, r->status, r->error_body);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Networks

Result<std::string> ContainerRuntime::create_network(
    std::string_view name, bool internal, const std::map<std::string, std::string>& labels) {
  const std::string what = fmt::format("create network {}", name);
  json body = {{"Name", name},         {"Driver", "bridge"},   {"Internal", internal},
               {"Labels", labels},     {"CheckDuplicate", true}};
  auto j = call_json(options_, what, "POST", "/networks/create", body.dump());
  if (!j.ok()) return j.error();
  auto id = docker::parse_created_id(*j);
  if (!id.ok()) return with_call(what, id.error());
  return id;
}

Status ContainerRuntime::connect_network(std::string_view network, std::string_view container) {
  json body = {{"Container", container}};
  return as_status(call(options_, fmt::format("connect {} to network {}", container, network),
                        "POST", id_path("/networks", network, "/connect"), body.dump()));
}

Status ContainerRuntime::remove_network(std::string_view name_or_id) {
  return as_status(call(options_, fmt::format("remove network {}", name_or_id), "DELETE",
                        id_path("/networks", name_or_id), "", milliseconds::zero(), {404}));
}

Result<std::vector<NetworkSummary>> ContainerRuntime::list_networks(
    const std::vector<std::string>& labels) {
  auto j = call_json(options_, "list networks", "GET",
                     "/networks?filters=" + docker::label_filters(labels));
  if (!j.ok()) return j.error();
  return docker::parse_network_list(*j);
}

}  // namespace cacheon::runner

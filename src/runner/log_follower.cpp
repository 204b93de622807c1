// LogFollower: one long GET /containers/{id}/logs?follow=1 on its own thread, demultiplexed
// into a file. stop() cancels the request through UnixHttpCancel, which closes the socket on the
// request's own io thread, so a silent container never holds stop() up.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "runner/docker_json.h"
#include "runner/runtime.h"
#include "runner/unix_http.h"

namespace cacheon::runner {

struct LogFollower::State {
  UnixHttpCancel cancel;
  std::atomic<size_t> written{0};
};

namespace {

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void follow(const RuntimeOptions& o, const std::string& id, const std::string& path,
            size_t max_bytes, UnixHttpCancel& cancel, std::atomic<size_t>& written) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;  // no file to write to; bytes_written() stays 0
  bool line_open = false;  // the last byte written was not '\n'
  auto note = [&](std::string_view text) {
    write_all(fd, fmt::format("{}[cacheon: {}]\n", line_open ? "\n" : "", text));
  };
  auto sock = unix_socket_path(o.socket_path);
  if (!sock.ok()) {
    note("log stream error: " + sock.error().message);
    ::close(fd);
    return;
  }
  UnixHttpOptions t;
  t.socket_path = *sock;
  t.connect_timeout = o.connect_timeout;
  t.timeout = std::chrono::hours(24 * 365);  // as long as the container runs; stop() cancels
  t.max_body_bytes = std::numeric_limits<size_t>::max();  // capped below, not by the transport
  UnixHttpRequest req{"GET",
                      fmt::format("/{}/containers/{}/logs?follow=1&stdout=1&stderr=1",
                                  o.api_version, docker::path_encode(id, false)),
                      ""};
  if (o.api_version.empty()) req.target.erase(0, 1);
  docker::LogDemuxer demux;
  std::string out;
  std::optional<std::string> problem;
  bool cut = false;
  std::function<bool(std::string_view)> on_body = [&](std::string_view data) {
    out.clear();
    if (Status s = demux.feed(data, out); !s.ok()) {
      problem = s.error().message;
      return false;
    }
    size_t room = max_bytes - written.load();
    std::string_view piece(out.data(), std::min(room, out.size()));
    if (!piece.empty()) {
      if (!write_all(fd, piece)) {
        problem = fmt::format("writing {}: {}", path, std::strerror(errno));
        return false;
      }
      written += piece.size();
      line_open = piece.back() != '\n';
    }
    if (out.size() > room) {
      cut = true;
      return false;
    }
    return true;
  };
  auto r = unix_http_stream(t, req, on_body, {}, &cancel);
  if (cut) {
    note(fmt::format("log cut at {} bytes", max_bytes));
  } else if (problem) {
    note("log stream error: " + *problem);
  } else if (!r.ok()) {
    note("log stream error: " + r.error().message);
  } else if (r->status >= 400) {
    note(fmt::format("log stream error: HTTP {}: {}", r->status,
                     docker::daemon_error_message(r->error_body)));
  }
  ::close(fd);
}

}  // namespace

LogFollower::LogFollower(const RuntimeOptions& options, std::string container_id,
                         std::string path, size_t max_bytes)
    : state_(std::make_shared<State>()) {
  thread_ = std::thread([o = options, id = std::move(container_id), path = std::move(path),
                         max_bytes, st = state_] {
    follow(o, id, path, max_bytes, st->cancel, st->written);
  });
}

LogFollower::~LogFollower() { stop(); }

void LogFollower::stop() {
  state_->cancel.cancel();
  if (thread_.joinable()) thread_.join();
}

size_t LogFollower::bytes_written() const { return state_->written.load(); }

}  // namespace cacheon::runner

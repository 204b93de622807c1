// The unix-socket HTTP transport (runner/unix_http.h) and ContainerRuntime's error mapping
// against a scripted fake daemon on a real unix socket: hostile framing, caps, silence,
// cancellation from another thread, and the daemon answers podman/dockerd give (409, 500 with a
// message, pull streams with errors or without success, broken log frames).
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <vector>
#include <string>
#include <thread>

#include "runner/runtime.h"
#include "runner/unix_http.h"

namespace cacheon::runner {
namespace {
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Serves each connection with `script(fd, request_head)` on its own thread.
class FakeDaemon {
 public:
  using Script = std::function<void(int fd, const std::string& head)>;
  explicit FakeDaemon(Script script) : script_(std::move(script)) {
    char tmpl[] = "/tmp/cacheon-fake-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/d.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeDaemon() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string last_head() {
    std::lock_guard l(mu_);
    return last_head_;
  }

  // Holds the connection open, silent, until the client closes it (at most `limit`).
  static void wait_close(int fd, std::chrono::milliseconds limit = 3s) {
    auto end = Clock::now() + limit;
    char b[256];
    while (Clock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0 && ::recv(fd, b, sizeof(b), 0) <= 0) return;
    }
  }

  static void send(int fd, std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      s.remove_prefix(static_cast<size_t>(n));
    }
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      conns_.emplace_back([this, c] { serve(c); });
    }
    for (auto& t : conns_) t.join();
  }

  void serve(int c) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(c, buf, sizeof(buf), 0);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    {
      std::lock_guard l(mu_);
      last_head_ = head;
    }
    script_(c, head);
    ::close(c);
  }

  Script script_;
  std::string dir_, path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> conns_;
  std::mutex mu_;
  std::string last_head_;
};

std::string chunked(int status, std::string_view ctype, const std::vector<std::string>& chunks) {
  std::string out = "HTTP/1.1 " + std::to_string(status) +
                    " X\r\nContent-Type: " + std::string(ctype) +
                    "\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size[32];
  for (const auto& c : chunks) {
    std::snprintf(size, sizeof(size), "%zx\r\n", c.size());
    out += size + c + "\r\n";
  }
  return out + "0\r\n\r\n";
}

std::string plain(int status, std::string_view body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

UnixHttpOptions opts(const FakeDaemon& d, std::chrono::milliseconds timeout = 2s) {
  UnixHttpOptions o;
  o.socket_path = d.path();
  o.timeout = timeout;
  return o;
}

RuntimeOptions rt_opts(const FakeDaemon& d) {
  RuntimeOptions o;
  o.socket_path = "unix://" + d.path();
  o.request_timeout = 2s;
  return o;
}

TEST(RunnerUnixHttp, ChunkedBodyAndRequestShape) {
  FakeDaemon d([](int fd, const std::string&) {
    FakeDaemon::send(fd, chunked(200, "text/plain", {"hel", "lo"}));
  });
  auto r = unix_http_fetch(opts(d), {"POST", "/v1.41/x?a=1", "{}"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->content_type, "text/plain");
  std::string head = d.last_head();
  EXPECT_EQ(head.rfind("POST /v1.41/x?a=1 HTTP/1.1\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(head.find("Content-Type: application/json\r\n"), std::string::npos);
}

TEST(RunnerUnixHttp, HostileResponses) {
  struct Case {
    const char* name;
    std::string bytes;
    std::string_view code;
  };
  std::vector<Case> cases = {
      {"garbage", "SSH-2.0-OpenSSH\r\n\r\n", runtime_code::kBadResponse},
      {"no response", "", runtime_code::kBadResponse},
      {"closed mid-body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc",
       runtime_code::kBadResponse},
      {"huge header", "HTTP/1.1 200 OK\r\nX: " + std::string(100 * 1024, 'a') + "\r\n\r\n",
       runtime_code::kBadResponse},
      {"body over cap", plain(200, std::string(2000, 'x')), runtime_code::kBadResponse},
      {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       runtime_code::kBadResponse},
  };
  for (const auto& c : cases) {
    FakeDaemon d([&](int fd, const std::string&) { FakeDaemon::send(fd, c.bytes); });
    auto o = opts(d);
    o.max_body_bytes = 1000;
    auto r = unix_http_fetch(o, {"GET", "/x", ""});
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
  }
}

TEST(RunnerUnixHttp, SilenceTimesOutAndCancelEndsAStreamAtOnce) {
  FakeDaemon d([&](int fd, const std::string&) {
    FakeDaemon::send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    FakeDaemon::wait_close(fd);
  });
  auto t0 = Clock::now();
  auto r = unix_http_fetch(opts(d, 300ms), {"GET", "/x", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, runtime_code::kTimeout);
  EXPECT_LT(Clock::now() - t0, 2s);

  UnixHttpCancel cancel;
  std::string got;
  std::function<bool(std::string_view)> sink = [&](std::string_view s) {
    got.append(s);
    return true;
  };
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    cancel.cancel();
  });
  t0 = Clock::now();
  auto s = unix_http_stream(opts(d, 60s), {"GET", "/x", ""}, sink, {}, &cancel);
  stopper.join();
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->stopped);
  EXPECT_EQ(got, "abc");
  EXPECT_LT(Clock::now() - t0, 1s);
  // Cancelled before it starts: ends at once.
  auto again = unix_http_stream(opts(d, 60s), {"GET", "/x", ""}, sink, {}, &cancel);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->stopped);
}

TEST(RunnerUnixHttp, SocketSpecs) {
  EXPECT_EQ(*unix_socket_path("unix:///run/podman/podman.sock"), "/run/podman/podman.sock");
  EXPECT_EQ(*unix_socket_path("/var/run/docker.sock"), "/var/run/docker.sock");
  for (std::string bad : {std::string(), std::string("unix://"),
                          std::string("tcp://127.0.0.1:2375"), std::string("relative.sock"),
                          "/" + std::string(200, 'a')}) {
    auto r = unix_socket_path(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, runtime_code::kUnreachable);
  }
}

TEST(RunnerRuntimeFake, StatusMapping) {
  struct Case {
    std::string response;
    std::string_view code;
    const char* message_part;
  };
  std::vector<Case> cases = {
      {plain(404, R"({"message":"no such image"})"), runtime_code::kNotFound, "no such image"},
      {plain(409, R"({"message":"is running"})"), runtime_code::kConflict, "is running"},
      {plain(500, R"({"message":"the name \"x\" is already in use by y"})"),
       runtime_code::kConflict, "already in use"},
      {plain(500, R"({"message":"storage broken"})"), runtime_code::kApiError, "storage broken"},
      {plain(200, "not json"), runtime_code::kBadResponse, "not JSON"},
      {plain(200, R"({"Id":7})"), runtime_code::kBadResponse, "Id"},
  };
  for (const auto& c : cases) {
    FakeDaemon d([&](int fd, const std::string&) { FakeDaemon::send(fd, c.response); });
    ContainerRuntime rt(rt_opts(d));
    auto r = rt.inspect_image("img@sha256:" + std::string(64, 'a'));
    ASSERT_FALSE(r.ok()) << c.response;
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
    EXPECT_NE(r.error().message.find("inspect image img@sha256:"), std::string::npos);
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos) << r.error().message;
    EXPECT_EQ(d.last_head().rfind("GET /v1.41/images/img@sha256:aaaa", 0), 0u);
  }
}

TEST(RunnerRuntimeFake, PullStreams) {
  const std::string ref = "127.0.0.1:5000/x@sha256:" + std::string(64, 'b');
  struct Case {
    const char* name;
    std::string response;
    std::string_view code;  // "" = success
    size_t messages;
  };
  std::string ok1 = R"({"status":"Pulling fs layer","id":"1"})" "\n";
  std::string done = R"({"status":"Download complete","id":"abc"})" "\n";
  std::vector<Case> cases = {
      {"podman success", chunked(200, "application/json", {ok1, done.substr(0, 10),
                                                           done.substr(10)}), "", 2},
      {"dockerd success",
       chunked(200, "application/json",
               {ok1, R"({"status":"Status: Downloaded newer image for x"})"}), "", 2},
      {"error line", chunked(200, "application/json",
                             {ok1, R"({"error":"manifest unknown","errorDetail":{}})" "\n"}),
       runtime_code::kPullFailed, 1},
      {"no success", chunked(200, "application/json", {ok1}), runtime_code::kPullFailed, 1},
      {"empty stream", chunked(200, "application/json", {}), runtime_code::kPullFailed, 0},
      {"not json", chunked(200, "application/json", {"<html>\n"}), runtime_code::kBadResponse,
       0},
      {"line over cap", chunked(200, "application/json", {std::string(70 * 1024, 'x')}),
       runtime_code::kBadResponse, 0},
      {"refused", plain(404, R"({"message":"manifest for x not found"})"),
       runtime_code::kPullFailed, 0},
  };
  for (const auto& c : cases) {
    FakeDaemon d([&](int fd, const std::string&) { FakeDaemon::send(fd, c.response); });
    ContainerRuntime rt(rt_opts(d));
    size_t n = 0;
    Status st = rt.pull(ref, 2s, [&](const PullProgress&) { ++n; });
    EXPECT_EQ(st.ok(), c.code.empty()) << c.name << ": " << (st.ok() ? "" : st.error().message);
    if (!st.ok()) {
      EXPECT_EQ(st.error().code, c.code) << c.name << ": " << st.error().message;
    }
    EXPECT_EQ(n, c.messages) << c.name;
    EXPECT_NE(d.last_head().find("fromImage=127.0.0.1%3A5000%2Fx&tag=sha256%3Abbbb"),
              std::string::npos)
        << d.last_head();
  }
  FakeDaemon stall([](int fd, const std::string&) {
    FakeDaemon::send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    FakeDaemon::wait_close(fd);
  });
  ContainerRuntime rt(rt_opts(stall));
  Status st = rt.pull(ref, 300ms);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, runtime_code::kPullTimeout);
}

TEST(RunnerRuntimeFake, LogsTailDemuxesAndRejectsBrokenFrames) {
  auto frame = [](char stream, std::string_view p) {
    std::string h(8, '\0');
    h[0] = stream;
    h[7] = static_cast<char>(p.size());
    return h + std::string(p);
  };
  FakeDaemon good([&](int fd, const std::string&) {
    FakeDaemon::send(fd, chunked(200, "application/octet-stream",
                                 {frame(1, "hello\n").substr(0, 5),
                                  frame(1, "hello\n").substr(5) + frame(2, "oops\n")}));
  });
  ContainerRuntime rt(rt_opts(good));
  auto tail = rt.logs_tail("c1", 10);
  ASSERT_TRUE(tail.ok()) << tail.error().message;
  EXPECT_EQ(*tail, "hello\noops\n");
  auto last = rt.logs_tail("c1", 10, 5);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, "oops\n");  // the tail keeps the end
  EXPECT_NE(good.last_head().find("/containers/c1/logs?stdout=1&stderr=1&tail=10"),
            std::string::npos);

  FakeDaemon broken([&](int fd, const std::string&) {
    FakeDaemon::send(fd, chunked(200, "application/octet-stream",
                                 {frame(1, "hello\n") + frame(1, "cut").substr(0, 9)}));
  });
  ContainerRuntime rt2(rt_opts(broken));
  auto bad = rt2.logs_tail("c1", 10);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, runtime_code::kBadResponse) << bad.error().message;
}

}  // namespace
}  // namespace cacheon::runner

// fuzz_http_response: HTTP response parsing in core/http_client.cpp (a Boost.Beast parser behind
// HttpConnection) against a loopback TCP peer that answers with the fuzz input. See
// fuzz_targets.h.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/http_client.h"
#include "fuzz_targets.h"

namespace cacheon::fuzz {
namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0;
}

// Accepts one connection, reads the request head, writes `response`, closes its sending side and
// waits for the client to hang up. Every wait is bounded, so a client bug cannot hang the thread.
void serve_once(int listener, std::string_view response) {
  if (!readable(listener, 5000)) return;
  Fd conn(::accept(listener, nullptr, nullptr));
  if (conn.fd < 0) return;
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos && readable(conn.fd, 5000)) {
    const ssize_t n = ::recv(conn.fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, size_t(n));
  }
  for (size_t off = 0; off < response.size();) {
    const ssize_t n = ::send(conn.fd, response.data() + off, response.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += size_t(n);
  }
  ::shutdown(conn.fd, SHUT_WR);
  while (readable(conn.fd, 5000) && ::recv(conn.fd, buf, sizeof buf, 0) > 0) {
  }
}

// The peer thread and the client's event loop, kept for the whole process: a thread and an
// io_context (with its resolver thread) per input would cost more than the parsing under test.
class Loopback {
 public:
  Loopback() : listener_(::socket(AF_INET, SOCK_STREAM, 0)) {
    CACHEON_ASSERT(listener_.fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    CACHEON_ASSERT(::bind(listener_.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    CACHEON_ASSERT(::listen(listener_.fd, 4) == 0);
    CACHEON_ASSERT(::getsockname(listener_.fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  Loopback(const Loopback&) = delete;
  Loopback& operator=(const Loopback&) = delete;
  ~Loopback() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  uint16_t port() const { return port_; }
  boost::asio::io_context& io() { return io_; }

  // The next connection is answered with `response`; wait() returns once the peer hung up.
  void arm(std::string_view response) {
    std::lock_guard<std::mutex> lock(mu_);
    response_.assign(response);
    armed_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !armed_; });
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return armed_ || stop_; });
      if (stop_) return;
      lock.unlock();
      serve_once(listener_.fd, response_);
      lock.lock();
      armed_ = false;
      cv_.notify_all();
    }
  }

  Fd listener_;
  uint16_t port_ = 0;
  boost::asio::io_context io_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string response_;  // written by arm() only while the peer thread waits
  bool armed_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

void fuzz_http_response(const uint8_t* data, size_t size) {
  static Loopback loopback;  // one peer thread and event loop per process
  loopback.arm({reinterpret_cast<const char*>(data), size});
  Url url;
  url.host = "127.0.0.1";
  url.port = loopback.port();
  HttpClientRequest req;
  req.target = "/fuzz";
  HttpTimeouts t;
  t.connect = t.first_byte = t.read_idle = std::chrono::seconds(5);
  t.total = std::chrono::seconds(10);
  const HttpLimits limits{2048, 8192};
  // http_fetch's callbacks, on an event loop that outlives the request.
  int status = -1;
  size_t body = 0;
  std::optional<Status> done;
  HttpStreamCallbacks cb;
  cb.on_headers = [&](int s, const HttpHeaders&) {
    CACHEON_ASSERT(status == -1);
    status = s;
  };
  cb.on_body = [&](std::string_view d, int64_t) {
    CACHEON_ASSERT(status != -1);
    body += d.size();
    return true;
  };
  cb.on_done = [&](Status st, int64_t) {
    CACHEON_ASSERT(!done);
    done = std::move(st);
  };
  auto conn = HttpConnection::create(loopback.io(), url, limits);
  conn->request(req, t, std::move(cb));
  loopback.io().restart();
  loopback.io().run();
  conn.reset();  // closes a kept-alive socket: the peer waits for that
  loopback.wait();
  CACHEON_ASSERT(done.has_value());
  if (done->ok()) {
    CACHEON_ASSERT(status >= 0 && status <= 999);
    CACHEON_ASSERT(body <= limits.max_body_bytes && body <= size);
  } else {
    // The peer always answers and hangs up at once: a timeout means the client missed the end.
    const std::string& c = done->error().code;
    CACHEON_ASSERT(c == "http_malformed" || c == "header_too_large" || c == "body_too_large" ||
                   c == "disconnected");
  }
}

}  // namespace cacheon::fuzz

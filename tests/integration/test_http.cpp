// The HTTP stack end to end over loopback: our server, our client, their bounds and timeouts.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/clock.h"
#include "core/http_client.h"
#include "core/http_server.h"
#include "harness/eval.h"

using namespace cacheon;
using namespace std::chrono_literals;

namespace {

// Routes used by the tests below.
void handler(HttpRequest req, std::shared_ptr<ResponseStream> out) {
  if (req.target == "/echo") {
    out->send(200, "text/plain", req.method + ":" + req.body, {{"X-Test", "1"}});
  } else if (req.target == "/stream") {
    // Three chunks 20 ms apart, scheduled on the connection's executor.
    out->start_chunked(200, "text/event-stream");
    auto timer = std::make_shared<boost::asio::steady_timer>(out->executor());
    auto step = std::make_shared<std::function<void(int)>>();
    *step = [out, timer, step](int i) {
      out->write_chunk("data: " + std::to_string(i) + "\n\n");
      if (i == 2) {
        out->end_chunked();
        *step = nullptr;  // break the cycle
        return;
      }
      timer->expires_after(20ms);
      timer->async_wait([step, i](auto) {
        if (*step) (*step)(i + 1);
      });
    };
    (*step)(0);
  } else if (req.target == "/silent") {
    // Never answers; keeps the exchange alive for a while.
    auto timer = std::make_shared<boost::asio::steady_timer>(out->executor());
    timer->expires_after(3s);
    timer->async_wait([out, timer](auto) { out->send(200, "text/plain", "late"); });
  } else if (req.target == "/stall-mid") {
    out->start_chunked(200, "text/plain");
    out->write_chunk("first");
    auto timer = std::make_shared<boost::asio::steady_timer>(out->executor());
    timer->expires_after(3s);
    timer->async_wait([out, timer](auto) { out->end_chunked(); });
  } else if (req.target == "/cut") {
    out->start_chunked(200, "text/plain");
    out->write_chunk("partial", [out](bool) { out->close(); });
  } else if (req.target == "/garbage") {
    out->write_raw("NOT HTTP AT ALL\r\n\r\n", [out](bool) { out->close(); });
  } else if (req.target == "/big") {
    out->send(200, "text/plain", std::string(2 * 1024 * 1024, 'x'));
  } else if (req.target == "/close") {
    out->send(200, "text/plain", "bye", {{"Connection", "close"}});
  } else if (req.target == "/throw") {
    throw std::runtime_error("handler bug");
  } else {
    out->send(404, "text/plain", "no");
  }
}

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(HttpServerOptions{}, handler);
    ASSERT_TRUE(server_->start().ok());
    base_ = *Url::parse("http://127.0.0.1:" + std::to_string(server_->port()));
  }
  Result<HttpResponse> get(std::string target, HttpTimeouts t = {}, HttpLimits l = {}) {
    HttpClientRequest r;
    r.target = std::move(target);
    return http_fetch(base_, r, t, l);
  }
  std::unique_ptr<HttpServer> server_;
  Url base_;
};

}  // namespace

TEST(Url, ParsesAndRejects) {
  auto u = Url::parse("http://localhost:8000/v1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 8000);
  EXPECT_EQ(u->join("/tokenize"), "/v1/tokenize");
  EXPECT_EQ(Url::parse("http://h")->port, 80);
  EXPECT_EQ(Url::parse("http://[::1]:9/")->host, "::1");
  for (const char* bad : {"ftp://x", "http://", "http://h:0", "http://h:70000", "http://h:8x",
                          "https://h", "localhost:8000", "http://a b:1",
                          // Fuzz finds (fuzz/corpus/config/regress_url_*): hosts that str()
                          // could not print back: an unbracketed colon, brackets, junk after ']'.
                          "http://1:][::8080", "http://::1:80", "http://[[x]", "http://[::1]x/"}) {
    auto r = Url::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "bad_url");
  }
}

TEST_F(HttpTest, EchoAndHeaders) {
  HttpClientRequest r;
  r.method = "POST";
  r.target = "/echo";
  r.body = "hello";
  auto resp = http_fetch(base_, r);
  ASSERT_TRUE(resp.ok()) << resp.error().message;
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->body, "POST:hello");
  EXPECT_EQ(resp->header("x-test"), "1");
}

TEST_F(HttpTest, KeepAliveReusesOneConnection) {
  boost::asio::io_context io;
  auto conn = HttpConnection::create(io, base_);
  int done = 0;
  std::function<void()> next = [&] {
    HttpClientRequest r;
    r.method = "POST";
    r.target = "/echo";
    r.body = std::to_string(done);
    HttpStreamCallbacks cb;
    cb.on_done = [&](Status st, int64_t) {
      ASSERT_TRUE(st.ok()) << st.error().message;
      if (++done < 5) next();
    };
    conn->request(r, {}, cb);
  };
  next();
  io.run();
  EXPECT_EQ(done, 5);
}

TEST_F(HttpTest, StreamingDeliversChunksWithArrivalTimes) {
  boost::asio::io_context io;
  auto conn = HttpConnection::create(io, base_);
  std::vector<std::pair<std::string, int64_t>> pieces;
  int64_t sent = -1, first = -1;
  Status result = Error{"x", "not done"};
  HttpStreamCallbacks cb;
  cb.on_sent = [&](int64_t t) { sent = t; };
  cb.on_first_byte = [&](int64_t t) { first = t; };
  cb.on_body = [&](std::string_view d, int64_t t) {
    pieces.emplace_back(std::string(d), t);
    return true;
  };
  cb.on_done = [&](Status st, int64_t) { result = st; };
  HttpClientRequest r;
  r.target = "/stream";
  conn->request(r, {}, cb);
  io.run();
  ASSERT_TRUE(result.ok()) << result.error().message;
  std::string all;
  for (auto& p : pieces) all += p.first;
  EXPECT_EQ(all, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
  ASSERT_GE(pieces.size(), 3u);
  EXPECT_GT(first, sent);
  // Chunks are 20 ms apart on the server; arrival stamps must show it (generous bound).
  EXPECT_GE(pieces.back().second - pieces.front().second, 30'000'000);
}

TEST_F(HttpTest, ServerBoundsHeadersAndBody) {
  HttpClientRequest r;
  r.target = "/echo";
  r.headers.push_back({"X-Big", std::string(20000, 'a')});
  auto resp = http_fetch(base_, r);
  ASSERT_TRUE(resp.ok()) << resp.error().message;
  EXPECT_EQ(resp->status, 431);

  HttpServerOptions small;
  small.max_body_bytes = 1000;
  HttpServer s2(small, handler);
  ASSERT_TRUE(s2.start().ok());
  HttpClientRequest big;
  big.method = "POST";
  big.target = "/echo";
  big.body = std::string(5000, 'b');
  auto r2 = http_fetch(*Url::parse("http://127.0.0.1:" + std::to_string(s2.port())), big);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->status, 413);
}

TEST_F(HttpTest, HandlerExceptionBecomes500) {
  auto r = get("/throw");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
}

TEST_F(HttpTest, ClientTimeouts) {
  HttpTimeouts t;
  t.first_byte = 200ms;
  auto r = get("/silent", t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "timeout_first_byte");

  HttpTimeouts t2;
  t2.read_idle = 200ms;
  auto r2 = get("/stall-mid", t2);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, "timeout_read");

  HttpTimeouts t3;
  t3.total = 300ms;
  int64_t start = mono_ns();
  auto r3 = get("/stall-mid", t3);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error().code, "timeout_total");
  EXPECT_LT(mono_ns() - start, 2'000'000'000);
}

TEST_F(HttpTest, PeerMisbehaviour) {
  auto cut = get("/cut");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, "disconnected");

  auto garbage = get("/garbage");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, "http_malformed");

  HttpLimits l;
  l.max_body_bytes = 1024 * 1024;
  auto big = get("/big", {}, l);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, "body_too_large");
}

TEST_F(HttpTest, ConnectionRefusedIsClear) {
  HttpServer tmp(HttpServerOptions{}, handler);
  ASSERT_TRUE(tmp.start().ok());
  uint16_t port = tmp.port();
  tmp.stop();
  auto r = http_fetch(*Url::parse("http://127.0.0.1:" + std::to_string(port)), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "connect_failed");
}

TEST_F(HttpTest, ConnectionCloseThenReconnect) {
  boost::asio::io_context io;
  auto conn = HttpConnection::create(io, base_);
  std::vector<std::string> bodies;
  std::vector<std::string> targets = {"/close", "/echo", "/close", "/echo"};
  size_t i = 0;
  std::function<void()> next = [&] {
    HttpClientRequest r;
    r.target = targets[i];
    HttpStreamCallbacks cb;
    cb.on_body = [&](std::string_view d, int64_t) {
      bodies.back() += d;
      return true;
    };
    cb.on_done = [&](Status st, int64_t) {
      ASSERT_TRUE(st.ok()) << st.error().message;
      if (++i < targets.size()) next();
    };
    bodies.emplace_back();
    conn->request(r, {}, cb);
  };
  next();
  io.run();
  EXPECT_EQ(bodies, (std::vector<std::string>{"bye", "GET:", "bye", "GET:"}));
}

TEST(HttpKeepAlive, ClientReconnectsWhenServerClosedIdleSocket) {
  HttpServerOptions opt;
  opt.idle_timeout = std::chrono::milliseconds(50);
  opt.request_read_timeout = std::chrono::milliseconds(50);
  HttpServer server(opt, handler);
  ASSERT_TRUE(server.start().ok());
  boost::asio::io_context io;
  auto conn = HttpConnection::create(io, *Url::parse("http://127.0.0.1:" +
                                                      std::to_string(server.port())));
  auto once = [&](std::string body) {
    std::string got;
    Status result = Error{"x", "not done"};
    HttpClientRequest r;
    r.method = "POST";
    r.target = "/echo";
    r.body = body;
    HttpStreamCallbacks cb;
    cb.on_body = [&](std::string_view d, int64_t) {
      got += d;
      return true;
    };
    cb.on_done = [&](Status st, int64_t) { result = st; };
    conn->request(r, {}, cb);
    io.restart();
    io.run();
    EXPECT_TRUE(result.ok()) << result.error().message;
    return got;
  };
  EXPECT_EQ(once("a"), "POST:a");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server drops the idle socket
  EXPECT_EQ(once("b"), "POST:b");
}

TEST(EvalSequence, ParsesAndRejects) {
  EXPECT_EQ(*cacheon::harness::parse_sequence("B,C,B"), (std::vector<char>{'B', 'C', 'B'}));
  EXPECT_EQ(*cacheon::harness::parse_sequence("B, C"), (std::vector<char>{'B', 'C'}));
  for (const char* bad : {"", "C", "B,B", "B,C,C", "B,X", "B,B,B,B,B,C"})
    EXPECT_EQ(cacheon::harness::parse_sequence(bad).error().code, "bad_sequence") << bad;
}

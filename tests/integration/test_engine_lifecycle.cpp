// The engine server's lifecycle in process: /health 503 while loading then 200, a model that
// fails to load, the bounded queue (429), a client that disconnects mid-stream (its sequence is
// cancelled), and graceful shutdown (in-flight requests finish within the grace, the rest end
// with an error event).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "core/http_client.h"
#include "engine/model/synthetic.h"
#include "engine/server/engine_server.h"

namespace cacheon::engine {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A streaming chat request on its own io thread; optionally hangs up after the first content.
class StreamCall {
 public:
  StreamCall(uint16_t port, const json& body, bool hang_up_early)
      : conn_(
            HttpConnection::create(io_, *Url::parse("http://127.0.0.1:" + std::to_string(port)))) {
    HttpClientRequest req;
    req.method = "POST";
    req.target = "/v1/chat/completions";
    req.body = body.dump();
    HttpStreamCallbacks cb;
    cb.on_headers = [this](int status, const HttpHeaders&) { status_ = status; };
    cb.on_body = [this, hang_up_early](std::string_view data, int64_t) {
      std::lock_guard lk(mu_);
      body_.append(data);
      return !(hang_up_early && body_.find("\"content\":\"") != std::string::npos &&
               body_.find("\"role\"") != std::string::npos && ++chunks_ > 1);
    };
    cb.on_done = [this](Status st, int64_t) { done_.set_value(st); };
    conn_->request(std::move(req), {}, std::move(cb));
    thread_ = std::thread([this] { io_.run(); });
  }
  ~StreamCall() {
    io_.stop();
    thread_.join();
  }
  // Waits for the end; returns the body.
  std::string finish() {
    auto f = done_.get_future();
    EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    std::lock_guard lk(mu_);
    return body_;
  }
  int status() const { return status_; }

 private:
  boost::asio::io_context io_;
  std::shared_ptr<HttpConnection> conn_;
  std::thread thread_;
  std::mutex mu_;
  std::string body_;
  int chunks_ = 0;
  std::atomic<int> status_{0};
  std::promise<Status> done_;
};

class EngineLifecycleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("cacheon_engine_lifecycle_" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    MakeModelOptions mk;
    mk.shape = "tiny";
    mk.seed = 2;
    mk.out_dir = dir_->string();
    mk.tokenizer_json_path = CACHEON_ENGINE_QWEN_TOKENIZER;
    Status st = make_model(mk);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  static void TearDownTestSuite() {
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
  }
  static EngineServerOptions options() {
    EngineServerOptions o;
    o.model_dir = dir_->string();
    o.served_model_name = "tiny";
    o.port = 0;
    o.max_model_len = 4096;
    o.threads = 1;
    return o;
  }
  static Result<HttpResponse> get(uint16_t port, const std::string& path) {
    HttpClientRequest req;
    req.target = path;
    return http_fetch(*Url::parse("http://127.0.0.1:" + std::to_string(port)), req);
  }
  static Result<HttpResponse> post_chat(uint16_t port, const json& body) {
    HttpClientRequest req;
    req.method = "POST";
    req.target = "/v1/chat/completions";
    req.body = body.dump();
    return http_fetch(*Url::parse("http://127.0.0.1:" + std::to_string(port)), req);
  }
  static json chat_body(int max_tokens, bool stream) {
    return {{"messages", {{{"role", "user"}, {"content", "Go on."}}}},
            {"max_tokens", max_tokens},
            {"temperature", 0},
            {"ignore_eos", true},
            {"stream", stream}};
  }
  static bool wait_for(const std::function<bool()>& pred, int ms = 5000) {
    for (int i = 0; i < ms / 5; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
  }
  static fs::path* dir_;
};
fs::path* EngineLifecycleTest::dir_ = nullptr;

TEST_F(EngineLifecycleTest, HealthIs503WhileLoadingThen200) {
  EngineServer s(options());
  ASSERT_TRUE(s.start().ok());
  auto h = get(s.port(), "/health");
  auto c = post_chat(s.port(), chat_body(2, false));
  ASSERT_TRUE(h.ok() && c.ok());
  // Loading takes a while (the tokenizer alone); if it had not finished after both answers,
  // both must have been 503.
  if (!s.wait_loaded(std::chrono::milliseconds(0))) {
    EXPECT_EQ(h->status, 503);
    EXPECT_EQ(c->status, 503);
  }
  auto loaded = s.wait_loaded(std::chrono::seconds(60));
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ(get(s.port(), "/health")->status, 200);
}

TEST_F(EngineLifecycleTest, FailedLoadStays503WithTheReason) {
  EngineServerOptions o = options();
  o.model_dir = (*dir_ / "does-not-exist").string();
  EngineServer s(o);
  ASSERT_TRUE(s.start().ok());
  auto loaded = s.wait_loaded(std::chrono::seconds(30));
  ASSERT_TRUE(loaded.has_value());
  EXPECT_FALSE(*loaded);
  auto h = get(s.port(), "/health");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 503);
  EXPECT_NE(h->body.find("failed to load"), std::string::npos) << h->body;
}

TEST_F(EngineLifecycleTest, QueueFullIs429AndDisconnectCancels) {
  EngineServerOptions o = options();
  o.max_num_seqs = 1;
  o.max_queue = 0;
  EngineServer s(o);
  ASSERT_TRUE(s.start().ok());
  ASSERT_TRUE(*s.wait_loaded(std::chrono::seconds(60)));
  {
    StreamCall long_call(s.port(), chat_body(3000, true), /*hang_up_early=*/false);
    ASSERT_TRUE(wait_for([&] { return s.stats().running == 1; }));
    auto r = post_chat(s.port(), chat_body(2, false));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 429);
    EXPECT_EQ(json::parse(r->body)["error"]["type"], "rate_limit_error");
  }  // the client goes away mid-stream
  EXPECT_TRUE(wait_for([&] { return s.stats().running == 0; }, 3000))
      << "the sequence of a client that left was not cancelled";
  EXPECT_TRUE(wait_for([&] { return s.stats().active_requests == 0; }, 3000));
  // Hanging up after the first content event: also cancelled.
  StreamCall early(s.port(), chat_body(3000, true), /*hang_up_early=*/true);
  early.finish();
  EXPECT_TRUE(wait_for([&] { return s.stats().running == 0; }, 3000));
  auto again = post_chat(s.port(), chat_body(2, false));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
}

TEST_F(EngineLifecycleTest, GracefulShutdownFinishesShortAndCancelsLong) {
  EngineServer s(options());
  ASSERT_TRUE(s.start().ok());
  ASSERT_TRUE(*s.wait_loaded(std::chrono::seconds(60)));
  const uint16_t port = s.port();
  StreamCall long_call(port, chat_body(3000, true), false);
  ASSERT_TRUE(wait_for([&] { return s.stats().running == 1; }));
  auto short_call =
      std::async(std::launch::async, [&] { return post_chat(port, chat_body(8, false)); });
  ASSERT_TRUE(wait_for([&] { return s.stats().running == 2; }));
  auto stopping =
      std::async(std::launch::async, [&] { s.shutdown(std::chrono::milliseconds(1500)); });
  ASSERT_TRUE(wait_for(
      [&] {
        auto h = get(port, "/health");
        return h.ok() && h->status == 503;
      },
      1000))
      << "health must turn 503 while draining";

  auto sr = short_call.get();
  ASSERT_TRUE(sr.ok());
  EXPECT_EQ(sr->status, 200);
  EXPECT_EQ(json::parse(sr->body)["usage"]["completion_tokens"], 8);

  const std::string body = long_call.finish();
  EXPECT_NE(body.find("engine_stopped"), std::string::npos) << body.substr(body.size() - 300);
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos);
  stopping.get();
  EXPECT_FALSE(get(port, "/health").ok());  // the listener is closed
}

}  // namespace
}  // namespace cacheon::engine

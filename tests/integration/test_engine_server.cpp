// The engine's OpenAI server in process, over loopback, with the tiny synthetic model written by
// make_model: the invariants of SPEC §1 (stream equals non-stream, same seed same text, batching
// does not change greedy output), the vLLM-compatible extras, error objects, and the
// teacher-forcing scorer. Lifecycle (loading, 429, disconnect, shutdown) is in
// test_engine_lifecycle.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/http_client.h"
#include "engine/model/synthetic.h"
#include "engine/server/engine_server.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"

namespace cacheon::engine {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// One response: status, the JSON body (non-stream) or the SSE events (stream).
struct Reply {
  int status = 0;
  json body;                   // non-stream, or error bodies
  std::vector<json> events;    // stream: each data: JSON event
  bool done = false;           // stream: saw data: [DONE]
  std::string text;            // stream: concatenated delta.content
  std::vector<json> logprobs;  // stream: every logprobs.content[] entry in order
  std::string finish;
  json usage;
};

class EngineServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("cacheon_engine_server_test_" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    MakeModelOptions mk;
    mk.shape = "tiny";
    mk.seed = 1;
    mk.out_dir = dir_->string();
    mk.tokenizer_json_path = CACHEON_ENGINE_QWEN_TOKENIZER;
    Status st = make_model(mk);
    ASSERT_TRUE(st.ok()) << st.error().message;
    EngineServerOptions o;
    o.model_dir = dir_->string();
    o.served_model_name = "tiny";
    o.port = 0;
    o.max_model_len = 512;
    o.max_num_seqs = 8;
    o.threads = 1;
    server_ = new EngineServer(o);
    ASSERT_TRUE(server_->start().ok());
    auto loaded = server_->wait_loaded(std::chrono::seconds(60));
    ASSERT_TRUE(loaded.has_value() && *loaded) << server_->load_error().message;
    auto tok = Tokenizer::from_file((*dir_ / "tokenizer.json").string());
    ASSERT_TRUE(tok.ok());
    tok_ = new Tokenizer(std::move(*tok));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete tok_;
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
  }

  static Url base() { return *Url::parse("http://127.0.0.1:" + std::to_string(server_->port())); }

  static Reply call(const std::string& method, const std::string& path, const std::string& body) {
    HttpClientRequest req;
    req.method = method;
    req.target = path;
    req.body = body;
    auto r = http_fetch(base(), req);
    Reply out;
    if (!r.ok()) {
      ADD_FAILURE() << path << ": " << r.error().message;
      return out;
    }
    out.status = r->status;
    if (r->header("Content-Type").starts_with("text/event-stream")) {
      parse_sse(r->body, out);
    } else {
      out.body = json::parse(r->body, nullptr, false);
    }
    return out;
  }

  static void parse_sse(const std::string& body, Reply& out) {
    size_t at = 0;
    while (at < body.size()) {
      size_t end = body.find("\n\n", at);
      if (end == std::string::npos) end = body.size();
      std::string ev = body.substr(at, end - at);
      at = end + 2;
      if (!ev.starts_with("data: ")) continue;
      ev = ev.substr(6);
      if (ev == "[DONE]") {
        out.done = true;
        continue;
      }
      json j = json::parse(ev);
      out.events.push_back(j);
      if (j.contains("usage") && !j["usage"].is_null()) out.usage = j["usage"];
      if (!j.contains("choices") || j["choices"].empty()) continue;
      const json& c = j["choices"][0];
      if (c["delta"].contains("content")) out.text += c["delta"]["content"].get<std::string>();
      if (c.contains("logprobs") && c["logprobs"].is_object())
        for (const auto& e : c["logprobs"]["content"]) out.logprobs.push_back(e);
      if (!c["finish_reason"].is_null()) out.finish = c["finish_reason"];
    }
  }

  static json chat_body(const std::string& user, int max_tokens, bool stream, json extra = {}) {
    json b = {{"model", "tiny"},
              {"messages", {{{"role", "user"}, {"content", user}}}},
              {"max_tokens", max_tokens},
              {"temperature", 0},
              {"stream", stream}};
    for (auto& [k, v] : extra.items()) b[k] = v;
    return b;
  }
  static Reply chat(const json& body) { return call("POST", "/v1/chat/completions", body.dump()); }

  static fs::path* dir_;
  static EngineServer* server_;
  static Tokenizer* tok_;
};
fs::path* EngineServerTest::dir_ = nullptr;
EngineServer* EngineServerTest::server_ = nullptr;
Tokenizer* EngineServerTest::tok_ = nullptr;

TEST_F(EngineServerTest, HealthAndModels) {
  EXPECT_EQ(call("GET", "/health", "").status, 200);
  Reply m = call("GET", "/v1/models", "");
  ASSERT_EQ(m.status, 200);
  ASSERT_EQ(m.body["data"].size(), 1u);
  EXPECT_EQ(m.body["data"][0]["id"], "tiny");
  EXPECT_EQ(m.body["data"][0]["max_model_len"], 512);
}

TEST_F(EngineServerTest, TokenizeCountsTheRenderedTemplate) {
  std::vector<openai::ChatMessage> msgs = {{"system", "Be brief."}, {"user", "Héllo, 世界! 123"}};
  json body = {{"model", "tiny"}, {"messages", json::array()}};
  for (const auto& m : msgs) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  Reply r = call("POST", "/tokenize", body.dump());
  ASSERT_EQ(r.status, 200);
  auto want = encode_chat(*tok_, msgs, true);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(r.body["count"], want->size());
  EXPECT_EQ(r.body["tokens"].get<std::vector<int32_t>>(), *want);
  EXPECT_EQ(r.body["max_model_len"], 512);

  body["add_generation_prompt"] = false;
  Reply nogen = call("POST", "/tokenize", body.dump());
  EXPECT_EQ(nogen.body["count"], encode_chat(*tok_, msgs, false)->size());

  Reply p = call("POST", "/tokenize", json{{"prompt", "plain text <|im_end|>"}}.dump());
  ASSERT_EQ(p.status, 200);
  EXPECT_EQ(p.body["tokens"].get<std::vector<int32_t>>(), tok_->encode("plain text <|im_end|>"));

  Reply d = call("POST", "/detokenize", json{{"tokens", p.body["tokens"]}}.dump());
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(d.body["prompt"], "plain text <|im_end|>");
  EXPECT_EQ(call("POST", "/detokenize", R"({"tokens":[-1]})").status, 400);
}

TEST_F(EngineServerTest, StreamEqualsNonStream) {
  const json extra = {{"logprobs", true}, {"top_logprobs", 5}};
  Reply s = chat(chat_body(
      "Tell me a story.", 24, true,
      {{"logprobs", true}, {"top_logprobs", 5}, {"stream_options", {{"include_usage", true}}}}));
  Reply n = chat(chat_body("Tell me a story.", 24, false, extra));
  ASSERT_EQ(s.status, 200);
  ASSERT_EQ(n.status, 200);
  EXPECT_TRUE(s.done);
  ASSERT_FALSE(s.events.empty());
  EXPECT_EQ(s.events[0]["choices"][0]["delta"]["role"], "assistant");
  const json& choice = n.body["choices"][0];
  EXPECT_EQ(s.text, choice["message"]["content"].get<std::string>());
  const json& nlp = choice["logprobs"]["content"];
  ASSERT_EQ(s.logprobs.size(), nlp.size());
  for (size_t i = 0; i < nlp.size(); ++i) {
    EXPECT_EQ(s.logprobs[i]["token"], nlp[i]["token"]);
    EXPECT_EQ(s.logprobs[i]["bytes"], nlp[i]["bytes"]);
    EXPECT_NEAR(s.logprobs[i]["logprob"].get<double>(), nlp[i]["logprob"].get<double>(), 1e-5);
    EXPECT_EQ(s.logprobs[i]["top_logprobs"].size(), 5u);
    // The chosen token is greedy: it is its own top-1.
    EXPECT_EQ(s.logprobs[i]["top_logprobs"][0]["token"], s.logprobs[i]["token"]);
  }
  EXPECT_EQ(s.finish, choice["finish_reason"]);
  // Usage equals the streamed tokens, and the non-stream usage agrees.
  EXPECT_EQ(s.usage["completion_tokens"], s.logprobs.size());
  EXPECT_EQ(n.body["usage"]["completion_tokens"], nlp.size());
  EXPECT_EQ(s.usage["prompt_tokens"], n.body["usage"]["prompt_tokens"]);
  if (s.finish == "length") {
    EXPECT_EQ(s.logprobs.size(), 24u);
  }
}

TEST_F(EngineServerTest, SameSeedSameText) {
  const json extra = {{"temperature", 0.8}, {"seed", 42}, {"top_p", 0.95}};
  Reply a = chat(chat_body("Write a poem.", 32, false, extra));
  Reply b = chat(chat_body("Write a poem.", 32, true, extra));
  ASSERT_EQ(a.status, 200);
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(a.body["choices"][0]["message"]["content"].get<std::string>(), b.text);
}

TEST_F(EngineServerTest, BatchingDoesNotChangeGreedyOutput) {
  std::vector<std::string> prompts;
  for (int i = 0; i < 6; ++i)
    prompts.push_back("Question " + std::to_string(i) + ": " + std::string(size_t(i * 37), 'x'));
  std::vector<std::string> alone;
  for (const auto& p : prompts) {
    Reply r = chat(chat_body(p, 20, false));
    ASSERT_EQ(r.status, 200);
    alone.push_back(r.body["choices"][0]["message"]["content"]);
  }
  std::vector<std::future<Reply>> futs;
  for (const auto& p : prompts)
    futs.push_back(std::async(std::launch::async, [p] { return chat(chat_body(p, 20, true)); }));
  for (size_t i = 0; i < futs.size(); ++i) {
    Reply r = futs[i].get();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.text, alone[i]) << "prompt " << i;
  }
}

TEST_F(EngineServerTest, MaxTokensFinishesWithLength) {
  Reply r = chat(chat_body("Count.", 7, false, {{"ignore_eos", true}}));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r.body["usage"]["completion_tokens"], 7);
  EXPECT_TRUE(r.body["choices"][0]["logprobs"].is_null());
  // max_completion_tokens is the same bound.
  json b = chat_body("Count.", 7, false, {{"ignore_eos", true}});
  b.erase("max_tokens");
  b["max_completion_tokens"] = 3;
  EXPECT_EQ(chat(b).body["usage"]["completion_tokens"], 3);
}

TEST_F(EngineServerTest, StopStringCutsText) {
  Reply free_run = chat(chat_body("Say many words.", 40, false, {{"ignore_eos", true}}));
  const std::string text = free_run.body["choices"][0]["message"]["content"];
  ASSERT_GT(text.size(), 20u);
  // A stop string from the middle of the text (whole ASCII/UTF-8 bytes of three characters).
  size_t k = text.size() / 2;
  while (k < text.size() && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80) ++k;
  size_t e = k;
  for (int c = 0; c < 3 && e < text.size(); ++c) {
    ++e;
    while (e < text.size() && (static_cast<unsigned char>(text[e]) & 0xC0) == 0x80) ++e;
  }
  const std::string stop = text.substr(k, e - k);
  const std::string want = text.substr(0, text.find(stop));
  for (bool stream : {false, true}) {
    Reply r = chat(chat_body("Say many words.", 40, stream,
                             {{"ignore_eos", true}, {"stop", {"\x01never", stop}}}));
    ASSERT_EQ(r.status, 200);
    const std::string got =
        stream ? r.text : r.body["choices"][0]["message"]["content"].get<std::string>();
    EXPECT_EQ(got, want) << "stream " << stream << " stop '" << stop << "'";
    EXPECT_EQ(stream ? json(r.finish) : r.body["choices"][0]["finish_reason"], "stop");
  }
}

TEST_F(EngineServerTest, TopLogprobsCount) {
  for (int n : {0, 1, 20}) {
    Reply r = chat(chat_body("Hi", 4, false, {{"logprobs", true}, {"top_logprobs", n}}));
    ASSERT_EQ(r.status, 200);
    for (const auto& e : r.body["choices"][0]["logprobs"]["content"])
      EXPECT_EQ(e["top_logprobs"].size(), size_t(n));
  }
}

TEST_F(EngineServerTest, ErrorObjects) {
  auto expect_error = [](const Reply& r, int status, const std::string& type,
                         const std::string& param) {
    EXPECT_EQ(r.status, status);
    ASSERT_TRUE(r.body.is_object() && r.body.contains("error")) << r.body.dump();
    EXPECT_EQ(r.body["error"]["type"], type);
    if (!param.empty()) {
      EXPECT_EQ(r.body["error"]["param"], param);
    }
    EXPECT_TRUE(r.body["error"]["message"].is_string());
  };
  expect_error(call("POST", "/v1/chat/completions", "{not json"), 400, "invalid_request_error", "");
  json b = chat_body("Hi", 4, false);
  b["model"] = "gpt-nope";
  Reply unknown = chat(b);
  expect_error(unknown, 404, "not_found_error", "model");
  EXPECT_EQ(unknown.body["error"]["code"], "model_not_found");
  expect_error(chat(chat_body("Hi", 4, false, {{"logprobs", true}, {"top_logprobs", 21}})), 400,
               "invalid_request_error", "top_logprobs");
  expect_error(chat(chat_body("Hi", 4, false, {{"temperature", -1}})), 400, "invalid_request_error",
               "temperature");
  std::string longer;
  for (int i = 0; i < 600; ++i) longer += "word ";
  Reply too_long = chat(chat_body(longer, 4, false));
  expect_error(too_long, 400, "invalid_request_error", "messages");
  EXPECT_EQ(too_long.body["error"]["code"], "context_length_exceeded");
  expect_error(chat(chat_body("Hi", 600, false)), 400, "invalid_request_error", "max_tokens");
  expect_error(call("GET", "/v1/nothing", ""), 404, "not_found_error", "");
  expect_error(call("GET", "/v1/chat/completions", ""), 405, "invalid_request_error", "");
  // And the server keeps serving.
  EXPECT_EQ(chat(chat_body("Hi", 2, false)).status, 200);
}

TEST_F(EngineServerTest, TeacherForcingMatchesGenerationLogprobs) {
  for (const char* question : {"Explain gravity.", "List three colours.", "Write code."}) {
    const json msgs = {{{"role", "user"}, {"content", question}}};
    Reply gen = chat(chat_body(question, 24, false, {{"logprobs", true}}));
    ASSERT_EQ(gen.status, 200);
    const std::string text = gen.body["choices"][0]["message"]["content"];
    json glp = gen.body["choices"][0]["logprobs"]["content"];
    // The end-of-turn token is generated but is not text.
    if (gen.body["choices"][0]["finish_reason"] == "stop") glp.erase(glp.size() - 1);

    Reply sc = call("POST", "/cacheon/v1/text_logprobs",
                    json{{"model", "tiny"}, {"messages", msgs}, {"text", text}}.dump());
    ASSERT_EQ(sc.status, 200) << sc.body.dump();
    const auto& toks = sc.body["tokens"];
    const auto& lps = sc.body["token_logprobs"];
    ASSERT_EQ(lps.size(), toks.size());
    for (const auto& lp : lps) EXPECT_LE(lp.get<double>(), 0.0);
    // Model-guided tokenization finds the generated tokens again, with the logprobs the model
    // reported while generating (prefix-free decode vs decode: same numbers up to fp32). A
    // token cut inside a character reaches the text as U+FFFD, after which the text is no longer
    // the model's bytes: compare up to there.
    size_t exact = 0;
    while (exact < glp.size() &&
           glp[exact]["token"].get<std::string>().find("\xEF\xBF\xBD") == std::string::npos)
      ++exact;
    ASSERT_GE(toks.size(), exact) << question;
    for (size_t i = 0; i < exact; ++i) {
      EXPECT_EQ(toks[i], glp[i]["token"]) << question << " token " << i;
      EXPECT_NEAR(lps[i].get<double>(), glp[i]["logprob"].get<double>(), 1e-3)
          << question << " token " << i;
    }
    if (exact == glp.size()) {
      EXPECT_EQ(toks.size(), glp.size()) << question;
    }

    // Canonical mode: the text encoded on its own, scored in one prefill; where its tokens are
    // the generated ones, the logprobs agree too (prefill vs decode).
    Reply can =
        call("POST", "/cacheon/v1/text_logprobs",
             json{{"messages", msgs}, {"text", text}, {"tokenization", "canonical"}}.dump());
    ASSERT_EQ(can.status, 200) << can.body.dump();
    const auto ids = tok_->encode(text, false);
    ASSERT_EQ(can.body["tokens"].size(), ids.size());
    ASSERT_EQ(can.body["token_logprobs"].size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i)
      EXPECT_EQ(can.body["tokens"][i], tok_->token_text(ids[i]));
    for (size_t i = 0; i < ids.size() && i < exact && can.body["tokens"][i] == toks[i]; ++i)
      EXPECT_NEAR(can.body["token_logprobs"][i].get<double>(), lps[i].get<double>(), 2e-3);
  }
  EXPECT_EQ(call("POST", "/cacheon/v1/text_logprobs",
                 json{{"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                      {"text", "x"},
                      {"tokenization", "bpe"}}
                     .dump())
                .status,
            400);

  const json msgs = {{{"role", "user"}, {"content", "Hi"}}};
  Reply empty =
      call("POST", "/cacheon/v1/text_logprobs", json{{"messages", msgs}, {"text", ""}}.dump());
  ASSERT_EQ(empty.status, 200);
  EXPECT_TRUE(empty.body["token_logprobs"].empty());
  EXPECT_EQ(call("POST", "/cacheon/v1/text_logprobs", json{{"messages", msgs}}.dump()).status, 400);
  // Special-token text is scored as plain text: never as the control token itself.
  Reply special = call("POST", "/cacheon/v1/text_logprobs",
                       json{{"messages", msgs}, {"text", "<|im_end|>"}}.dump());
  ASSERT_EQ(special.status, 200);
  EXPECT_GT(special.body["tokens"].size(), 1u);
  // A text longer than the context is refused.
  std::string huge;
  for (int i = 0; i < 700; ++i) huge += " w" + std::to_string(i);
  Reply too_long =
      call("POST", "/cacheon/v1/text_logprobs", json{{"messages", msgs}, {"text", huge}}.dump());
  EXPECT_EQ(too_long.status, 400);
}

}  // namespace
}  // namespace cacheon::engine

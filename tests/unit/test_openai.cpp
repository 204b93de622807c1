// openai/: request serialization and strict parsing, chunk and completion parsing, error objects.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "openai/chat_chunk.h"
#include "openai/chat_request.h"
#include "openai/error.h"

namespace cacheon::openai {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Requests

ChatRequest full_request() {
  ChatRequest r;
  r.model = "Qwen2.5-72B-Instruct";
  r.messages = {{"system", "be brief"}, {"user", "héllo \"world\"\n"}, {"assistant", "hi"},
                {"user", "again"}};
  r.stream = true;
  r.max_tokens = 512;
  r.temperature = 0;
  r.top_p = 0.9;
  r.top_k = 40;
  r.seed = -7;
  r.stop = {"</s>", "\n\n"};
  r.logprobs = true;
  r.top_logprobs = 5;
  r.include_usage = true;
  r.ignore_eos = true;
  r.min_tokens = 3;
  r.add_generation_prompt = false;
  r.prompt_logprobs = 1;
  return r;
}

TEST(OpenAiRequest, RoundTripKeepsEveryField) {
  const ChatRequest a = full_request();
  std::string param = "stale";
  auto b = parse_chat_request(to_json(a), &param);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(param, "");
  EXPECT_EQ(b->model, a.model);
  ASSERT_EQ(b->messages.size(), a.messages.size());
  for (size_t i = 0; i < a.messages.size(); ++i) {
    EXPECT_EQ(b->messages[i].role, a.messages[i].role);
    EXPECT_EQ(b->messages[i].content, a.messages[i].content);
  }
  EXPECT_EQ(b->stream, a.stream);
  EXPECT_EQ(b->max_tokens, a.max_tokens);
  EXPECT_EQ(b->temperature, a.temperature);
  EXPECT_EQ(b->top_p, a.top_p);
  EXPECT_EQ(b->top_k, a.top_k);
  EXPECT_EQ(b->seed, a.seed);
  EXPECT_EQ(b->stop, a.stop);
  EXPECT_EQ(b->logprobs, a.logprobs);
  EXPECT_EQ(b->top_logprobs, a.top_logprobs);
  EXPECT_EQ(b->include_usage, a.include_usage);
  EXPECT_EQ(b->ignore_eos, a.ignore_eos);
  EXPECT_EQ(b->min_tokens, a.min_tokens);
  EXPECT_EQ(b->n, 1);
  EXPECT_EQ(b->add_generation_prompt, a.add_generation_prompt);
  EXPECT_EQ(b->prompt_logprobs, a.prompt_logprobs);
}

TEST(OpenAiRequest, MinimalRequestOmitsExtensions) {
  ChatRequest r;
  r.messages = {{"user", "x"}};
  const json j = json::parse(to_json(r));
  EXPECT_EQ(j, json::parse(R"({"messages":[{"role":"user","content":"x"}],"stream":false,
                                "temperature":1.0})"));
}

TEST(OpenAiRequest, DefaultsWhenAbsentOrNull) {
  auto r = parse_chat_request(R"({"messages":[{"role":"user","content":"x"}],"seed":null,
      "stop":null,"top_logprobs":null,"stream_options":null,"logprobs":null,"max_tokens":null})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model, "");
  EXPECT_FALSE(r->stream);
  EXPECT_FALSE(r->max_tokens);
  EXPECT_EQ(r->temperature, 1.0);
  EXPECT_FALSE(r->top_p);
  EXPECT_FALSE(r->top_k);
  EXPECT_FALSE(r->seed);
  EXPECT_TRUE(r->stop.empty());
  EXPECT_FALSE(r->logprobs);
  EXPECT_FALSE(r->top_logprobs);
  EXPECT_FALSE(r->include_usage);
  EXPECT_FALSE(r->ignore_eos);
  EXPECT_EQ(r->min_tokens, 0);
  EXPECT_TRUE(r->add_generation_prompt);
  EXPECT_FALSE(r->prompt_logprobs);
}

TEST(OpenAiRequest, AcceptedVariants) {
  // max_completion_tokens alone, or equal to max_tokens.
  auto a = parse_chat_request(R"({"messages":[{"role":"user","content":"x"}],
                                   "max_completion_tokens":7})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->max_tokens, 7);
  auto b = parse_chat_request(R"({"messages":[{"role":"user","content":"x"}],
                                   "max_tokens":7,"max_completion_tokens":7})");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->max_tokens, 7);
  // A single stop string, text content parts, assistant without content, unknown fields.
  auto c = parse_chat_request(R"({"messages":[{"role":"developer","content":[
      {"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":null},
      {"role":"user","content":"q","name":"bob"}],"stop":"END","user":"u1","frequency_penalty":0,
      "top_k":-1,"seed":18446744073,"temperature":2,"top_p":1})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->messages[0].content, "ab");
  EXPECT_EQ(c->messages[1].content, "");
  EXPECT_EQ(c->stop, std::vector<std::string>{"END"});
  EXPECT_EQ(c->top_k, -1);
  EXPECT_EQ(c->seed, 18446744073);
}

TEST(OpenAiRequest, DeepNestingDoesNotOverflowTheStack) {
  // Hostile bodies: nlohmann parses and destroys iteratively, so depth costs heap, not stack.
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  auto a = parse_chat_request(R"({"extra":)" + deep +
                              R"(,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_TRUE(a.ok());
  std::string param;
  auto b = parse_chat_request(R"({"messages":)" + deep + "}", &param);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(param, "messages[0]");
  EXPECT_FALSE(parse_error_body(deep));
}

struct BadRequest {
  const char* body;
  const char* param;  // expected offending parameter ("" = the body itself)
};

TEST(OpenAiRequest, StrictParseErrorsNameTheParameter) {
  const std::vector<BadRequest> cases = {
      {R"({"messages":[)", ""},
      {"[1,2]", ""},
      {"{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", ""},  // invalid UTF-8
      {R"({})", "messages"},
      {R"({"messages":{}})", "messages"},
      {R"({"messages":[]})", "messages"},
      {R"({"messages":["hi"]})", "messages[0]"},
      {R"({"messages":[{"content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"role":5,"content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"role":"user","content":"x"},{"role":"wizard","content":"x"}]})",
       "messages[1].role"},
      {R"({"messages":[{"role":"user"}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":7}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})",
       "messages[0].content[0].type"},
      {R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})",
       "messages[0].content[0].text"},
      {R"({"model":3,"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"stream":"yes","messages":[{"role":"user","content":"x"}]})", "stream"},
      {R"({"max_tokens":0,"messages":[{"role":"user","content":"x"}]})", "max_tokens"},
      {R"({"max_tokens":-5,"messages":[{"role":"user","content":"x"}]})", "max_tokens"},
      {R"({"max_tokens":1.5,"messages":[{"role":"user","content":"x"}]})", "max_tokens"},
      {R"({"max_tokens":"10","messages":[{"role":"user","content":"x"}]})", "max_tokens"},
      {R"({"max_tokens":99999999999999999999999,"messages":[{"role":"user","content":"x"}]})",
       "max_tokens"},
      {R"({"max_tokens":18446744073709551615,"messages":[{"role":"user","content":"x"}]})",
       "max_tokens"},
      {R"({"max_tokens":5,"max_completion_tokens":6,"messages":[{"role":"user","content":"x"}]})",
       "max_completion_tokens"},
      {R"({"max_completion_tokens":true,"messages":[{"role":"user","content":"x"}]})",
       "max_completion_tokens"},
      {R"({"temperature":-0.1,"messages":[{"role":"user","content":"x"}]})", "temperature"},
      {R"({"temperature":2.5,"messages":[{"role":"user","content":"x"}]})", "temperature"},
      {R"({"temperature":"0","messages":[{"role":"user","content":"x"}]})", "temperature"},
      {R"({"temperature":1e999,"messages":[{"role":"user","content":"x"}]})", ""},
      {R"({"top_p":0,"messages":[{"role":"user","content":"x"}]})", "top_p"},
      {R"({"top_p":1.01,"messages":[{"role":"user","content":"x"}]})", "top_p"},
      {R"({"top_k":-2,"messages":[{"role":"user","content":"x"}]})", "top_k"},
      {R"({"seed":1.5,"messages":[{"role":"user","content":"x"}]})", "seed"},
      {R"({"seed":9223372036854775808,"messages":[{"role":"user","content":"x"}]})", "seed"},
      {R"({"stop":5,"messages":[{"role":"user","content":"x"}]})", "stop"},
      {R"({"stop":"","messages":[{"role":"user","content":"x"}]})", "stop"},
      {R"({"stop":["a",1],"messages":[{"role":"user","content":"x"}]})", "stop[1]"},
      {R"({"stop":["a",""],"messages":[{"role":"user","content":"x"}]})", "stop[1]"},
      {R"({"stop":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"],
           "messages":[{"role":"user","content":"x"}]})", "stop"},
      {R"({"logprobs":1,"messages":[{"role":"user","content":"x"}]})", "logprobs"},
      {R"({"top_logprobs":5,"messages":[{"role":"user","content":"x"}]})", "top_logprobs"},
      {R"({"logprobs":true,"top_logprobs":21,"messages":[{"role":"user","content":"x"}]})",
       "top_logprobs"},
      {R"({"logprobs":true,"top_logprobs":-1,"messages":[{"role":"user","content":"x"}]})",
       "top_logprobs"},
      {R"({"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]})",
       "stream_options"},
      {R"({"stream":true,"stream_options":[],"messages":[{"role":"user","content":"x"}]})",
       "stream_options"},
      {R"({"stream":true,"stream_options":{"include_usage":1},
           "messages":[{"role":"user","content":"x"}]})", "stream_options.include_usage"},
      {R"({"ignore_eos":"true","messages":[{"role":"user","content":"x"}]})", "ignore_eos"},
      {R"({"min_tokens":-1,"messages":[{"role":"user","content":"x"}]})", "min_tokens"},
      {R"({"max_tokens":4,"min_tokens":5,"messages":[{"role":"user","content":"x"}]})",
       "min_tokens"},
      {R"({"n":2,"messages":[{"role":"user","content":"x"}]})", "n"},
      {R"({"n":0,"messages":[{"role":"user","content":"x"}]})", "n"},
      {R"({"add_generation_prompt":0,"messages":[{"role":"user","content":"x"}]})",
       "add_generation_prompt"},
      {R"({"prompt_logprobs":21,"messages":[{"role":"user","content":"x"}]})", "prompt_logprobs"},
      {R"({"prompt_logprobs":"1","messages":[{"role":"user","content":"x"}]})", "prompt_logprobs"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    std::string param = "stale";
    auto r = parse_chat_request(c.body, &param);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_request");
    EXPECT_EQ(param, c.param);
    EXPECT_FALSE(r.error().message.empty());
    if (*c.param) {
      EXPECT_NE(r.error().message.find(std::string("'") + c.param + "'"), std::string::npos)
          << r.error().message;
    }
    // Without an out-param the same error comes back.
    auto again = parse_chat_request(c.body);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().message, r.error().message);
  }
}

// ---------------------------------------------------------------------------------------------
// Chunks

TEST(OpenAiChunk, RoleChunk) {
  ChunkParser p;
  auto c = p.parse(R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,
      "model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},
      "logprobs":null,"finish_reason":null}]})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->id, "chatcmpl-1");
  EXPECT_EQ(c->model, "m");
  EXPECT_TRUE(c->has_choice);
  EXPECT_EQ(c->role, "assistant");
  EXPECT_TRUE(c->has_content);
  EXPECT_EQ(c->content, "");
  EXPECT_FALSE(c->has_logprobs);
  EXPECT_FALSE(c->finish_reason);
  EXPECT_FALSE(c->usage);
}

TEST(OpenAiChunk, ContentWithLogprobs) {
  ChunkParser p;
  auto c = p.parse(R"({"id":"x","choices":[{"index":0,"delta":{"content":" 中"},
      "logprobs":{"content":[
        {"token":" ","logprob":-0.5,"bytes":[32],"top_logprobs":[
           {"token":" ","logprob":-0.5,"bytes":[32]},{"token":"a","logprob":-1,"bytes":null}]},
        {"token":"\ufffd","logprob":-2.25e-3,"bytes":[228,184,173],"top_logprobs":[]},
        {"token":"z","logprob":0,"bytes":null}]},
      "finish_reason":null}]})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->content, " 中");
  EXPECT_TRUE(c->has_content);
  EXPECT_FALSE(c->role);
  ASSERT_TRUE(c->has_logprobs);
  ASSERT_EQ(c->logprobs.size(), 3u);
  const auto& t0 = c->logprobs[0];
  EXPECT_EQ(t0.token, " ");
  EXPECT_EQ(t0.logprob, -0.5);
  EXPECT_EQ(t0.bytes, std::string(" "));
  ASSERT_EQ(t0.top_logprobs.size(), 2u);
  EXPECT_EQ(t0.top_logprobs[1].token, "a");
  EXPECT_EQ(t0.top_logprobs[1].logprob, -1.0);
  const auto& t1 = c->logprobs[1];
  EXPECT_EQ(t1.token, "\xEF\xBF\xBD");
  EXPECT_DOUBLE_EQ(t1.logprob, -2.25e-3);
  EXPECT_EQ(t1.bytes, std::string("\xE4\xB8\xAD"));
  EXPECT_TRUE(t1.top_logprobs.empty());
  EXPECT_FALSE(c->logprobs[2].bytes);
  EXPECT_TRUE(c->logprobs[2].top_logprobs.empty());
}

TEST(OpenAiChunk, EmptyLogprobsContentIsPresent) {
  ChunkParser p;
  auto c = p.parse(R"({"choices":[{"delta":{"content":""},"logprobs":{"content":[]}}]})");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->has_logprobs);
  EXPECT_TRUE(c->logprobs.empty());
  auto d = p.parse(R"({"choices":[{"delta":{},"logprobs":{"content":null}}]})");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->has_logprobs);
  EXPECT_FALSE(d->has_content);
}

TEST(OpenAiChunk, FinishChunk) {
  ChunkParser p;
  auto c = p.parse(R"({"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"length",
                       "stop_reason":null}]})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->finish_reason, "length");
  EXPECT_FALSE(c->has_content);
}

TEST(OpenAiChunk, UsageChunkWithEmptyChoices) {
  ChunkParser p;
  auto c = p.parse(R"({"id":"x","choices":[],"usage":{"prompt_tokens":6000,
      "completion_tokens":512,"total_tokens":6512,"prompt_tokens_details":null}})");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_choice);
  ASSERT_TRUE(c->usage);
  EXPECT_EQ(c->usage->prompt_tokens, 6000);
  EXPECT_EQ(c->usage->completion_tokens, 512);
  EXPECT_EQ(c->usage->total_tokens, 6512);
}

TEST(OpenAiChunk, ErrorObjects) {
  ChunkParser p;
  auto a = p.parse(R"({"error":{"message":"out of memory","type":"server_error","code":500}})");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, "stream_error_object");
  EXPECT_EQ(a.error().message, "out of memory");
  auto b = p.parse(R"({"object":"error","message":"bad","type":"BadRequestError","code":400})");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, "stream_error_object");
  EXPECT_EQ(b.error().message, "bad");
  auto c = p.parse(R"({"error":"plain text"})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "plain text");
}

struct BadChunk {
  std::string payload;
  const char* code;
  const char* mentions;  // a substring the message must contain
};

TEST(OpenAiChunk, RejectsBadPayloadsWithoutCrashing) {
  const std::vector<BadChunk> cases = {
      {"", "stream_malformed_json", "not valid JSON"},
      {"[DONE]", "stream_malformed_json", "not valid JSON"},
      {"{\"choices\":[", "stream_malformed_json", "not valid JSON"},
      {"[]", "stream_malformed_json", "not a JSON object"},
      {"\"str\"", "stream_malformed_json", "not a JSON object"},
      {"{\"choices\":[{\"delta\":{\"content\":\"a\xff\"}}]}", "stream_invalid_utf8", "UTF-8"},
      {"{\"choices\":[{\"delta\":{\"content\":\"\xc3\"}}]}", "stream_invalid_utf8", "UTF-8"},
      {R"({"choices":[{"delta":{"content":"\udc00"}}]})", "stream_malformed_json", "JSON"},
      {R"({"choices":{}})", "stream_malformed_json", "choices"},
      {R"({"choices":null})", "stream_malformed_json", "choices"},
      {R"({"choices":[5]})", "stream_malformed_json", "choices[0]"},
      {R"({"id":5,"choices":[]})", "stream_malformed_json", "id"},
      {R"({"choices":[{"delta":"x"}]})", "stream_malformed_json", "choices[0].delta"},
      {R"({"choices":[{"delta":{"content":5}}]})", "stream_malformed_json",
       "choices[0].delta.content"},
      {R"({"choices":[{"delta":{"role":[]}}]})", "stream_malformed_json", "choices[0].delta.role"},
      {R"({"choices":[{"delta":{},"finish_reason":1}]})", "stream_malformed_json",
       "finish_reason"},
      {R"({"choices":[{"delta":{},"logprobs":[]}]})", "stream_malformed_json", "logprobs"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":{}}}]})", "stream_malformed_json",
       "logprobs.content"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[1]}}]})", "stream_malformed_json",
       "content[0]"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"logprob":-1}]}}]})",
       "stream_malformed_json", "content[0].token"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"token":"a"}]}}]})",
       "stream_malformed_json", "content[0].logprob: missing"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"token":"a","logprob":"NaN"}]}}]})",
       "stream_malformed_json", "content[0].logprob: expected a number"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"token":"a","logprob":NaN}]}}]})",
       "stream_malformed_json", "not valid JSON"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"token":"a","logprob":-1e999}]}}]})",
       "stream_malformed_json", "not valid JSON"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"token":"a","logprob":null}]}}]})",
       "stream_malformed_json", "logprob"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"token":"a","logprob":0,
           "bytes":[256]}]}}]})", "stream_malformed_json", "content[0].bytes"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"token":"a","logprob":0,
           "bytes":[-1]}]}}]})", "stream_malformed_json", "bytes"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"token":"a","logprob":0,
           "bytes":"YQ=="}]}}]})", "stream_malformed_json", "bytes"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"token":"a","logprob":0,
           "bytes":[1.5]}]}}]})", "stream_malformed_json", "bytes"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"token":"a","logprob":0},
           {"token":"b","logprob":0,"top_logprobs":{}}]}}]})", "stream_malformed_json",
       "content[1].top_logprobs"},
      {R"({"choices":[{"delta":{},"logprobs":{"content":[{"token":"a","logprob":0,
           "top_logprobs":[{"token":"a","logprob":0},{"token":"b","logprob":true}]}]}}]})",
       "stream_malformed_json", "content[0].top_logprobs[1].logprob"},
      {R"({"choices":[],"usage":{"prompt_tokens":-1}})", "stream_malformed_json",
       "usage.prompt_tokens"},
      {R"({"choices":[],"usage":{"completion_tokens":1e30}})", "stream_malformed_json",
       "usage.completion_tokens"},
      {R"({"choices":[],"usage":{"completion_tokens":99999999999999999999999}})",
       "stream_malformed_json", "not valid JSON"},
      {R"({"choices":[],"usage":{"total_tokens":18446744073709551615}})", "stream_malformed_json",
       "usage.total_tokens"},
      {R"({"choices":[],"usage":"none"})", "stream_malformed_json", "usage"},
      {std::string(100000, '[') , "stream_malformed_json", "not valid JSON"},
  };
  ChunkParser p;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.payload.substr(0, 200));
    auto r = p.parse(c.payload);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, c.code);
    EXPECT_NE(r.error().message.find(c.mentions), std::string::npos) << r.error().message;
  }
  // The parser stays usable after any failure.
  auto ok = p.parse(R"({"choices":[{"delta":{"content":"fine"}}]})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->content, "fine");
}

TEST(OpenAiChunk, RandomMutationsNeverCrash) {
  // Poor man's fuzzing (a libFuzzer target would go further): flip, insert, delete and truncate
  // bytes of a valid chunk; every result must be a value or one of the documented errors.
  const std::string seed = R"({"id":"x","model":"m","choices":[{"index":0,"delta":{"role":)"
                           R"("assistant","content":"a\u00e9"},"logprobs":{"content":[)"
                           R"({"token":"a",)"
                           R"("logprob":-0.5,"bytes":[97],"top_logprobs":[{"token":"a","logprob":)"
                           R"(-0.5,"bytes":[97]}]}]},"finish_reason":null}],"usage":null})";
  ChunkParser p;
  ASSERT_TRUE(p.parse(seed).ok());
  std::mt19937 rng(7);
  const std::string alphabet = "{}[]\":,.-0123456789eE+nultrfas \\u\xff\xc3\x80";
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s = seed;
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: s.erase(at, 1 + rng() % 8); break;
        default: s.resize(at); break;
      }
    }
    for (bool completion : {false, true}) {
      auto r = completion ? p.parse_completion(s) : p.parse(s);
      if (!r.ok()) {
        const std::string& code = r.error().code;
        EXPECT_TRUE(code == "stream_malformed_json" || code == "stream_invalid_utf8" ||
                    code == "stream_error_object")
            << code;
        EXPECT_FALSE(r.error().message.empty());
      }
    }
  }
}

TEST(OpenAiChunk, HugeButValidNumbersAndLargePayloads) {
  ChunkParser p;
  auto a = p.parse(R"({"choices":[{"delta":{},"logprobs":{"content":[
      {"token":"a","logprob":-1e308},{"token":"b","logprob":-9223372036854775808},
      {"token":"c","logprob":18446744073709551615}]}}]})");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->logprobs[0].logprob, -1e308);
  EXPECT_DOUBLE_EQ(a->logprobs[1].logprob, -9223372036854775808.0);
  EXPECT_DOUBLE_EQ(a->logprobs[2].logprob, 18446744073709551615.0);
  // Integers beyond 64 bits are valid JSON, but simdjson refuses them: reported as malformed.
  auto big_int = p.parse(R"({"choices":[{"delta":{},"logprobs":{"content":[
      {"token":"b","logprob":-12345678901234567890}]}}]})");
  ASSERT_FALSE(big_int.ok());
  EXPECT_EQ(big_int.error().code, "stream_malformed_json");
  // A large payload after small ones (the reused buffer grows), then small again.
  const std::string big(3 << 20, 'q');
  auto b = p.parse(R"({"choices":[{"delta":{"content":")" + big + R"("}}]})");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->content.size(), big.size());
  auto c = p.parse(R"({"choices":[{"delta":{"content":"s"}}]})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->content, "s");
}

TEST(OpenAiChunk, CompletionBody) {
  ChunkParser p;
  auto c = p.parse_completion(R"({"id":"chatcmpl-9","object":"chat.completion","created":1,
      "model":"Qwen2.5-72B-Instruct","choices":[{"index":0,
      "message":{"role":"assistant","content":"Hello","tool_calls":[]},
      "logprobs":{"content":[{"token":"Hello","logprob":-0.01,"bytes":[72,101,108,108,111],
        "top_logprobs":[{"token":"Hello","logprob":-0.01,"bytes":[72,101,108,108,111]}]}]},
      "finish_reason":"stop"}],
      "usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11}})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->id, "chatcmpl-9");
  EXPECT_EQ(c->model, "Qwen2.5-72B-Instruct");
  EXPECT_EQ(c->role, "assistant");
  EXPECT_EQ(c->content, "Hello");
  ASSERT_EQ(c->logprobs.size(), 1u);
  EXPECT_EQ(c->logprobs[0].bytes, std::string("Hello"));
  EXPECT_EQ(c->logprobs[0].top_logprobs.size(), 1u);
  EXPECT_EQ(c->finish_reason, "stop");
  ASSERT_TRUE(c->usage);
  EXPECT_EQ(c->usage->total_tokens, 11);
  // A completion's `delta` is not its message: parse() would not see the content.
  auto d = p.parse_completion(
      R"({"choices":[{"message":{"content":null},"finish_reason":"stop"}]})");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->has_content);
  auto e = p.parse_completion(R"({"choices":[{"message":{"content":3}}]})");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("choices[0].message.content"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Error objects

TEST(OpenAiError, ErrorJsonShape) {
  const json a = json::parse(error_json("invalid_request_error", "bad \"x\"", "top_logprobs"));
  EXPECT_EQ(a, json::parse(R"({"error":{"message":"bad \"x\"","type":"invalid_request_error",
                                "param":"top_logprobs","code":null}})"));
  const json b = json::parse(error_json("server_error", "boom", {}, "engine_failed"));
  EXPECT_TRUE(b["error"]["param"].is_null());
  EXPECT_EQ(b["error"]["code"], "engine_failed");
  // Invalid UTF-8 in a message does not throw; it is replaced.
  const json c = json::parse(error_json("server_error", "bad \xff byte"));
  EXPECT_EQ(c["error"]["message"], "bad \xEF\xBF\xBD byte");
}

TEST(OpenAiError, TypeForStatus) {
  EXPECT_EQ(error_type_for_status(400), "invalid_request_error");
  EXPECT_EQ(error_type_for_status(401), "authentication_error");
  EXPECT_EQ(error_type_for_status(403), "permission_error");
  EXPECT_EQ(error_type_for_status(404), "not_found_error");
  EXPECT_EQ(error_type_for_status(409), "conflict_error");
  EXPECT_EQ(error_type_for_status(413), "invalid_request_error");
  EXPECT_EQ(error_type_for_status(429), "rate_limit_error");
  EXPECT_EQ(error_type_for_status(500), "server_error");
  EXPECT_EQ(error_type_for_status(503), "service_unavailable_error");
}

TEST(OpenAiError, ParseErrorBody) {
  auto a = parse_error_body(error_json("not_found_error", "no such model", "model", "x1"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->message, "no such model");
  EXPECT_EQ(a->type, "not_found_error");
  EXPECT_EQ(a->param, "model");
  EXPECT_EQ(a->code, "x1");
  auto b = parse_error_body(R"({"object":"error","message":"m","type":"BadRequestError",
                                "param":null,"code":400})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->message, "m");
  EXPECT_EQ(b->param, "");
  EXPECT_EQ(b->code, "400");
  EXPECT_FALSE(parse_error_body("not json"));
  EXPECT_FALSE(parse_error_body(R"({"choices":[]})"));
  EXPECT_FALSE(parse_error_body("[]"));
}

}  // namespace
}  // namespace cacheon::openai

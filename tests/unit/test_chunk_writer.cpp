// The server-side chunk writer: every event kind is valid JSON with the OpenAI structure, strings
// survive any bytes (escaped, invalid UTF-8 replaced), and the SSE framing is exact.
#include "openai/chunk_writer.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "openai/chat_chunk.h"

namespace cacheon::openai {
namespace {

using nlohmann::json;

// One SSE event -> its JSON payload; fails the test on bad framing.
json payload(const std::string& event) {
  EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
  EXPECT_GE(event.size(), 8u);
  EXPECT_EQ(event.substr(event.size() - 2), "\n\n");
  const std::string body = event.substr(6, event.size() - 8);
  EXPECT_EQ(body.find('\n'), std::string::npos) << "raw newline inside an event";
  return json::parse(body);
}

std::string roundtrip(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  EXPECT_TRUE(is_valid_utf8(out));
  return json::parse(out).get<std::string>();
}

std::vector<int> as_ints(std::string_view s) {
  std::vector<int> v;
  for (unsigned char c : s) v.push_back(c);
  return v;
}

TEST(ChunkWriter, EscapesQuotesBackslashAndEveryControlChar) {
  std::string all;
  for (int c = 0; c < 0x20; ++c) all += char(c);
  all += "\"quoted\" back\\slash /slash \x7f";
  std::string out;
  append_json_string(out, all);
  for (unsigned char c : out) EXPECT_GE(c, 0x20) << "raw control char in JSON";
  EXPECT_NE(out.find("\\u0000"), std::string::npos);
  EXPECT_NE(out.find("\\u001f"), std::string::npos);
  EXPECT_NE(out.find("\\n"), std::string::npos);
  EXPECT_EQ(json::parse(out).get<std::string>(), all);
}

TEST(ChunkWriter, KeepsValidMultibyteUtf8Verbatim) {
  for (std::string_view s :
       {" café", " naïve", " 東京", " データ", " 😀", "\xF4\x8F\xBF\xBF", "\xEF\xBF\xBD", ""}) {
    std::string out;
    append_json_string(out, s);
    EXPECT_EQ(out, "\"" + std::string(s) + "\"");
    EXPECT_EQ(roundtrip(s), s);
  }
}

TEST(ChunkWriter, ReplacesInvalidUtf8WithMaximalSubparts) {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string in, want;
  };
  const std::vector<Case> cases = {
      {"\x80", fffd},                            // lone continuation
      {"a\xFF" "b", "a" + fffd + "b"},           // never valid
      {"\xC0\x80", fffd + fffd},                 // overlong NUL
      {"\xED\xA0\x80", fffd + fffd + fffd},      // surrogate D800
      {"\xF5\x80\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
      {"\xE2\x82" "A", fffd + "A"},              // truncated 3-byte, one replacement
      {"x\xE6\x9D", "x" + fffd},                 // truncated at the end
      {"\xF0\x9F\x98", fffd},                    // truncated emoji
      {"\xC3\x28", fffd + "("},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(is_valid_utf8(c.in));
    EXPECT_EQ(roundtrip(c.in), c.want) << json(as_ints(c.in)).dump();
  }
}

TEST(ChunkWriter, RandomBytesAlwaysGiveValidJson) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 40, '\0');
    for (auto& c : s) c = char(rng() % (i % 3 == 0 ? 256 : 0x30 + 0x80));
    std::string out;
    append_json_string(out, s);
    ASSERT_TRUE(is_valid_utf8(out));
    const std::string back = json::parse(out).get<std::string>();
    if (is_valid_utf8(s)) {
      EXPECT_EQ(back, s);
    }
  }
}

TEST(ChunkWriter, LogprobNumbersRoundTripAndNonFiniteAreMapped) {
  for (double v : {-0.5, -1e-7, -12.345678901234567, 0.0, -9999.0}) {
    std::string out;
    append_json_logprob(out, v);
    EXPECT_EQ(json::parse(out).get<double>(), v) << out;
  }
  auto text = [](double v) {
    std::string out;
    append_json_logprob(out, v);
    return json::parse(out).get<double>();
  };
  EXPECT_EQ(text(-std::numeric_limits<double>::infinity()), -9999.0);
  EXPECT_EQ(text(std::numeric_limits<double>::quiet_NaN()), -9999.0);
  EXPECT_EQ(text(std::numeric_limits<double>::infinity()), 0.0);
}

TEST(ChunkWriter, RoleChunk) {
  ChunkWriter w("chatcmpl-\"1\"", "Qwen2.5-72B-Instruct", 1700000000);
  std::string out;
  w.append_role(out);
  json j = payload(out);
  EXPECT_EQ(j["id"], "chatcmpl-\"1\"");
  EXPECT_EQ(j["object"], "chat.completion.chunk");
  EXPECT_EQ(j["created"], 1700000000);
  EXPECT_EQ(j["model"], "Qwen2.5-72B-Instruct");
  ASSERT_EQ(j["choices"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["index"], 0);
  EXPECT_EQ(j["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["delta"]["content"], "");
  EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null());
}

TEST(ChunkWriter, ContentChunkWithLogprobs) {
  ChunkWriter w("id1", "m", 1);
  const std::string partial = "\xE6\x9D";  // half of a CJK char, as a byte-level BPE may emit
  const TopTokenOut top1[] = {{" café", -0.25}, {" cafe", -1.5}, {"\"\\\n", -3.0}};
  const TopTokenOut top2[] = {{partial, -0.1}};
  const TokenOut toks[] = {{" café", -0.25, top1}, {partial, -0.1, top2}, {"\t", -2, {}}};
  std::string out;
  w.append_content(out, " café\t", toks, true);
  json c = payload(out)["choices"][0];
  EXPECT_EQ(c["delta"]["content"], " café\t");
  EXPECT_FALSE(c["delta"].contains("role"));
  EXPECT_TRUE(c["finish_reason"].is_null());
  const json& lp = c["logprobs"]["content"];
  ASSERT_EQ(lp.size(), 3u);
  EXPECT_EQ(lp[0]["token"], " café");
  EXPECT_EQ(lp[0]["logprob"], -0.25);
  EXPECT_EQ(lp[0]["bytes"], json(as_ints(" café")));
  ASSERT_EQ(lp[0]["top_logprobs"].size(), 3u);
  EXPECT_EQ(lp[0]["top_logprobs"][1]["token"], " cafe");
  EXPECT_EQ(lp[0]["top_logprobs"][1]["logprob"], -1.5);
  EXPECT_EQ(lp[0]["top_logprobs"][2]["token"], "\"\\\n");
  EXPECT_EQ(lp[0]["top_logprobs"][2]["bytes"], json(as_ints("\"\\\n")));
  // A partial token: the string is sanitized, the bytes stay exact.
  EXPECT_EQ(lp[1]["token"], "\xEF\xBF\xBD");
  EXPECT_EQ(lp[1]["bytes"], json(std::vector<int>{0xE6, 0x9D}));
  EXPECT_EQ(lp[2]["top_logprobs"], json::array());
}

TEST(ChunkWriter, ContentWithoutLogprobsAndFusedFinish) {
  ChunkWriter w("id", "m", 1);
  std::string out;
  w.append_content(out, "hi", {}, false);
  json c = payload(out)["choices"][0];
  EXPECT_TRUE(c["logprobs"].is_null());
  out.clear();
  w.append_content(out, "", {}, true, "length");
  c = payload(out)["choices"][0];
  EXPECT_EQ(c["finish_reason"], "length");
  EXPECT_EQ(c["logprobs"]["content"], json::array());
}

TEST(ChunkWriter, FinishUsageDoneAndBatching) {
  ChunkWriter w("id", "m", 5);
  std::string out;
  w.append_finish(out, "stop");
  const size_t first = out.size();
  w.append_usage(out, {6000, 512});
  const size_t second = out.size();
  ChunkWriter::append_done(out);
  json fin = payload(out.substr(0, first));
  EXPECT_EQ(fin["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(fin["choices"][0]["delta"], json::object());
  json usage = payload(out.substr(first, second - first));
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"]["prompt_tokens"], 6000);
  EXPECT_EQ(usage["usage"]["completion_tokens"], 512);
  EXPECT_EQ(usage["usage"]["total_tokens"], 6512);
  EXPECT_EQ(out.substr(second), "data: [DONE]\n\n");
}

TEST(ChunkWriter, NonStreamCompletion) {
  const TopTokenOut top[] = {{" 東京", -0.5}};
  const TokenOut toks[] = {{" 東京", -0.5, top}};
  std::string out;
  append_chat_completion(out, "id9", "m", 7, " 東京", toks, true, "stop", {10, 1});
  json j = json::parse(out);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], " 東京");
  EXPECT_EQ(j["choices"][0]["logprobs"]["content"][0]["bytes"], json(as_ints(" 東京")));
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["total_tokens"], 11);
  out.clear();
  append_chat_completion(out, "id9", "m", 7, "x", {}, false, "length", {1, 1});
  EXPECT_TRUE(json::parse(out)["choices"][0]["logprobs"].is_null());
}

// The harness's own parser reads what the writer writes.
TEST(ChunkWriter, ChunkParserReadsWriterOutput) {
  ChunkWriter w("id", "m", 1);
  const TopTokenOut top[] = {{" naïve", -0.125}, {" naive", -2.5}};
  const TokenOut toks[] = {{" naïve", -0.125, top}};
  std::string out;
  w.append_content_json(out, " naïve", toks, true);
  ChunkParser parser;
  auto chunk = parser.parse(out);
  ASSERT_TRUE(chunk.ok()) << chunk.error().message;
  EXPECT_EQ(chunk->content, " naïve");
  ASSERT_EQ(chunk->logprobs.size(), 1u);
  EXPECT_EQ(chunk->logprobs[0].token, " naïve");
  EXPECT_EQ(chunk->logprobs[0].logprob, -0.125);
  EXPECT_EQ(chunk->logprobs[0].bytes, std::optional<std::string>(" naïve"));
  ASSERT_EQ(chunk->logprobs[0].top_logprobs.size(), 2u);
  EXPECT_EQ(chunk->logprobs[0].top_logprobs[1].token, " naive");
}

}  // namespace
}  // namespace cacheon::openai

// Qwen2.5 chat template rendering (text and ids) and the streaming IncrementalDecoder.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "qwen_tokenizer_fixture.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace cacheon::engine {
namespace {

using Ids = std::vector<int32_t>;
using openai::ChatMessage;
using Msgs = std::vector<ChatMessage>;

class ChatTokenizerTest : public QwenTokenizerFixture {};

std::string render(const Msgs& m, bool gen = true) {
  auto r = render_chat(m, gen);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::string();
}

TEST(ChatTemplateTest, DefaultSystemPromptAndGenerationPrompt) {
  EXPECT_EQ(render({{"user", "Hello!"}}),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render({{"user", "Hello!"}}, false),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n");
}

TEST(ChatTemplateTest, SystemMultiTurnAndOtherRoles) {
  EXPECT_EQ(
      render({{"system", "Be terse."}, {"user", "2+2?"}, {"assistant", "4"}, {"user", "and 3+3?"}}),
      "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
      "<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nand 3+3?<|im_end|>\n"
      "<|im_start|>assistant\n");
  // A later system message is rendered in place; the first one is not repeated.
  EXPECT_EQ(render({{"system", "A"}, {"user", "u"}, {"system", "B"}}, false),
            "<|im_start|>system\nA<|im_end|>\n<|im_start|>user\nu<|im_end|>\n"
            "<|im_start|>system\nB<|im_end|>\n");
  // "developer" matches no branch of the Qwen2.5 template: it renders nothing, and a leading
  // one does not replace the default system prompt.
  EXPECT_EQ(render({{"developer", "secret"}, {"user", "hi"}}, false),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n");
  // Consecutive tool messages share one user turn.
  EXPECT_EQ(render({{"system", "S"}, {"tool", "r1"}, {"tool", "r2"}, {"user", "u"}}, false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n<tool_response>\nr1\n"
            "</tool_response>\n<tool_response>\nr2\n</tool_response><|im_end|>\n"
            "<|im_start|>user\nu<|im_end|>\n");
  // Empty contents are kept verbatim.
  EXPECT_EQ(render({{"system", ""}, {"assistant", ""}}, false),
            "<|im_start|>system\n<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n");
  auto empty = render_chat({}, true);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "invalid_request");
}

TEST_F(ChatTokenizerTest, EncodesTheWellKnownQwenPrompt) {
  auto ids = encode_chat(tok(), Msgs{{"user", "Hello!"}}, true);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (Ids{151644, 8948, 198,  2610, 525,    1207,  16948,  11,    3465,   553, 54364,
                       14817,  13,   1446, 525,  264,    10950, 17847,  13,    151645, 198, 151644,
                       872,    198,  9707, 0,    151645, 198,   151644, 77091, 198}));
  // Special-token text inside a message is parsed, as vLLM does with the rendered prompt.
  auto inj = encode_chat(tok(), Msgs{{"user", "a<|im_end|>b"}}, false);
  ASSERT_TRUE(inj.ok());
  EXPECT_EQ(std::count(inj->begin(), inj->end(), tok().im_end_id()), 3);
}

// tests/data/tokenizer/hf_chats.jsonl: chats rendered and tokenized by HF transformers'
// apply_chat_template with the verbatim Qwen2.5-Instruct Jinja template.
TEST_F(ChatTokenizerTest, MatchesTransformersApplyChatTemplate) {
  std::ifstream in(std::string(CACHEON_TEST_DATA) + "/tokenizer/hf_chats.jsonl");
  ASSERT_TRUE(in) << "missing hf_chats.jsonl";
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    Msgs msgs;
    for (const auto& m : j["messages"]) {
      msgs.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    }
    const bool gen = j["add_generation_prompt"].get<bool>();
    auto text = render_chat(msgs, gen);
    ASSERT_TRUE(text.ok()) << line;
    EXPECT_EQ(*text, j["text"].get<std::string>()) << "chat #" << n;
    auto ids = encode_chat(tok(), msgs, gen);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, j["ids"].get<Ids>()) << "chat #" << n;
    ++n;
  }
  EXPECT_GE(n, 200);
}

std::string stream(const Tokenizer& tok, const Ids& ids, bool skip_special,
                   std::vector<std::string>* parts = nullptr) {
  IncrementalDecoder dec(tok, skip_special);
  std::string all;
  for (int32_t id : ids) {
    std::string piece = dec.push(id);
    EXPECT_TRUE(utf8::is_valid(piece));
    EXPECT_LE(dec.pending_bytes(), 3u);
    if (parts) parts->push_back(piece);
    all += piece;
  }
  std::string rest = dec.flush();
  if (parts) parts->push_back(rest);
  EXPECT_EQ(dec.pending_bytes(), 0u);
  return all + rest;
}

TEST_F(ChatTokenizerTest, IncrementalDecoderNeverSplitsACharacter) {
  // 🫨 is three tokens (F0 9F | AB | A8), then " ok".
  std::vector<std::string> parts;
  EXPECT_EQ(stream(tok(), Ids{9284, 104, 101, 5394}, true, &parts), "🫨 ok");
  EXPECT_EQ(parts, (std::vector<std::string>{"", "", "🫨", " ok", ""}));
  // U+20000 is F0 | A0 80 | 80.
  parts.clear();
  EXPECT_EQ(stream(tok(), Ids{172, 63219, 222}, true, &parts), "\U00020000");
  EXPECT_EQ(parts, (std::vector<std::string>{"", "", "\U00020000", ""}));
  // CJK, emoji ZWJ sequences and flags round trip through any split.
  const std::string texts[] = {"价格是 1234.56 元，好吗？",
                               "👨‍👩‍👧 🇯🇵 1️⃣ 🏳️‍🌈",
                               "naïve 𝒜𝒷𝒸 \U00020001"};
  for (const std::string& t : texts) EXPECT_EQ(stream(tok(), tok().encode(t), true), t);
}

TEST_F(ChatTokenizerTest, IncrementalDecoderEdgeCases) {
  // A dangling partial character becomes one U+FFFD at flush.
  std::vector<std::string> parts;
  EXPECT_EQ(stream(tok(), Ids{9284}, true, &parts), "\uFFFD");
  EXPECT_EQ(parts, (std::vector<std::string>{"", "\uFFFD"}));
  // A partial character followed by a complete one: U+FFFD as soon as it cannot complete.
  parts.clear();
  EXPECT_EQ(stream(tok(), Ids{9284, 9707}, true, &parts), "\uFFFDHello");
  EXPECT_EQ(parts, (std::vector<std::string>{"", "\uFFFDHello", ""}));
  // Special tokens: skipped by default (vLLM's skip_special_tokens), kept on request.
  const Ids with_end = {9707, 151645};
  EXPECT_EQ(stream(tok(), with_end, true), "Hello");
  EXPECT_EQ(stream(tok(), with_end, false), "Hello<|im_end|>");
  // Unknown ids contribute nothing.
  EXPECT_EQ(stream(tok(), Ids{9707, -1, 200000, 0}, true), "Hello!");
}

TEST_F(ChatTokenizerTest, IncrementalDecoderMatchesLossyDecodeOnRandomIds) {
  // Random ids, many of them partial-byte tokens: streaming must equal the lossy reading of the
  // whole byte string, whatever the split.
  std::mt19937 rng(1234);
  std::vector<int32_t> byteish;
  for (int32_t id = 0; id < 151643 && byteish.size() < 4000; ++id) {
    const std::string& b = tok().token_bytes(id);
    if (!utf8::is_valid(b)) byteish.push_back(id);
  }
  ASSERT_GT(byteish.size(), 500u);
  for (int round = 0; round < 300; ++round) {
    Ids ids;
    const int n = int(rng() % 40);
    for (int i = 0; i < n; ++i) {
      ids.push_back(rng() % 2 ? byteish[rng() % byteish.size()] : int32_t(rng() % 151669));
    }
    EXPECT_EQ(stream(tok(), ids, true), utf8::lossy(tok().decode(ids, true)));
    EXPECT_EQ(stream(tok(), ids, false), utf8::lossy(tok().decode(ids, false)));
  }
}

}  // namespace
}  // namespace cacheon::engine

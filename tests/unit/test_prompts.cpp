// The prompt pipeline: PRNG and seeding (known answers computed outside C++), prompt-set
// derivation, the quality filter, and trimming with fake token counters (corpus loading is in
// test_corpus.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/sha256.h"
#include "harness/corpus.h"
#include "harness/prompts.h"
#include "harness/rng.h"

namespace cacheon::harness {
namespace {

// Expected values below come from an independent Python implementation of splitmix64 /
// xoshiro256** / Lemire, and from `printf HEX | xxd -r -p | sha256sum`.
TEST(RngTest, SplitMix64KnownAnswer) {
  uint64_t state = 0;
  EXPECT_EQ(splitmix64(state), 0xe220a8397b1dcdafull);
}

TEST(RngTest, XoshiroKnownAnswers) {
  Rng a(0);
  EXPECT_EQ(a.next(), 0x99ec5f36cb75f2b4ull);
  EXPECT_EQ(a.next(), 0xbf6e1f784956452aull);
  EXPECT_EQ(a.next(), 0x1a5f849d4933e6e0ull);
  EXPECT_EQ(a.next(), 0x6aa594f1262d2d2cull);
  Rng b(0x0123456789abcdefull);
  EXPECT_EQ(b.next(), 0xa2c2a42038d4ec3dull);
  EXPECT_EQ(b.next(), 0x05fc25d0738e7b0full);
  EXPECT_EQ(b.next(), 0x625e7bff938e701eull);
}

TEST(RngTest, UniformKnownAnswers) {
  Rng r(12345);
  EXPECT_EQ(r.uniform(10), 7u);
  EXPECT_EQ(r.uniform(1000), 130u);
  EXPECT_EQ(r.uniform(3), 2u);
  EXPECT_EQ(r.uniform(uint64_t(1) << 63), 445858863439900697ull);
  EXPECT_EQ(r.uniform(~uint64_t(0)), 10241316046318454343ull);
  EXPECT_EQ(r.uniform(7), 0u);
  EXPECT_EQ(r.uniform(1), 0u);
  Rng d(12345);
  EXPECT_DOUBLE_EQ(d.uniform_double(), 0.7438081631565894);
  EXPECT_DOUBLE_EQ(d.uniform_double(), 0.13004553462783452);
}

TEST(RngTest, UniformIsInRangeAndEven) {
  Rng r(7);
  int buckets[6] = {};
  for (int i = 0; i < 60000; ++i) {
    uint64_t v = r.uniform(6);
    ASSERT_LT(v, 6u);
    ++buckets[v];
  }
  for (int b : buckets) EXPECT_NEAR(b, 10000, 600);
  for (int i = 0; i < 1000; ++i) {
    double x = r.uniform_double();
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
  }
}

TEST(RngTest, SeedFromBlockHash) {
  const char* h = "8f4b3a6c1d2e9f00112233445566778899aabbccddeeff00112233445566aa55";
  // printf 8f4b...aa55 | xxd -r -p | sha256sum -> fcbc43f03e6b734b...
  const std::string forms[] = {h, "0x" + std::string(h),
                               "0X8F4B3A6C1D2E9F00112233445566778899AABBCCDDEEFF00112233445566AA55"};
  for (const std::string& s : forms) {
    Result<uint64_t> seed = seed_from_block_hash(s);
    ASSERT_TRUE(seed.ok()) << s;
    EXPECT_EQ(*seed, 0xfcbc43f03e6b734bull) << s;
  }
  EXPECT_EQ(*seed_from_block_hash("ab"), 0x087d80f7f182dd44ull);
  for (const char* bad : {"", "0x", "abc", "0xzz", "hash"}) {
    Result<uint64_t> seed = seed_from_block_hash(bad);
    ASSERT_FALSE(seed.ok()) << bad;
    EXPECT_EQ(seed.error().code, "bad_block_hash") << bad;
  }
}

// ---- Synthetic text ----

// Plausible prose: sentences of 8-16 words, paragraphs of 4-8, words drawn from a few common
// ones and from ~700 made-up two-syllable words (so the vocabulary is as varied as real text).
std::string prose(uint64_t seed, int paragraphs, bool unicode = false) {
  static const char* common[] = {"the", "of", "and", "a", "to", "in", "was", "that", "with",
                                 "he", "she", "it", "for", "on", "at", "by", "from", "which"};
  static const char* syllables[] = {"ar", "bel", "cor", "dan", "el", "fen", "gar", "hol", "ith",
                                    "jor", "kel", "lan", "mor", "nes", "or", "pel", "quin", "ros",
                                    "sel", "tam", "ul", "ver", "wen", "yar", "zel", "mith"};
  static const char* fancy[] = {"café", "naïve", "“indeed”", "façade", "déjà", "—then"};
  Rng r(seed);
  std::string out;
  for (int p = 0; p < paragraphs; ++p) {
    if (p) out += "\n\n";
    int sentences = 4 + static_cast<int>(r.uniform(5));
    for (int s = 0; s < sentences; ++s) {
      if (s) out += ' ';
      int n = 8 + static_cast<int>(r.uniform(9));
      for (int w = 0; w < n; ++w) {
        std::string word;
        if (unicode && r.uniform(8) == 0) {
          word = fancy[r.uniform(std::size(fancy))];
        } else if (r.uniform(3) == 0) {
          word = common[r.uniform(std::size(common))];
        } else {
          word = std::string(syllables[r.uniform(std::size(syllables))]) +
                 syllables[r.uniform(std::size(syllables))];
        }
        if (w == 0 && word[0] >= 'a' && word[0] <= 'z') word[0] = static_cast<char>(word[0] - 32);
        if (w) out += ' ';
        out += word;
      }
      out += '.';
    }
  }
  return out + "\n";
}

// ---- Prompt sets ----

const char* kHash = "0x8f4b3a6c1d2e9f00112233445566778899aabbccddeeff00112233445566aa55";

const Corpus& builtin_corpus() {
  static const Corpus c = *Corpus::builtin();
  return c;
}

size_t cps(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool space(char c) { return c == ' ' || c == '\n' || c == '\t'; }

const CorpusDocument& doc_named(const Corpus& c, const std::string& name) {
  for (const CorpusDocument& d : c.documents()) {
    if (d.name == name) return d;
  }
  ADD_FAILURE() << "no document " << name;
  return c.documents().front();
}

// The invariants every prompt set must keep, whatever the corpus.
void check_set(const Corpus& corpus, const PromptSet& set, const PromptSpec& spec) {
  ASSERT_EQ(set.prompts.size(), static_cast<size_t>(spec.warmup + spec.scored));
  EXPECT_EQ(set.corpus_id, corpus.id());
  for (size_t i = 0; i < set.prompts.size(); ++i) {
    const Prompt& p = set.prompts[i];
    EXPECT_EQ(p.index, static_cast<int>(i));
    EXPECT_EQ(p.warmup, static_cast<int>(i) < spec.warmup);
    EXPECT_EQ(p.target_input_tokens, spec.input_tokens);
    EXPECT_EQ(p.max_tokens, spec.output_tokens);
    EXPECT_FALSE(p.measured_input_tokens.has_value());
    EXPECT_TRUE(valid_utf8(p.passage));
    EXPECT_EQ(passage_quality_issue(p.passage), "") << p.index;
    // Word-aligned at both ends, and a verbatim slice of its document.
    const std::string& text = doc_named(corpus, p.document).text;
    ASSERT_LE(p.offset + p.passage.size(), text.size());
    EXPECT_EQ(text.compare(p.offset, p.passage.size(), p.passage), 0);
    ASSERT_FALSE(p.passage.empty());
    EXPECT_FALSE(space(p.passage.front()));
    EXPECT_FALSE(space(p.passage.back()));
    EXPECT_TRUE(p.offset == 0 || space(text[p.offset - 1])) << p.index;
    size_t end = p.offset + p.passage.size();
    EXPECT_TRUE(end == text.size() || space(text[end])) << p.index;
    Result<std::vector<ChatMessage>> m = render_prompt(p.template_id, p.passage);
    ASSERT_TRUE(m.ok());
    ASSERT_EQ(p.messages.size(), 1u);
    EXPECT_EQ(p.messages[0].role, "user");
    EXPECT_EQ(p.messages[0].content, (*m)[0].content);
    for (size_t j = 0; j < i; ++j) {  // passages never overlap
      const Prompt& q = set.prompts[j];
      if (q.document != p.document) continue;
      EXPECT_TRUE(q.offset + q.passage.size() <= p.offset || end <= q.offset) << i << " " << j;
    }
  }
}

TEST(PromptsTest, BuiltinYieldsTwelveLongPrompts) {
  PromptSpec spec;
  Result<PromptSet> set = make_prompt_set(builtin_corpus(), kHash, spec);
  ASSERT_TRUE(set.ok()) << set.error().message;
  check_set(builtin_corpus(), *set, spec);
  EXPECT_EQ(set->block_hash, kHash);
  EXPECT_EQ(set->seed, 0xfcbc43f03e6b734bull);
  for (const Prompt& p : set->prompts) {
    // 6000 tokens * 4.6 chars/token minus the template: trimming then cuts to the target.
    EXPECT_GE(cps(p.passage), 23000u) << p.index;
    EXPECT_LE(cps(p.passage), 27600u) << p.index;
  }
}

TEST(PromptsTest, SameHashSameSetDifferentHashDifferentSet) {
  PromptSpec spec;
  Result<PromptSet> a = make_prompt_set(builtin_corpus(), kHash, spec);
  Result<PromptSet> b = make_prompt_set(builtin_corpus(), std::string(kHash + 2), spec);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(b->block_hash, kHash);  // canonical form
  ASSERT_EQ(a->prompts.size(), b->prompts.size());
  for (size_t i = 0; i < a->prompts.size(); ++i) {
    EXPECT_EQ(a->prompts[i].messages[0].content, b->prompts[i].messages[0].content);
    EXPECT_EQ(a->prompts[i].template_id, b->prompts[i].template_id);
    EXPECT_EQ(a->prompts[i].offset, b->prompts[i].offset);
  }
  Result<PromptSet> c = make_prompt_set(builtin_corpus(), "0x01", spec);
  ASSERT_TRUE(c.ok());
  int same = 0;
  for (size_t i = 0; i < a->prompts.size(); ++i) same += a->prompts[i].passage == c->prompts[i].passage;
  EXPECT_EQ(same, 0);
}

// Pins the whole derivation (PRNG, seeding, selection, alignment, filter, templates) on the
// built-in corpus: it must hold on every platform. If an intended change breaks it, every prompt
// set changes for every participant; say so in the change.
TEST(PromptsTest, GoldenDigest) {
  Result<PromptSet> set = make_prompt_set(builtin_corpus(), kHash, PromptSpec{});
  ASSERT_TRUE(set.ok());
  std::string all;
  for (const Prompt& p : set->prompts) all += p.template_id + "\n" + p.messages[0].content + "\n";
  EXPECT_EQ(sha256_hex(all), "0435aab6bfea7712e107a542929b355dfe2832d13df1cfe20c4fc1ddcebdb97f");
  EXPECT_EQ(set->prompts[0].document + ":" + std::to_string(set->prompts[0].offset) + ":" +
                set->prompts[0].template_id,
            "smith_wealth_of_nations_books_1_2.txt:693535:themes");
}

TEST(PromptsTest, SmallCorporaAndSpecs) {
  Result<Corpus> c = Corpus::from_documents(
      {{"one", prose(1, 60)}, {"two", prose(2, 60, true)}, {"short", "Too short.\n"}}, "synthetic");
  ASSERT_TRUE(c.ok());
  PromptSpec spec;
  spec.warmup = 1;
  spec.scored = 5;
  spec.input_tokens = 300;
  spec.output_tokens = 64;
  Result<PromptSet> set = make_prompt_set(*c, "0xbeef", spec);
  ASSERT_TRUE(set.ok()) << set.error().message;
  check_set(*c, *set, spec);
  std::set<std::string> docs;
  for (const Prompt& p : set->prompts) {
    docs.insert(p.document);
    EXPECT_NE(p.document, "short");
    EXPECT_GE(cps(p.passage), 200u * 85 / 100);
    EXPECT_LE(cps(p.passage), 1200u);
  }
  EXPECT_EQ(docs.size(), 2u);
  spec.warmup = 0;
  spec.scored = 1;
  Result<PromptSet> one = make_prompt_set(*c, "0xbeef", spec);
  ASSERT_TRUE(one.ok());
  check_set(*c, *one, spec);
}

TEST(PromptsTest, Errors) {
  const Corpus& c = builtin_corpus();
  EXPECT_EQ(make_prompt_set(c, "0xnothex", {}).error().code, "bad_block_hash");
  EXPECT_EQ(make_prompt_set(c, "", {}).error().code, "bad_block_hash");
  auto spec_with = [](auto f) { PromptSpec s; f(s); return s; };
  const PromptSpec bad[] = {
      spec_with([](PromptSpec& s) { s.warmup = -1; }),
      spec_with([](PromptSpec& s) { s.warmup = 0; s.scored = 0; }),
      spec_with([](PromptSpec& s) { s.scored = 20000; }),
      spec_with([](PromptSpec& s) { s.input_tokens = 0; }),
      spec_with([](PromptSpec& s) { s.output_tokens = 0; }),
      spec_with([](PromptSpec& s) { s.chars_per_token = 0; }),
      spec_with([](PromptSpec& s) { s.chars_per_token = std::nan(""); }),
  };
  for (const PromptSpec& s : bad) EXPECT_EQ(make_prompt_set(c, kHash, s).error().code, "bad_prompt_spec");
  // Nothing long enough.
  Result<Corpus> small = Corpus::from_documents({{"a", prose(3, 3)}}, "t");
  Result<PromptSet> r = make_prompt_set(*small, kHash, {});
  EXPECT_EQ(r.error().code, "corpus_insufficient");
  // Long enough, but all junk: the message names the filter's reason.
  std::string junk;
  for (int i = 0; i < 20000; ++i) junk += std::to_string(i * 7919 % 100000) + " ";
  Result<Corpus> tables = Corpus::from_documents({{"t", junk}}, "t");
  r = make_prompt_set(*tables, kHash, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "corpus_insufficient");
  EXPECT_NE(r.error().message.find("few_letters"), std::string::npos) << r.error().message;
}

TEST(PromptsTest, Templates) {
  const std::vector<std::string>& ids = prompt_template_ids();
  EXPECT_GE(ids.size(), 12u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  for (const std::string& id : ids) {
    Result<std::vector<ChatMessage>> m = render_prompt(id, "PASSAGE");
    ASSERT_TRUE(m.ok());
    ASSERT_EQ(m->size(), 1u);
    EXPECT_NE((*m)[0].content.find("PASSAGE"), std::string::npos);
  }
  EXPECT_EQ(render_prompt("nope", "x").error().code, "unknown_template");
}

TEST(PromptQualityTest, Table) {
  auto rep = [](const std::string& s, int n, const std::string& sep = "") {
    std::string out;
    for (int i = 0; i < n; ++i) out += s + sep;
    return out;
  };
  std::string verse;
  for (int i = 0; i < 12; ++i) verse += "Line " + std::to_string(i) + " of a little song,\n";
  struct Case {
    std::string text;
    const char* reason;
  };
  const Case cases[] = {
      {prose(5, 20), ""},
      {prose(6, 20, true), ""},
      {"\xE2\x80\x9CWell,\xE2\x80\x9D said he, \xE2\x80\x9CI will come.\xE2\x80\x9D\n\n"
       "She did not answer, and the room was silent for a long while afterwards.\n",
       ""},
      {"bad \xFF bytes", "invalid_utf8"},
      {" \n\t\n ", "empty"},
      {"hello\x01world and more words", "control_chars"},
      {"caf\xEF\xBF\xBD na\xEF\xBF\xBDve d\xEF\xBF\xBDj\xEF\xBF\xBD words", "replacement_chars"},
      {rep("1762      1  19    0", 30, "\n"), "few_letters"},
      {rep("!!! ??? ;;; ok", 30, " "), "few_letters"},
      {rep("Item 12345 costs 67890 dollars today in town.", 20, " "), "many_digits"},
      {rep("<span>wonderful morning</span>", 30, " "), "markup"},
      {rep("THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.", 20, " "), "mostly_uppercase"},
      {rep("incomprehensibilities", 30, " "), "long_words"},
      {rep("abc,def,ghi,", 40), "few_spaces"},
      {verse, "short_lines"},
      {rep("Chapter One: The Period", 3, "\n") + rep("Contents", 6, "\n"), "short_lines"},
      {rep("This line is long enough to not count as a short one at all.\n"
           "And this is another long line that repeats over and over again.",
           10, "\n"),
       "repeated_lines"},
      {rep("the cat", 300, " "), "repetitive_words"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(passage_quality_issue(c.text), c.reason) << c.text.substr(0, 60);
  }
}

TEST(PromptQualityTest, AcceptsMostOfTheBuiltinCorpus) {
  // Random 24k-byte windows (code-point aligned) of real prose: the filter must not reject much.
  int rejected = 0, total = 0;
  Rng r(99);
  for (const CorpusDocument& d : builtin_corpus().documents()) {
    for (int i = 0; i < 20; ++i, ++total) {
      size_t s = r.uniform(d.text.size() - 24000), e = s + 24000;
      while ((d.text[s] & 0xC0) == 0x80) ++s;
      while (e < d.text.size() && (d.text[e] & 0xC0) == 0x80) ++e;
      rejected += !passage_quality_issue(std::string_view(d.text).substr(s, e - s)).empty();
    }
  }
  EXPECT_LE(rejected, total / 20) << rejected << " of " << total;
}

// ---- Trimming ----

int64_t bytes_of(const std::vector<ChatMessage>& m) {
  int64_t n = 0;
  for (const ChatMessage& x : m) n += static_cast<int64_t>(x.content.size());
  return n;
}

TEST(PromptTrimTest, FitsTargetAndContext) {
  PromptSpec spec;
  Result<PromptSet> base = make_prompt_set(builtin_corpus(), kHash, spec);
  ASSERT_TRUE(base.ok());
  int calls = 0;
  TokenCounter quarter = [&](const std::vector<ChatMessage>& m) -> Result<int64_t> {
    ++calls;
    return (bytes_of(m) + 3) / 4;
  };
  for (int64_t max_len : {int64_t(0), int64_t(4096)}) {
    PromptSet set = *base;
    calls = 0;
    TrimOptions opt;
    opt.max_model_len = max_len;
    ASSERT_TRUE(trim_prompts(set, quarter, opt).ok());
    EXPECT_LE(calls, static_cast<int>(set.prompts.size()) * (1 + opt.max_rounds));
    const int64_t limit = max_len ? max_len - spec.output_tokens : spec.input_tokens;
    for (size_t i = 0; i < set.prompts.size(); ++i) {
      const Prompt& p = set.prompts[i];
      ASSERT_TRUE(p.measured_input_tokens.has_value());
      EXPECT_EQ(*p.measured_input_tokens, (bytes_of(p.messages) + 3) / 4);
      EXPECT_LE(*p.measured_input_tokens, limit);
      const int64_t before = (bytes_of(base->prompts[i].messages) + 3) / 4;
      if (before > limit) {
        EXPECT_GE(*p.measured_input_tokens, limit * 97 / 100) << i;
      }
      // A prefix of the original passage, cut after a word.
      EXPECT_EQ(base->prompts[i].passage.compare(0, p.passage.size(), p.passage), 0);
      EXPECT_FALSE(space(p.passage.back()));
      EXPECT_EQ(p.messages[0].content, (*render_prompt(p.template_id, p.passage))[0].content);
    }
    PromptSet again = *base;  // deterministic given the counter
    ASSERT_TRUE(trim_prompts(again, quarter, opt).ok());
    for (size_t i = 0; i < set.prompts.size(); ++i) {
      EXPECT_EQ(again.prompts[i].passage, set.prompts[i].passage);
    }
  }
}

TEST(PromptTrimTest, NonLinearCounterConverges) {
  Result<PromptSet> base = make_prompt_set(builtin_corpus(), kHash, {});
  PromptSet set = *base;
  // Big fixed overhead plus a super-linear term: proportional estimates are off.
  TokenCounter odd = [](const std::vector<ChatMessage>& m) -> Result<int64_t> {
    double b = static_cast<double>(bytes_of(m));
    return static_cast<int64_t>(1500 + b / 5 + b * b / 4e6);
  };
  TrimOptions opt;
  opt.max_rounds = 12;
  ASSERT_TRUE(trim_prompts(set, odd, opt).ok());
  for (const Prompt& p : set.prompts) {
    EXPECT_LE(*p.measured_input_tokens, 6000);
    EXPECT_GE(*p.measured_input_tokens, 5700);
  }
}

TEST(PromptTrimTest, Errors) {
  Result<PromptSet> base = make_prompt_set(builtin_corpus(), kHash, {});
  PromptSet set = *base;
  TokenCounter failing = [](const std::vector<ChatMessage>&) -> Result<int64_t> {
    return Error{"tokenize_http_500", "server said no"};
  };
  Status st = trim_prompts(set, failing, {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "tokenize_http_500");

  TokenCounter quarter = [](const std::vector<ChatMessage>& m) -> Result<int64_t> {
    return bytes_of(m) / 4;
  };
  TrimOptions no_room;
  no_room.max_model_len = 500;  // below max_tokens 512
  EXPECT_EQ(trim_prompts(set, quarter, no_room).error().code, "trim_failed");
  TrimOptions tiny;
  tiny.max_model_len = 512 + 20;  // room for 20 tokens: less than the template itself
  EXPECT_EQ(trim_prompts(set, quarter, tiny).error().code, "trim_failed");
  TokenCounter huge = [](const std::vector<ChatMessage>&) -> Result<int64_t> { return 1 << 30; };
  EXPECT_EQ(trim_prompts(set, huge, {}).error().code, "trim_failed");
  EXPECT_EQ(trim_prompts(set, TokenCounter(), {}).error().code, "trim_failed");
}

}  // namespace
}  // namespace cacheon::harness

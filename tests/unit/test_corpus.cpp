// Corpus loading: the built-in blob, directories, JSONL, normalisation, ids and every error code.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "core/sha256.h"
#include "harness/corpus.h"

namespace cacheon::harness {
namespace {

namespace fs = std::filesystem;

// A scratch directory removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("cacheon_prompts_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& data) const {
    std::ofstream(path / name, std::ios::binary) << data;
    return (path / name).string();
  }
};

TEST(CorpusTest, BuiltinLoads) {
  Result<Corpus> c = Corpus::builtin();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->source(), "builtin");
  ASSERT_EQ(c->documents().size(), 9u);
  EXPECT_EQ(c->documents().front().name, "austen_pride_and_prejudice.txt");
  EXPECT_EQ(c->total_bytes(), 5721783u);
  // data/corpus/README.md: for f in *.txt; do sha256sum < "$f" | cut -c1-64; done | sha256sum
  EXPECT_EQ(c->id(), "ff990f779dc3cd7ed49e9cfe15ca8691f7ae19ca02ac54e8a0852e2e4b192b56");
  for (size_t i = 0; i < c->documents().size(); ++i) {
    const CorpusDocument& d = c->documents()[i];
    if (i) {
      EXPECT_LT(c->documents()[i - 1].name, d.name);
    }
    EXPECT_TRUE(valid_utf8(d.text)) << d.name;
    std::string lower = d.text;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_EQ(lower.find("gutenberg"), std::string::npos) << d.name;
  }
}

TEST(CorpusTest, ValidUtf8Table) {
  struct Case {
    std::string s;
    bool ok;
    size_t offset;
  };
  const Case cases[] = {
      {"plain ascii", true, 0},
      {"caf\xC3\xA9 \xE2\x80\x9Cq\xE2\x80\x9D \xF0\x9F\x98\x80", true, 0},
      {"ab\xFF", false, 2},
      {"\xC0\xAF", false, 0},          // overlong '/'
      {"x\xE0\x80\xAF", false, 1},     // overlong, 3 bytes
      {"\xED\xA0\x80", false, 0},      // surrogate
      {"\xF4\x90\x80\x80", false, 0},  // above U+10FFFF
      {"ok\xE2\x80", false, 2},        // truncated
      {"\x80", false, 0},              // stray continuation byte
  };
  for (const Case& c : cases) {
    size_t off = 99;
    EXPECT_EQ(valid_utf8(c.s, &off), c.ok) << c.s;
    if (!c.ok) {
      EXPECT_EQ(off, c.offset) << c.s;
    }
  }
}

TEST(CorpusTest, FromDocumentsNormalizesAndHashes) {
  Result<Corpus> c = Corpus::from_documents(
      {{"a", "\xEF\xBB\xBFline one\r\nline two\r\n"}, {"blank", " \n\t\n"}, {"b", "second\n"}},
      "test");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->documents().size(), 2u);
  EXPECT_EQ(c->documents()[0].text, "line one\nline two\n");
  EXPECT_EQ(c->total_bytes(), 18u + 7u);
  EXPECT_EQ(c->id(), sha256_hex(sha256_hex("line one\nline two\n") + "\n" +
                                sha256_hex("second\n") + "\n"));
  // The id depends on content and order, not on names.
  Result<Corpus> renamed = Corpus::from_documents({{"x", "line one\nline two\n"}, {"y", "second\n"}}, "t");
  EXPECT_EQ(renamed->id(), c->id());
  Result<Corpus> swapped = Corpus::from_documents({{"y", "second\n"}, {"x", "line one\nline two\n"}}, "t");
  EXPECT_NE(swapped->id(), c->id());
}

TEST(CorpusTest, FromDocumentsErrors) {
  struct Case {
    std::vector<CorpusDocument> docs;
    CorpusLimits limits;
    const char* code;
  };
  CorpusLimits tiny_doc;
  tiny_doc.max_document_bytes = 4;
  CorpusLimits tiny_total;
  tiny_total.max_total_bytes = 6;
  CorpusLimits one_doc;
  one_doc.max_documents = 1;
  const Case cases[] = {
      {{}, {}, "corpus_empty"},
      {{{"a", "  \n"}}, {}, "corpus_empty"},
      {{{"a", "ok"}, {"b", "bad \xFF"}}, {}, "corpus_invalid_utf8"},
      {{{"a", "12345"}}, tiny_doc, "corpus_too_large"},
      {{{"a", "1234"}, {"b", "1234"}}, tiny_total, "corpus_too_large"},
      {{{"a", "x"}, {"b", "y"}}, one_doc, "corpus_too_large"},
  };
  for (const Case& c : cases) {
    Result<Corpus> r = Corpus::from_documents(c.docs, "t", c.limits);
    ASSERT_FALSE(r.ok()) << c.code;
    EXPECT_EQ(r.error().code, c.code);
  }
}

TEST(CorpusTest, Directory) {
  TempDir dir;
  dir.write("b.txt", "bravo text\n");
  dir.write("a.txt", "alpha text\r\n");
  dir.write("notes.md", "ignored\n");
  dir.write("empty.txt", "");
  fs::create_directories(dir.path / "sub.txt");  // a directory, even with a .txt name: skipped
  Result<Corpus> c = Corpus::from_directory(dir.path.string());
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->documents().size(), 2u);
  EXPECT_EQ(c->documents()[0].name, "a.txt");
  EXPECT_EQ(c->documents()[0].text, "alpha text\n");
  EXPECT_EQ(c->documents()[1].name, "b.txt");
  EXPECT_EQ(c->source(), "dir:" + dir.path.string());
  Result<Corpus> same = Corpus::from_documents({{"1", "alpha text\n"}, {"2", "bravo text\n"}}, "t");
  EXPECT_EQ(c->id(), same->id());
  Result<Corpus> via_load = Corpus::load(dir.path.string());
  ASSERT_TRUE(via_load.ok());
  EXPECT_EQ(via_load->id(), c->id());
}

TEST(CorpusTest, DirectoryErrors) {
  EXPECT_EQ(Corpus::from_directory("/nonexistent/cacheon/corpus").error().code, "corpus_not_found");
  TempDir none;
  none.write("readme.md", "x");
  EXPECT_EQ(Corpus::from_directory(none.path.string()).error().code, "corpus_empty");
  TempDir bad;
  bad.write("a.txt", "fine\n");
  bad.write("b.txt", "caf\xE9\n");  // Latin-1, not UTF-8
  Result<Corpus> r = Corpus::from_directory(bad.path.string());
  EXPECT_EQ(r.error().code, "corpus_invalid_utf8");
  EXPECT_NE(r.error().message.find("b.txt"), std::string::npos);
  TempDir big;
  big.write("a.txt", std::string(100, 'x'));
  CorpusLimits limits;
  limits.max_document_bytes = 99;
  EXPECT_EQ(Corpus::from_directory(big.path.string(), limits).error().code, "corpus_too_large");
  limits = {};
  limits.max_total_bytes = 150;
  big.write("b.txt", std::string(100, 'y'));
  EXPECT_EQ(Corpus::from_directory(big.path.string(), limits).error().code, "corpus_too_large");
}

TEST(CorpusTest, Jsonl) {
  TempDir dir;
  std::string path = dir.write(
      "c.jsonl",
      "{\"text\": \"first doc\", \"id\": 7}\r\n\n  \n{\"text\": \"caf\\u00e9 \\\"quoted\\\"\\nline\"}\n"
      "{\"text\": \"   \"}\n");
  Result<Corpus> c = Corpus::from_jsonl(path);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->documents().size(), 2u);
  EXPECT_EQ(c->documents()[0].name, "c.jsonl:1");
  EXPECT_EQ(c->documents()[0].text, "first doc");
  EXPECT_EQ(c->documents()[1].name, "c.jsonl:4");
  EXPECT_EQ(c->documents()[1].text, "caf\xC3\xA9 \"quoted\"\nline");
  EXPECT_EQ(c->source(), "jsonl:" + path);
  EXPECT_EQ(Corpus::load(path)->id(), c->id());
}

TEST(CorpusTest, JsonlErrors) {
  struct Case {
    std::string body;
    const char* code;
    const char* mention;
  };
  const Case cases[] = {
      {"{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n", "corpus_bad_jsonl", ":2"},
      {"[\"text\"]\n", "corpus_bad_jsonl", ":1"},
      {"{\"body\": \"no text key\"}\n", "corpus_bad_jsonl", "text"},
      {"{\"text\": 42}\n", "corpus_bad_jsonl", "text"},
      {"{\"text\": \"ok\"}\n{\"text\": \"\xFF\"}\n", "corpus_invalid_utf8", ":2"},
      {"\n\n{\"text\": \"\"}\n", "corpus_empty", ""},
  };
  for (const Case& c : cases) {
    TempDir dir;
    Result<Corpus> r = Corpus::from_jsonl(dir.write("x.jsonl", c.body));
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    EXPECT_NE(r.error().message.find(c.mention), std::string::npos) << r.error().message;
  }
  TempDir dir;
  CorpusLimits limits;
  limits.max_total_bytes = 10;
  EXPECT_EQ(Corpus::from_jsonl(dir.write("big.jsonl", "{\"text\": \"0123456789\"}\n"), limits)
                .error().code,
            "corpus_too_large");
  EXPECT_EQ(Corpus::from_jsonl("/nonexistent/x.jsonl").error().code, "corpus_not_found");
}

TEST(CorpusTest, LoadDispatch) {
  EXPECT_EQ(Corpus::load("")->source(), "builtin");
  EXPECT_EQ(Corpus::load("builtin")->source(), "builtin");
  TempDir dir;
  std::string txt = dir.write("one.txt", "a single document\n");
  Result<Corpus> one = Corpus::load(txt);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->documents().size(), 1u);
  EXPECT_EQ(one->documents()[0].name, "one.txt");
  EXPECT_EQ(Corpus::load(dir.write("x.csv", "a,b\n")).error().code, "corpus_bad_source");
  EXPECT_EQ(Corpus::load("/nonexistent/corpus.jsonl").error().code, "corpus_not_found");
}

}  // namespace
}  // namespace cacheon::harness

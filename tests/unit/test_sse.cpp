// SseReader: data-driven cases from tests/data/sse/*.case (format in its README.md), each fed
// whole, split at every byte and byte by byte; plus timing, bound and API-contract tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/sse.h"

namespace cacheon {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::string name;
  SseOptions options;
  std::vector<std::string> reads;
  std::vector<SseEvent> events;  // expected (timing fields unused)
  std::string error;             // expected feed error code, "" for none
  std::string finish;            // expected finish() code, "ok" for success
  int64_t comments = -1;         // -1: not checked
};

// Parses one double-quoted, C-escaped string starting at s[i]; advances i past it.
bool parse_quoted(const std::string& s, size_t& i, std::string& out, std::string& err) {
  while (i < s.size() && s[i] == ' ') ++i;
  if (i >= s.size() || s[i] != '"') return err = "expected '\"'", false;
  out.clear();
  for (++i; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      ++i;
      return true;
    }
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= s.size()) break;
    switch (s[i]) {
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case '0': out.push_back('\0'); break;
      case '\\': out.push_back('\\'); break;
      case '"': out.push_back('"'); break;
      case 'x': {
        if (i + 2 >= s.size()) return err = "short \\x escape", false;
        out.push_back(char(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
        i += 2;
        break;
      }
      default: return err = std::string("unknown escape \\") + s[i], false;
    }
  }
  return err = "unterminated string", false;
}

Case load_case(const fs::path& path, std::string& err) {
  Case c;
  c.name = path.stem().string();
  std::ifstream in(path, std::ios::binary);
  std::string line;
  int lineno = 0;
  while (err.empty() && std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string word;
    ls >> word;
    size_t i = word.size();
    if (word == "in") {
      std::string s;
      if (parse_quoted(line, i, s, err)) c.reads.push_back(s);
    } else if (word == "event") {
      SseEvent e;
      if (parse_quoted(line, i, e.event, err) && parse_quoted(line, i, e.data, err) &&
          parse_quoted(line, i, e.id, err)) {
        c.events.push_back(e);
      }
    } else if (word == "error") {
      ls >> c.error;
    } else if (word == "finish") {
      ls >> c.finish;
    } else if (word == "comments") {
      ls >> c.comments;
    } else if (word == "options") {
      std::string kv;
      while (ls >> kv) {
        const auto eq = kv.find('=');
        const std::string key = kv.substr(0, eq);
        const size_t v = std::stoul(kv.substr(eq + 1));
        if (key == "max_line_bytes") {
          c.options.max_line_bytes = v;
        } else if (key == "max_event_bytes") {
          c.options.max_event_bytes = v;
        } else {
          err = "unknown option " + key;
        }
      }
    } else {
      err = "unknown directive '" + word + "'";
    }
    if (!err.empty()) err = path.string() + ":" + std::to_string(lineno) + ": " + err;
  }
  if (c.finish.empty()) c.finish = c.error.empty() ? "ok" : c.error;
  return c;
}

struct Outcome {
  std::vector<SseEvent> events;
  std::string error;
  std::string finish;
  int64_t comments = 0;
  int64_t bytes_seen = 0;
};

Outcome run(const SseOptions& options, const std::vector<std::string>& reads) {
  SseReader r(options);
  Outcome o;
  for (const auto& read : reads) {
    Status s = r.feed(read, 0, [&](SseEvent&& e) { o.events.push_back(std::move(e)); });
    if (!s.ok()) {
      o.error = s.error().code;
      break;
    }
  }
  Status f = r.finish();
  o.finish = f.ok() ? "ok" : f.error().code;
  o.comments = r.comments();
  o.bytes_seen = r.bytes_seen();
  return o;
}

std::string show(const SseEvent& e) {
  return "{event=\"" + e.event + "\" data=\"" + e.data + "\" id=\"" + e.id + "\"}";
}

void expect_outcome(const Case& c, const Outcome& o, const std::string& how) {
  SCOPED_TRACE(c.name + " fed " + how);
  ASSERT_EQ(o.events.size(), c.events.size());
  for (size_t i = 0; i < c.events.size(); ++i) {
    EXPECT_EQ(show(o.events[i]), show(c.events[i])) << "event " << i;
  }
  EXPECT_EQ(o.error, c.error);
  EXPECT_EQ(o.finish, c.finish);
  if (c.comments >= 0 && c.error.empty()) {
    EXPECT_EQ(o.comments, c.comments);
  }
}

TEST(SseCases, AllFiles) {
  const fs::path dir = fs::path(CACHEON_TEST_DATA) / "sse";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".case") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 20u) << "case files missing under " << dir;
  for (const auto& f : files) {
    std::string err;
    const Case c = load_case(f, err);
    ASSERT_TRUE(err.empty()) << err;
    std::string all;
    for (const auto& r : c.reads) all += r;

    const Outcome as_written = run(c.options, c.reads);
    expect_outcome(c, as_written, "as written");
    if (c.error.empty()) {
      EXPECT_EQ(as_written.bytes_seen, int64_t(all.size())) << c.name;
    }

    for (size_t k = 0; k <= all.size(); ++k) {
      expect_outcome(c, run(c.options, {all.substr(0, k), all.substr(k)}),
                     "split at " + std::to_string(k));
    }
    std::vector<std::string> bytes;
    for (char ch : all) bytes.emplace_back(1, ch);
    expect_outcome(c, run(c.options, bytes), "byte by byte");
  }
}

using Events = std::vector<SseEvent>;

auto collect(Events& out) {
  return [&out](SseEvent&& e) { out.push_back(std::move(e)); };
}

TEST(SseReader, TimestampsComeFromTheReadsThatCarriedTheEvent) {
  SseReader r;
  Events ev;
  ASSERT_TRUE(r.feed(": ping\n", 5, collect(ev)).ok());  // comments do not start an event
  ASSERT_TRUE(r.feed("da", 10, collect(ev)).ok());
  ASSERT_TRUE(r.feed("ta: x\n", 20, collect(ev)).ok());
  ASSERT_TRUE(r.feed("\n", 30, collect(ev)).ok());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].first_byte_ns, 10);
  EXPECT_EQ(ev[0].arrival_ns, 30);

  // Two events in one read share its arrival time.
  ASSERT_TRUE(r.feed("data: a\n\ndata: b\n\n", 40, collect(ev)).ok());
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[1].first_byte_ns, 40);
  EXPECT_EQ(ev[2].arrival_ns, 40);
  EXPECT_TRUE(r.finish().ok());
}

TEST(SseReader, CrEndingAReadDispatchesWithoutWaitingForLf) {
  SseReader r;
  Events ev;
  ASSERT_TRUE(r.feed("data: a\r\n\r", 7, collect(ev)).ok());
  ASSERT_EQ(ev.size(), 1u);  // the CR completes the blank line; the next LF belongs to it
  EXPECT_EQ(ev[0].arrival_ns, 7);
  ASSERT_TRUE(r.feed("\ndata: b\n\n", 8, collect(ev)).ok());
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].data, "b");
  EXPECT_EQ(ev[1].first_byte_ns, 8);
}

TEST(SseReader, BomSplitAcrossReadsKeepsTiming) {
  SseReader r;
  Events ev;
  ASSERT_TRUE(r.feed("\xEF", 1, collect(ev)).ok());
  ASSERT_TRUE(r.feed("\xBB\xBF", 2, collect(ev)).ok());
  ASSERT_TRUE(r.feed("data: x\n\n", 3, collect(ev)).ok());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "x");
  EXPECT_EQ(ev[0].first_byte_ns, 3);
  EXPECT_EQ(r.bytes_seen(), 12);
}

TEST(SseReader, CallbackMayMoveOrKeepTheEvent) {
  SseReader r;
  std::vector<std::string> kept;
  auto steal = [&](SseEvent&& e) { kept.push_back(std::move(e.data)); };
  auto peek = [&](SseEvent&& e) { kept.push_back(e.data); };
  ASSERT_TRUE(r.feed("data: one\n\n", 0, steal).ok());
  ASSERT_TRUE(r.feed("data: two\n\n", 0, peek).ok());
  ASSERT_TRUE(r.feed("data: three\n\n", 0, steal).ok());
  EXPECT_EQ(kept, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(r.events(), 3);
}

TEST(SseReader, OversizedLineIsBoundedAndSticky) {
  SseOptions opt;  // defaults: 1 MiB lines
  SseReader r(opt);
  Events ev;
  const std::string chunk(64 * 1024, 'a');
  Status s = r.feed("data: ", 0, collect(ev));
  size_t fed = 6;
  while (s.ok() && fed < 8 * opt.max_line_bytes) {
    EXPECT_LE(r.buffered_bytes(), opt.max_line_bytes + opt.max_event_bytes);
    s = r.feed(chunk, 0, collect(ev));
    fed += chunk.size();
  }
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "sse_line_too_long");
  EXPECT_LE(fed, opt.max_line_bytes + chunk.size() + 6);  // failed as soon as the bound passed
  EXPECT_LT(r.buffered_bytes(), 256u);                     // released on error (SSO remains)
  // Sticky: later input is refused with the same error and nothing is dispatched.
  Status again = r.feed("\n\ndata: x\n\n", 0, collect(ev));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "sse_line_too_long");
  EXPECT_TRUE(ev.empty());
  ASSERT_FALSE(r.finish().ok());
}

TEST(SseReader, OversizedEventIsBounded) {
  SseOptions opt;
  opt.max_line_bytes = 1024;
  opt.max_event_bytes = 64 * 1024;
  SseReader r(opt);
  Events ev;
  const std::string line = "data: " + std::string(1000, 'b') + "\n";
  Status s;
  int lines = 0;
  while (s.ok() && lines < 1000) {
    EXPECT_LE(r.buffered_bytes(), opt.max_line_bytes + opt.max_event_bytes);
    s = r.feed(line, 0, collect(ev));
    ++lines;
  }
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "sse_event_too_large");
  EXPECT_EQ(lines, 66);  // 65 lines of 1000 bytes + 64 joins fit in 64 KiB; the 66th does not
}

TEST(SseReader, FeedAfterFinishIsRefused) {
  SseReader r;
  Events ev;
  ASSERT_TRUE(r.feed("data: a\n\n", 0, collect(ev)).ok());
  ASSERT_TRUE(r.finish().ok());
  Status s = r.feed("data: b\n\n", 0, collect(ev));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "sse_finished");
  EXPECT_EQ(ev.size(), 1u);
}

TEST(SseReader, RandomStreamsAgreeAcrossSplits) {
  // Property test: over an alphabet rich in field names and line endings, any split of the
  // input into reads gives the same events, error and finish status as one read.
  std::mt19937 rng(12345);
  const std::vector<std::string> atoms = {"data", "event", "id", ":", ": ", " ", "\r", "\n",
                                          "\r\n", "x", "\xEF\xBB\xBF", "retry", "\0"};
  SseOptions opt;
  opt.max_line_bytes = 24;
  opt.max_event_bytes = 48;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string in;
    const int n = int(rng() % 40);
    for (int i = 0; i < n; ++i) in += atoms[rng() % atoms.size()];
    const Outcome whole = run(opt, {in});
    std::vector<std::string> reads;
    for (size_t pos = 0; pos < in.size();) {
      const size_t len = 1 + rng() % 7;
      reads.push_back(in.substr(pos, len));
      pos += len;
    }
    const Outcome split = run(opt, reads);
    SCOPED_TRACE(::testing::PrintToString(in));
    ASSERT_EQ(split.events.size(), whole.events.size());
    for (size_t i = 0; i < whole.events.size(); ++i) {
      EXPECT_EQ(show(split.events[i]), show(whole.events[i]));
    }
    EXPECT_EQ(split.error, whole.error);
    EXPECT_EQ(split.finish, whole.finish);
    EXPECT_EQ(split.comments, whole.comments);
  }
}

TEST(SseReader, ManyTokensPerSecond) {
  // A guard against accidental quadratic or per-byte work, not a benchmark: 200k realistic
  // chunk events in reads of ~1.5 KiB must parse well within a generous time.
  std::string one =
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
      "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" the\"},"
      "\"logprobs\":{\"content\":[{\"token\":\" the\",\"logprob\":-0.01,\"bytes\":[32,116,104,"
      "101],\"top_logprobs\":[]}]},\"finish_reason\":null}]}\n\n";
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += one;
  SseReader r;
  int64_t n = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int rep = 0; rep < 200; ++rep) {
    for (size_t pos = 0; pos < stream.size(); pos += 1500) {
      ASSERT_TRUE(r.feed(std::string_view(stream).substr(pos, 1500), 0,
                         [&](SseEvent&&) { ++n; }).ok());
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(n, 200000);
  EXPECT_LT(secs, 5.0);
  RecordProperty("events_per_second", std::to_string(int64_t(double(n) / secs)));
}

}  // namespace
}  // namespace cacheon

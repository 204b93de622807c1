// The fingerprint's tar parser on hostile input (runner/tar_reader.h): truncation, corrupt
// headers, unsupported types, escapes through "..", and every bound ("fingerprint_too_large").
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/sha256.h"
#include "runner/fingerprint.h"
#include "runner/tar_reader.h"
#include "tar_fixture.h"

namespace cacheon::runner {
namespace {

using namespace cacheon::runner::testing;

TEST(RunnerFingerprintErrors, MalformedStreamsAreInvalid) {
  TarWriter full = base(std::string(2000, 'q'));
  full.end();
  // Cut anywhere before the end marker: an error at finish (never a partial fingerprint).
  for (size_t cut : {size_t{0}, size_t{100}, size_t{512}, size_t{1500}, full.out.size() - 1024,
                     full.out.size() - 512, full.out.size() - 1})
    expect_error(std::string_view(full.out).substr(0, cut), "fingerprint_invalid");

  TarWriter bad_sum;
  Hdr h;
  h.name = "f";
  h.checksum_delta = 1;
  bad_sum.header(h);
  bad_sum.end();
  expect_error(bad_sum.out, "fingerprint_invalid");

  auto one = [](Hdr hd, std::string_view data = "") {
    TarWriter w;
    w.header(hd);
    w.data(data);
    w.end();
    return w.out;
  };
  struct Case {
    std::string name;
    std::string tar;
  };
  std::vector<Case> cases;
  Hdr dotdot;
  dotdot.name = "usr/../../etc/passwd";
  cases.push_back({"dotdot", one(dotdot)});
  Hdr dotdot_link;
  dotdot_link.name = "a";
  dotdot_link.type = '1';
  dotdot_link.link = "../x";
  cases.push_back({"hardlink to ..", one(dotdot_link)});
  Hdr sparse;
  sparse.name = "s";
  sparse.type = 'S';
  cases.push_back({"sparse type", one(sparse)});
  Hdr vendor;
  vendor.name = "v";
  vendor.type = 'A';
  cases.push_back({"vendor type", one(vendor)});
  {
    TarWriter w;
    w.pax({{"path", "../escape"}});
    w.file("x", "1");
    w.end();
    cases.push_back({"pax path with ..", w.out});
  }
  {
    TarWriter w;
    w.pax({{"GNU.sparse.map", "0,1"}});
    w.file("x", "1");
    w.end();
    cases.push_back({"pax sparse", w.out});
  }
  {
    TarWriter w;  // a record whose length overruns the data
    Hdr p;
    p.name = "p";
    p.type = 'x';
    p.size = 10;
    w.header(p);
    w.data("99 path=a\n");
    w.file("x", "1");
    w.end();
    cases.push_back({"pax length overrun", w.out});
  }
  {
    TarWriter w;
    Hdr p;
    p.name = "p";
    p.type = 'x';
    p.size = 9;
    w.header(p);
    w.data("9 path=a ");  // no newline at the end of the record
    w.end();
    cases.push_back({"pax record without newline", w.out});
  }
  {
    std::string tar = one(Hdr{.name = "f"});
    tar[257] = 'X';  // magic
    fix_checksum(tar);
    cases.push_back({"bad magic", tar});
  }
  {
    TarWriter w;
    w.file("a", "1");
    w.out.append(512, '\0');
    w.file("b", "2");
    w.end();
    cases.push_back({"a lone zero block", w.out});
  }
  {
    TarWriter w;  // a size field with a non-octal digit
    Hdr f;
    f.name = "f";
    w.header(f);
    w.end();
    w.out[124 + 5] = '9';
    fix_checksum(w.out);  // only the size is wrong
    cases.push_back({"size not octal", w.out});
  }
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    expect_error(tc.tar, "fingerprint_invalid");
  }
}

TEST(RunnerFingerprintErrors, BoundsAreTooLarge) {
  // An entry claiming more bytes than the limit: rejected at its header, before any data.
  {
    Hdr h;
    h.name = "huge";
    h.size = int64_t{1} << 40;
    h.base256_size = true;
    TarWriter w;
    w.header(h);
    expect_error(w.out, "fingerprint_too_large");
  }
  {
    Hdr h;
    h.name = "huge";
    h.size = 077777777777;  // the largest octal size: 8 GiB
    TarWriter w;
    w.header(h);
    FingerprintLimits small;
    small.max_bytes = 1 << 20;
    expect_error(w.out, "fingerprint_too_large", small);
  }
  {
    TarWriter w;
    w.pax({{"size", "99999999999999999999999"}});
    expect_error(w.out, "fingerprint_too_large");
  }
  {
    TarWriter w;  // the stream itself over max_bytes
    w.file("a", std::string(4096, 'a'));
    w.end();
    FingerprintLimits small;
    small.max_bytes = 4096;
    expect_error(w.out, "fingerprint_too_large", small);
  }
  {
    TarWriter w;  // more entries than allowed; excluded and directory entries count too
    w.file("a", "1");
    w.entry("d/", '5');
    w.file("tmp/x", "1");
    w.end();
    FingerprintLimits small;
    small.max_entries = 2;
    expect_error(w.out, "fingerprint_too_large", small);
    small.max_entries = 3;
    EXPECT_TRUE(fingerprint(w.out, small).ok());
  }
  {
    TarWriter w;  // a metadata record over 1 MiB
    w.gnu_long('L', std::string(2 << 20, 'n'));
    expect_error(w.out, "fingerprint_too_large");
  }
  {
    TarWriter w;  // the in-memory index
    for (int i = 0; i < 50; ++i) w.file("file-" + std::to_string(i), "");
    w.end();
    FingerprintLimits small;
    small.max_index_bytes = 1000;
    expect_error(w.out, "fingerprint_too_large", small);
  }
}

TEST(RunnerFingerprintErrors, ErrorsAreSticky) {
  TarWriter w;
  Hdr h;
  h.name = "f";
  h.checksum_delta = 3;
  w.header(h);
  TarFingerprinter fp;
  Status s = fp.feed(w.out);
  ASSERT_FALSE(s);
  TarWriter good;
  good.file("g", "x");
  good.end();
  Status again = fp.feed(good.out);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, s.error().code);
  Result<Fingerprint> r = fp.finish();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "fingerprint_invalid");
}

TEST(RunnerFingerprintErrors, NormalizeTarPath) {
  struct Case {
    std::string in, out;  // out "!" = invalid
  };
  const Case cases[] = {
      {"a", "a"},       {"./a", "a"},        {"/a", "a"},           {"//a//b/", "a/b"},
      {"./././a", "a"}, {"a/./b", "a/b"},    {".", ""},             {"/", ""},
      {"./", ""},       {"", ""},            {"..a/b..", "..a/b.."}, {".hidden", ".hidden"},
      {"..", "!"},      {"a/../b", "!"},     {"a/..", "!"},         {"/../etc", "!"},
  };
  for (const Case& tc : cases) {
    Result<std::string> r = normalize_tar_path(tc.in);
    if (tc.out == "!") {
      ASSERT_FALSE(r.ok()) << tc.in;
      EXPECT_EQ(r.error().code, "fingerprint_invalid");
    } else {
      ASSERT_TRUE(r.ok()) << tc.in;
      EXPECT_EQ(*r, tc.out) << tc.in;
    }
  }
}

TEST(RunnerFingerprintErrors, EmptyArchive) {
  std::string tar(1024, '\0');
  Result<Fingerprint> r = fingerprint(tar);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files, 0);
  EXPECT_EQ(r->digest, "sha256:" + sha256_hex(""));
  expect_error(std::string(512, '\0'), "fingerprint_invalid");  // half an end marker
}

}  // namespace
}  // namespace cacheon::runner

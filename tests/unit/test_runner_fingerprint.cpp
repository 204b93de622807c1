// The container content fingerprint (runner/fingerprint.h) over tars built here byte by byte:
// what changes it and what does not. Malformed streams and bounds: test_runner_fingerprint_errors.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/sha256.h"
#include "runner/fingerprint.h"
#include "tar_fixture.h"

namespace cacheon::runner {
namespace {

using namespace cacheon::runner::testing;

TEST(RunnerFingerprint, DigestShapeAndCounts) {
  TarWriter w = base();
  w.end();
  Result<Fingerprint> r = fingerprint(w.out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->digest.size(), 7u + 64);
  EXPECT_EQ(r->digest.substr(0, 7), "sha256:");
  EXPECT_EQ(r->files, 5);  // server, config, symlink, hard link, fifo: dirs do not count
  EXPECT_EQ(r->bytes, int64_t(std::strlen("ELF server bytes") + std::strlen("port = 8000\n")));
}

TEST(RunnerFingerprint, MatchesTheDocumentedLineFormat) {
  TarWriter w;
  w.file("b", "B", 0600);
  w.file("./a", "A");
  w.entry("l", '2', "/abs/target", 0777);
  w.end();
  std::string lines = line("a", '0', "644", 1, sha256_hex("A")) +
                      line("b", '0', "600", 1, sha256_hex("B")) +
                      line("l", '2', "777", 0, "/abs/target");
  EXPECT_EQ(digest_of(w.out), "sha256:" + sha256_hex(lines));
}

TEST(RunnerFingerprint, WhatChangesItAndWhatDoesNot) {
  TarWriter ref = base();
  ref.end();
  const std::string d0 = digest_of(ref.out);

  TarWriter reordered;
  reordered.entry("./run-fifo", '6', "", 0600);
  reordered.entry("./usr/bin/server2", '1', "usr/bin/server");
  reordered.file("etc/config.toml", "port = 8000\n");
  reordered.entry("/usr/bin/srv", '2', "server", 0777);
  reordered.file("usr//bin/server", "ELF server bytes", 0755);
  reordered.end();
  EXPECT_EQ(digest_of(reordered.out), d0) << "order, ./ and / prefixes, // and dirs";

  TarWriter owners;  // same files, other owners, times, user names, GNU magic
  Hdr h;
  h.name = "usr/bin/server";
  h.mode = 0755;
  h.size = 16;
  h.uid = 1000;
  h.gid = 1000;
  h.mtime = 42;
  h.uname = "miner";
  h.magic = Hdr::gnu;
  owners.header(h);
  owners.data("ELF server bytes");
  owners.file("etc/config.toml", "port = 8000\n");
  owners.entry("usr/bin/srv", '2', "server", 0777);
  owners.entry("usr/bin/server2", '1', "usr/bin/server");
  owners.entry("run-fifo", '6', "", 0600);
  owners.end();
  EXPECT_EQ(digest_of(owners.out), d0) << "owners and times";

  TarWriter byte = base("ELF server bytez");
  byte.end();
  EXPECT_NE(digest_of(byte.out), d0) << "one content byte";

  TarWriter mode = base("ELF server bytes", 0750);
  mode.end();
  EXPECT_NE(digest_of(mode.out), d0) << "mode";

  TarWriter extra = base();
  extra.file("usr/bin/extra", "");
  extra.end();
  EXPECT_NE(digest_of(extra.out), d0) << "an extra empty file";

  TarWriter link = base();
  link.entry("usr/bin/srv", '2', "server2", 0777);  // the same path again: the last one wins
  link.end();
  EXPECT_NE(digest_of(link.out), d0) << "a symlink target";

  TarWriter type = base();
  type.entry("run-fifo", '3', "", 0600);
  type.end();
  EXPECT_NE(digest_of(type.out), d0) << "a special file's type";

  TarWriter dirs = base();
  dirs.entry("var/", '5');
  dirs.entry("usr/", '5', "", 0700);
  dirs.end();
  EXPECT_EQ(digest_of(dirs.out), d0) << "directories do not contribute";
}

TEST(RunnerFingerprint, ExcludedPathsAreIgnored) {
  TarWriter ref = base();
  ref.end();
  const std::string d0 = digest_of(ref.out);
  TarWriter w = base();
  for (const char* p :
       {"models/model.safetensors", "proc/1/status", "sys/x", "dev/null", "tmp/cache.bin",
        "run/.containerenv", "etc/hosts", "etc/hostname", "etc/resolv.conf", ".containerenv",
        ".dockerenv", "./tmp/deep/er/file", "/models/x"})
    w.file(p, std::string("injected ") + p);
  w.entry("etc/mtab", '2', "/proc/mounts", 0777);
  w.end();
  EXPECT_EQ(digest_of(w.out), d0);

  // A prefix matches whole components only.
  for (const char* p : {"modelsx", "etc/hosts.allow", "tmpfile", "usr/tmp/a", "devices"}) {
    TarWriter near = base();
    near.file(p, "x");
    near.end();
    EXPECT_NE(digest_of(near.out), d0) << p;
  }

  // Custom exclusions, written with or without a leading slash.
  TarWriter custom = base();
  custom.file("var/log/a.log", "log");
  custom.end();
  TarFingerprinter fp({}, {"/var/log"});
  ASSERT_TRUE(fp.feed(custom.out));
  Result<Fingerprint> r = fp.finish();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->digest, d0);
}

TEST(RunnerFingerprint, PiecesOfAnySizeGiveTheSameDigest) {
  TarWriter w = base(std::string(5000, 'x'));
  w.pax({{"path", "usr/lib/" + std::string(300, 'p')}});
  w.file("ignored-name", "pax named");
  w.end();
  w.out.append(9216, '\0');  // record padding after the end marker
  const std::string d0 = digest_of(w.out);
  for (size_t piece : {1, 7, 511, 512, 513, 4096}) {
    Result<Fingerprint> r = fingerprint(w.out, {}, piece);
    ASSERT_TRUE(r.ok()) << piece << ": " << r.error().message;
    EXPECT_EQ(r->digest, d0) << piece;
  }
}

TEST(RunnerFingerprint, LongNamesGnuAndPaxAndPrefix) {
  const std::string long_dir = "usr/lib/python3/site-packages/" + std::string(120, 'd');
  const std::string long_name = long_dir + "/module.py";
  std::string lines = line(long_dir + "/link", '2', "777", 0, std::string(200, 't')) +
                      line(long_name, '0', "644", 4, sha256_hex("code"));
  const std::string expected = "sha256:" + sha256_hex(lines);

  TarWriter gnu;
  gnu.gnu_long('L', long_name);
  gnu.file("truncated", "code");
  gnu.gnu_long('K', std::string(200, 't'));
  gnu.gnu_long('L', long_dir + "/link");
  gnu.entry("x", '2', "short", 0777);
  gnu.end();
  EXPECT_EQ(digest_of(gnu.out), expected);

  TarWriter pax;
  pax.pax({{"path", long_name}, {"mtime", "1.5"}, {"SCHILY.xattr.user.x", "y"}});
  pax.file("truncated", "code");
  pax.pax({{"comment", "global"}}, 'g');
  pax.pax({{"linkpath", std::string(200, 't')}, {"path", long_dir + "/link"}});
  pax.entry("x", '2', "short", 0777);
  pax.end();
  EXPECT_EQ(digest_of(pax.out), expected);

  TarWriter prefix;  // POSIX ustar prefix field + name
  Hdr h;
  h.prefix = long_dir;
  h.name = "module.py";
  h.size = 4;
  prefix.header(h);
  prefix.data("code");
  prefix.gnu_long('K', std::string(200, 't'));
  prefix.pax({{"path", long_dir + "/link"}});
  prefix.entry("x", '2', "", 0777);
  prefix.end();
  EXPECT_EQ(digest_of(prefix.out), expected);
}

TEST(RunnerFingerprint, PaxAndBase256Sizes) {
  TarWriter ref;
  ref.file("f", std::string(700, 'z'));
  ref.end();
  const std::string d0 = digest_of(ref.out);

  TarWriter b256;
  Hdr h;
  h.name = "f";
  h.size = 700;
  h.base256_size = true;
  b256.header(h);
  b256.data(std::string(700, 'z'));
  b256.end();
  EXPECT_EQ(digest_of(b256.out), d0);

  TarWriter pax;  // the pax size overrides the header's
  pax.pax({{"size", "700"}});
  h.base256_size = false;
  h.size = 0;
  pax.header(h);
  pax.data(std::string(700, 'z'));
  pax.end();
  EXPECT_EQ(digest_of(pax.out), d0);
}

}  // namespace
}  // namespace cacheon::runner

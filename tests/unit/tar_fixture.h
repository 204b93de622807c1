// Shared by test_runner_fingerprint*.cpp: a tiny tar writer (ustar, GNU long names, pax, base-256
// sizes, corruptible checksums) and helpers that run TarFingerprinter over what it writes.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runner/fingerprint.h"

namespace cacheon::runner::testing {

// One tar header's fields; defaults give a POSIX ustar regular file.
struct Hdr {
  std::string name;
  char type = '0';
  unsigned mode = 0644;
  int64_t size = 0;
  std::string link;
  std::string prefix;
  unsigned uid = 0, gid = 0;
  int64_t mtime = 1700000000;
  std::string uname = "root";
  enum { posix, gnu, v7 } magic = posix;
  bool base256_size = false;
  int checksum_delta = 0;  // corrupt the checksum by this much
};

inline void put_octal(std::string& b, size_t off, size_t len, int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*llo", int(len - 1), static_cast<long long>(v));
  std::memcpy(&b[off], buf, len - 1);  // last byte stays NUL
}

// Rewrites a header block's checksum after a test edited the block.
inline void fix_checksum(std::string& tar, size_t block_off = 0) {
  std::memset(&tar[block_off + 148], ' ', 8);
  int64_t sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(tar[block_off + i]);
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06llo", static_cast<long long>(sum));
  std::memcpy(&tar[block_off + 148], buf, 7);
}

// One fingerprint line as fingerprint.h documents it.
inline std::string line(const std::string& path, char type, const std::string& mode, int64_t size,
                 const std::string& tail) {
  std::string l = path;
  l += '\0';
  l += type;
  l += '\0';
  l += mode;
  l += '\0';
  l += std::to_string(size);
  l += '\0';
  l += tail;
  l += '\n';
  return l;
}

// A tiny tar writer: enough of ustar/GNU/pax to build every case below.
struct TarWriter {
  std::string out;

  void header(const Hdr& h) {
    std::string b(512, '\0');
    std::memcpy(&b[0], h.name.data(), std::min<size_t>(h.name.size(), 100));
    put_octal(b, 100, 8, h.mode);
    put_octal(b, 108, 8, h.uid);
    put_octal(b, 116, 8, h.gid);
    if (h.base256_size) {
      b[124] = char(0x80);
      for (int i = 0; i < 8; ++i) b[135 - i] = char((h.size >> (8 * i)) & 0xff);
    } else {
      put_octal(b, 124, 12, h.size);
    }
    put_octal(b, 136, 12, h.mtime);
    b[156] = h.type;
    std::memcpy(&b[157], h.link.data(), std::min<size_t>(h.link.size(), 100));
    if (h.magic == Hdr::posix) std::memcpy(&b[257], "ustar\0" "00", 8);
    if (h.magic == Hdr::gnu) std::memcpy(&b[257], "ustar  \0", 8);
    std::memcpy(&b[265], h.uname.data(), std::min<size_t>(h.uname.size(), 32));
    std::memcpy(&b[345], h.prefix.data(), std::min<size_t>(h.prefix.size(), 155));
    std::memset(&b[148], ' ', 8);
    int64_t sum = 0;
    for (unsigned char c : b) sum += c;
    sum += h.checksum_delta;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06llo", static_cast<long long>(sum));
    std::memcpy(&b[148], buf, 7);  // six digits, NUL, then the space already there
    out += b;
  }
  void data(std::string_view content) {
    out.append(content);
    out.append((512 - content.size() % 512) % 512, '\0');
  }
  void file(const std::string& name, std::string_view content, unsigned mode = 0644) {
    Hdr h;
    h.name = name;
    h.mode = mode;
    h.size = static_cast<int64_t>(content.size());
    header(h);
    data(content);
  }
  void entry(const std::string& name, char type, std::string link = "", unsigned mode = 0755) {
    Hdr h;
    h.name = name;
    h.type = type;
    h.link = std::move(link);
    h.mode = mode;
    header(h);
  }
  void gnu_long(char type, const std::string& value) {
    Hdr h;
    h.name = "././@LongLink";
    h.type = type;
    h.magic = Hdr::gnu;
    h.size = static_cast<int64_t>(value.size() + 1);
    header(h);
    data(value + '\0');
  }
  void pax(const std::vector<std::pair<std::string, std::string>>& kv, char type = 'x') {
    std::string records;
    for (const auto& [k, v] : kv) {
      std::string body = " " + k + "=" + v + "\n";
      size_t len = body.size() + 1;
      while (std::to_string(len).size() + body.size() != len) ++len;
      records += std::to_string(len) + body;
    }
    Hdr h;
    h.name = "PaxHeaders/x";
    h.type = type;
    h.size = static_cast<int64_t>(records.size());
    header(h);
    data(records);
  }
  void end() { out.append(1024, '\0'); }
};

// Feeds `tar` in pieces of `piece` bytes (0: all at once).
inline Result<Fingerprint> fingerprint(std::string_view tar, FingerprintLimits limits = {},
                                       size_t piece = 0) {
  TarFingerprinter fp(limits);
  if (piece == 0) piece = tar.size() + 1;
  for (size_t i = 0; i < tar.size(); i += piece) {
    if (Status s = fp.feed(tar.substr(i, piece)); !s) return s.error();
  }
  return fp.finish();
}

inline std::string digest_of(std::string_view tar) {
  Result<Fingerprint> r = fingerprint(tar);
  EXPECT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
  return r.ok() ? r->digest : "error";
}

// The reference image: a server binary, a config, a symlink, a hard link, a fifo, dirs.
inline TarWriter base(std::string_view server = "ELF server bytes", unsigned mode = 0755) {
  TarWriter w;
  w.entry("./", '5');
  w.entry("./usr/", '5');
  w.entry("./usr/bin/", '5');
  w.file("./usr/bin/server", server, mode);
  w.file("./etc/config.toml", "port = 8000\n");
  w.entry("./usr/bin/srv", '2', "server", 0777);
  w.entry("./usr/bin/server2", '1', "./usr/bin/server");
  w.entry("./run-fifo", '6', "", 0600);
  return w;
}

// Every piece size fails with `code`.
inline void expect_error(std::string_view tar, const std::string& code,
                         FingerprintLimits limits = {}) {
  for (size_t piece : {size_t{0}, size_t{1}, size_t{100}}) {
    Result<Fingerprint> r = fingerprint(tar, limits, piece);
    ASSERT_FALSE(r.ok()) << "piece " << piece << " accepted: " << r->digest;
    EXPECT_EQ(r.error().code, code) << r.error().message;
  }
}

}  // namespace cacheon::runner::testing

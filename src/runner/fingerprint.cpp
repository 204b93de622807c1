#include "runner/fingerprint.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "core/sha256.h"
#include "runner/tar_reader.h"

namespace cacheon::runner {
namespace {

struct EvpFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using EvpCtx = std::unique_ptr<EVP_MD_CTX, EvpFree>;

std::string octal(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%o", v);
  return buf;
}

bool excluded(const std::string& path, const std::vector<std::string>& prefixes) {
  for (const std::string& p : prefixes) {
    if (path.size() >= p.size() && path.compare(0, p.size(), p) == 0 &&
        (path.size() == p.size() || path[p.size()] == '/'))
      return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> default_fingerprint_exclusions() {
  return {"models",     "proc",          "sys",         "dev",           "tmp",
          "run",        "etc/hosts",     "etc/hostname", "etc/resolv.conf", "etc/mtab",
          ".containerenv", ".dockerenv"};
}

struct TarFingerprinter::Impl final : TarVisitor {
  Impl(FingerprintLimits l, std::vector<std::string> ex)
      : limits(l), reader(TarLimits{l.max_bytes, l.max_entries}, *this), ctx(EVP_MD_CTX_new()) {
    CACHEON_ASSERT(ctx != nullptr);
    for (const std::string& e : ex) {
      Result<std::string> n = normalize_tar_path(e);
      if (n.ok() && !n->empty()) exclusions.push_back(std::move(*n));
    }
  }

  Status begin(const TarEntry& e) override {
    hashing = false;
    current.clear();
    Result<std::string> path = normalize_tar_path(e.path);
    if (!path) return path.error();
    if (path->empty() || e.type == '5' || excluded(*path, exclusions)) return Status::Ok();
    current_path = std::move(*path);
    current = std::string(1, e.type) + '\0' + octal(e.mode) + '\0' + std::to_string(e.size) + '\0';
    if (e.type == '1') {
      // A hard link names another archive member: same normalisation.
      Result<std::string> target = normalize_tar_path(e.link);
      if (!target) return target.error();
      current += *target;
    } else if (e.type == '2') {
      current += e.link;  // a symlink's target is content, kept verbatim
    } else if (e.type == '0') {
      CACHEON_ASSERT(EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1);
      hashing = true;
    }
    return Status::Ok();
  }

  void content(std::string_view bytes) override {
    if (!hashing) return;
    CACHEON_ASSERT(EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) == 1);
    content_bytes += static_cast<int64_t>(bytes.size());
  }

  Status end() override {
    if (current.empty()) return Status::Ok();
    if (hashing) {
      Sha256Digest d{};
      unsigned int len = 0;
      CACHEON_ASSERT(EVP_DigestFinal_ex(ctx.get(), d.data(), &len) == 1 && len == d.size());
      current += hex_encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
      hashing = false;
    }
    index_bytes += static_cast<int64_t>(current_path.size() + current.size() + 64);
    if (index_bytes > limits.max_index_bytes)
      return Error{"fingerprint_too_large", "the export's file index is over " +
                                                std::to_string(limits.max_index_bytes) + " bytes"};
    lines.emplace_back(std::move(current_path), std::move(current));
    current.clear();
    return Status::Ok();
  }

  Result<Fingerprint> finish() {
    if (Status s = reader.finish(); !s) return s.error();
    // By path; a path archived twice counts once, as its last entry (what extraction leaves).
    std::stable_sort(lines.begin(), lines.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    EvpCtx all(EVP_MD_CTX_new());
    CACHEON_ASSERT(all && EVP_DigestInit_ex(all.get(), EVP_sha256(), nullptr) == 1);
    Fingerprint fp;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i + 1 < lines.size() && lines[i + 1].first == lines[i].first) continue;
      const auto& [path, rest] = lines[i];
      CACHEON_ASSERT(EVP_DigestUpdate(all.get(), path.data(), path.size()) == 1);
      CACHEON_ASSERT(EVP_DigestUpdate(all.get(), "\0", 1) == 1);
      CACHEON_ASSERT(EVP_DigestUpdate(all.get(), rest.data(), rest.size()) == 1);
      CACHEON_ASSERT(EVP_DigestUpdate(all.get(), "\n", 1) == 1);
      ++fp.files;
    }
    Sha256Digest d{};
    unsigned int len = 0;
    CACHEON_ASSERT(EVP_DigestFinal_ex(all.get(), d.data(), &len) == 1);
    fp.digest = "sha256:" + hex_encode(std::string_view(reinterpret_cast<const char*>(d.data()),
                                                        d.size()));
    fp.bytes = content_bytes;
    return fp;
  }

  FingerprintLimits limits;
  std::vector<std::string> exclusions;
  TarReader reader;
  EvpCtx ctx;
  // The entry being read: its path and the rest of its line ("" when it does not contribute).
  std::string current_path, current;
  bool hashing = false;
  int64_t content_bytes = 0, index_bytes = 0;
  std::vector<std::pair<std::string, std::string>> lines;  // (path, "type\0mode\0size\0x")
};

TarFingerprinter::TarFingerprinter(FingerprintLimits limits, std::vector<std::string> exclusions)
    : impl_(std::make_unique<Impl>(limits, std::move(exclusions))) {}

TarFingerprinter::~TarFingerprinter() = default;

Status TarFingerprinter::feed(std::string_view bytes) { return impl_->reader.feed(bytes); }

Result<Fingerprint> TarFingerprinter::finish() { return impl_->finish(); }

}  // namespace cacheon::runner

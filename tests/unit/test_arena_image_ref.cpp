// Image references, digests and transfer ids: the grammar table (arena/image_ref.h).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "arena/image_ref.h"

namespace cacheon::arena {
namespace {

const std::string kHex(64, 'a');
const std::string kDigest = "sha256:" + kHex;

struct RefCase {
  std::string ref;
  bool ok;
  std::string host, repository, tag, digest;              // expected when ok
  std::string code = std::string(image_code::kBadImage);  // expected when !ok
};

TEST(ArenaImageRef, GrammarTable) {
  const std::string long_component(256, 'a');
  const std::string max_name = std::string(255, 'a');
  const RefCase cases[] = {
      {"ubuntu", true, "", "ubuntu", "", ""},
      {"ubuntu:22.04", true, "", "ubuntu", "22.04", ""},
      {"library/ubuntu", true, "", "library/ubuntu", "", ""},
      {"ghcr.io/acme/fast-server", true, "ghcr.io", "acme/fast-server", "", ""},
      {"ghcr.io/acme/fast-server:v1.2_rc-3", true, "ghcr.io", "acme/fast-server", "v1.2_rc-3", ""},
      {"ghcr.io/acme/srv@" + kDigest, true, "ghcr.io", "acme/srv", "", kDigest},
      {"ghcr.io/acme/srv:latest@" + kDigest, true, "ghcr.io", "acme/srv", "latest", kDigest},
      {"localhost:5000/srv", true, "localhost:5000", "srv", "", ""},
      {"localhost/srv", true, "localhost", "srv", "", ""},
      {"localhost:5000", true, "", "localhost", "5000", ""},  // Docker reads a tag here too
      {"registry.example.com:443/a/b/c", true, "registry.example.com:443", "a/b/c", "", ""},
      {"10.0.0.1:5000/x", true, "10.0.0.1:5000", "x", "", ""},
      {"a.b/c__d/e---f/g.h/i_j", true, "a.b", "c__d/e---f/g.h/i_j", "", ""},
      {"foo.bar", true, "", "foo.bar", "", ""},  // one part: a repository, not a host
      {"a:" + std::string(128, 't'), true, "", "a", std::string(128, 't'), ""},
      {max_name, true, "", max_name, "", ""},
      // rejected
      {"", false},
      {"Ubuntu", false},            // uppercase path
      {"GHCR.io/acme/srv", false},  // uppercase host (stricter than OCI)
      {"ghcr.io/Acme/srv", false},
      {"ghcr.io//srv", false},       // empty component
      {"ghcr.io/acme/srv/", false},  // trailing slash
      {"/srv", false},
      {"-srv", false},   // leading separator
      {"srv-", false},   // trailing separator
      {"a..b", false},   // two dots
      {"a___b", false},  // three underscores
      {"a_.b", false},   // mixed separators
      {"a b", false},
      {"a/b c", false},
      {"ghcr.io:0/a", false},  // port out of range
      {"ghcr.io:65536/a", false},
      {"ghcr.io:123456/a", false},
      {"ghcr.io:/a", false},
      {"ghcr.io:8x/a", false},
      {"-ghcr.io/a", false},  // bad host label
      {"gh_cr.io/a", false},
      {"[::1]:5000/a", false},  // IPv6 literals unsupported
      {"srv:", false},          // empty tag
      {"srv:-bad", false},      // tag starts with '-'
      {"srv:" + std::string(129, 't'), false},
      {"srv:a/b", false},  // '/' after ':' makes it part of the path
      {"srv@sha256:" + std::string(63, 'a'), false, "", "", "", "",
       std::string(image_code::kBadDigest)},
      {"srv@sha256:" + std::string(64, 'A'), false, "", "", "", "",
       std::string(image_code::kBadDigest)},
      {"srv@sha512:" + std::string(64, 'a'), false, "", "", "", "",
       std::string(image_code::kBadDigest)},
      {"srv@" + kDigest + "@" + kDigest, false, "", "", "", "",
       std::string(image_code::kBadDigest)},
      {"srv@", false, "", "", "", "", std::string(image_code::kBadDigest)},
      {"@" + kDigest, false},
      {std::string(256, 'a'), false},  // name > 255
      {"a/" + long_component, false},
      {std::string(600, 'a'), false},  // whole reference too long
      {std::string("sr\0v", 4), false},
      {"sr\xc3\xa9v", false},  // non-ASCII
  };
  for (const RefCase& c : cases) {
    SCOPED_TRACE(c.ref);
    Result<ImageRef> r = parse_image_reference(c.ref);
    ASSERT_EQ(r.ok(), c.ok) << (r.ok() ? "" : r.error().message);
    if (c.ok) {
      EXPECT_EQ(r->host, c.host);
      EXPECT_EQ(r->repository, c.repository);
      EXPECT_EQ(r->tag, c.tag);
      EXPECT_EQ(r->digest, c.digest);
      EXPECT_EQ(r->name(), c.host.empty() ? c.repository : c.host + "/" + c.repository);
    } else {
      EXPECT_EQ(r.error().code, c.code);
      EXPECT_FALSE(r.error().message.empty());
      EXPECT_LT(r.error().message.size(), 400u);  // hostile input is shortened in messages
    }
  }
}

TEST(ArenaImageRef, DigestTable) {
  EXPECT_TRUE(is_valid_digest(kDigest));
  EXPECT_TRUE(
      is_valid_digest("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  const std::string bad[] = {
      "",
      "sha256:",
      "sha256:" + std::string(63, 'a'),
      "sha256:" + std::string(65, 'a'),
      "sha256:" + std::string(63, 'a') + "g",
      "sha256:" + std::string(63, 'a') + "A",
      "SHA256:" + kHex,
      "sha512:" + kHex,
      kHex,
      " sha256:" + kHex,
      "sha256:" + kHex + "\n",
  };
  for (const std::string& d : bad) {
    SCOPED_TRACE(d);
    EXPECT_FALSE(is_valid_digest(d));
    Status s = validate_digest(d);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, image_code::kBadDigest);
  }
  EXPECT_TRUE(validate_digest(kDigest).ok());
}

TEST(ArenaImageRef, TransferIdTable) {
  EXPECT_TRUE(validate_transfer_id("0x" + kHex).ok());
  EXPECT_TRUE(validate_transfer_id("0x" + std::string(64, '0')).ok());
  const std::string bad[] = {
      "",          "0x",        "0x" + std::string(63, 'a'), "0x" + std::string(65, 'a'),
      "0X" + kHex, kHex + "00", "0x" + std::string(64, 'A'), "0x" + std::string(63, 'a') + "z"};
  for (const std::string& id : bad) {
    SCOPED_TRACE(id);
    Status s = validate_transfer_id(id);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, image_code::kBadTransferId);
  }
}

TEST(ArenaImageRef, PinnedReferenceDropsTagAndKeepsDigest) {
  EXPECT_EQ(*pinned_reference("ghcr.io/a/b", kDigest), "ghcr.io/a/b@" + kDigest);
  EXPECT_EQ(*pinned_reference("ghcr.io/a/b:v1", kDigest), "ghcr.io/a/b@" + kDigest);
  EXPECT_EQ(*pinned_reference("localhost:5000/b:v1@" + kDigest, kDigest),
            "localhost:5000/b@" + kDigest);
  // The reference's own digest must agree with the submission's.
  const std::string other = "sha256:" + std::string(64, 'b');
  Result<std::string> mismatch = pinned_reference("a/b@" + other, kDigest);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().code, image_code::kBadDigest);
  EXPECT_EQ(pinned_reference("A/b", kDigest).error().code, image_code::kBadImage);
  EXPECT_EQ(pinned_reference("a/b", "sha256:xyz").error().code, image_code::kBadDigest);
}

// Random strings over the grammar's alphabet: parsing never crashes, and whatever parses is
// stable (its name re-parses to itself, with no tag or digest).
TEST(ArenaImageRef, RandomReferencesAreStable) {
  const std::string alphabet = "abz09.-_/:@Asha256";
  uint64_t state = 11;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return uint32_t(state >> 33);
  };
  int accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string ref;
    const size_t n = 1 + next() % 24;
    for (size_t i = 0; i < n; ++i) ref += alphabet[next() % alphabet.size()];
    Result<ImageRef> r = parse_image_reference(ref);
    if (!r.ok()) continue;
    ++accepted;
    Result<ImageRef> again = parse_image_reference(r->name());
    ASSERT_TRUE(again.ok()) << ref;
    EXPECT_EQ(again->name(), r->name()) << ref;
    EXPECT_TRUE(again->tag.empty()) << ref;
    EXPECT_TRUE(again->digest.empty()) << ref;
  }
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace cacheon::arena

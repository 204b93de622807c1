// Commitment payloads (strict parse, canonical serialize) and commitments -> submissions.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "arena/submission.h"
#include "ledger/ledger.h"

namespace cacheon::arena {
namespace {

static_assert(kMaxCommitmentBytes == ledger::kMaxCommitmentBytes);

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kDigest2 = "sha256:" + std::string(64, 'b');
const std::string kProof = "0x" + std::string(64, 'c');
const std::string kProof2 = "0x" + std::string(64, 'd');

std::string payload(const std::string& image, const std::string& digest = kDigest,
                    const std::string& proof = kProof) {
  return *serialize_commitment({kCommitmentVersion, image, digest, proof});
}

TEST(ArenaSubmission, SerializeIsCanonicalAndRoundTrips) {
  const std::string s = payload("ghcr.io/a/b:v1");
  EXPECT_EQ(s, R"({"digest":")" + kDigest + R"(","image":"ghcr.io/a/b:v1","payment_proof":")" +
                   kProof + R"(","version":1})");
  Result<CommitmentPayload> p = parse_commitment(s);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->version, 1);
  EXPECT_EQ(p->image, "ghcr.io/a/b:v1");
  EXPECT_EQ(p->digest, kDigest);
  EXPECT_EQ(p->payment_proof, kProof);
  // Whitespace and key order are free on input.
  const std::string spaced = " {\n \"version\" : 1, \"payment_proof\":\"" + kProof +
                             "\", \"image\":\"a/b\", \"digest\":\"" + kDigest + "\" }\n";
  EXPECT_TRUE(parse_commitment(spaced).ok());
}

TEST(ArenaSubmission, SerializeRefusesWhatParseWouldReject) {
  EXPECT_EQ(serialize_commitment({1, "A/b", kDigest, kProof}).error().code, image_code::kBadImage);
  EXPECT_EQ(serialize_commitment({1, "a/b", "sha256:00", kProof}).error().code,
            image_code::kBadDigest);
  EXPECT_EQ(serialize_commitment({1, "a/b", kDigest, "0x12"}).error().code,
            image_code::kBadTransferId);
  EXPECT_EQ(serialize_commitment({2, "a/b", kDigest, kProof}).error().code,
            submission_code::kBadVersion);
  EXPECT_EQ(serialize_commitment({1, "a/b@" + kDigest2, kDigest, kProof}).error().code,
            submission_code::kDigestMismatch);
  // The longest valid reference still fits the ledger's bound.
  const std::string longest = std::string(255, 'a') + ":" + std::string(128, 't') + "@" + kDigest;
  Result<std::string> big = serialize_commitment({1, longest, kDigest, kProof});
  ASSERT_TRUE(big.ok()) << big.error().message;
  EXPECT_LE(big->size(), kMaxCommitmentBytes);
}

struct ParseCase {
  std::string name;
  std::string data;
  std::string code;
};

TEST(ArenaSubmission, HostileParseTable) {
  const std::string d = "\"digest\":\"" + kDigest + "\"";
  const std::string i = "\"image\":\"a/b\"";
  const std::string p = "\"payment_proof\":\"" + kProof + "\"";
  const std::string v = "\"version\":1";
  auto obj = [](std::initializer_list<std::string> fields) {
    std::string s = "{";
    for (const std::string& f : fields) s += (s.size() > 1 ? "," : "") + f;
    return s + "}";
  };
  const std::string deep = std::string(400, '[') + std::string(400, ']');
  const ParseCase cases[] = {
      {"empty", "", std::string(submission_code::kBadJson)},
      {"not json", "hello", std::string(submission_code::kBadJson)},
      {"truncated", obj({d, i, p, v}).substr(0, 40), std::string(submission_code::kBadJson)},
      {"trailing garbage", obj({d, i, p, v}) + "x", std::string(submission_code::kBadJson)},
      {"two objects", obj({d, i, p, v}) + obj({d, i, p, v}),
       std::string(submission_code::kBadJson)},
      {"array", "[" + obj({d, i, p, v}) + "]", std::string(submission_code::kBadJson)},
      {"string", "\"x\"", std::string(submission_code::kBadJson)},
      {"deep nesting", deep, std::string(submission_code::kBadJson)},
      {"bad utf8", "{\"image\":\"\xff\"}", std::string(submission_code::kBadJson)},
      {"too large", obj({d, i, p, v}) + std::string(1024, ' '),
       std::string(submission_code::kTooLarge)},
      {"missing version", obj({d, i, p}), std::string(submission_code::kBadField)},
      {"missing image", obj({d, p, v}), std::string(submission_code::kBadField)},
      {"missing digest", obj({i, p, v}), std::string(submission_code::kBadField)},
      {"missing proof", obj({d, i, v}), std::string(submission_code::kBadField)},
      {"unknown field", obj({d, i, p, v, "\"extra\":0"}), std::string(submission_code::kBadField)},
      {"repeated key", obj({d, i, p, v, "\"image\":\"c/d\""}),
       std::string(submission_code::kBadField)},
      {"version string", obj({d, i, p, "\"version\":\"1\""}),
       std::string(submission_code::kBadField)},
      {"version float", obj({d, i, p, "\"version\":1.0"}), std::string(submission_code::kBadField)},
      {"version 2", obj({d, i, p, "\"version\":2"}), std::string(submission_code::kBadVersion)},
      {"version 0", obj({d, i, p, "\"version\":0"}), std::string(submission_code::kBadVersion)},
      {"version -1", obj({d, i, p, "\"version\":-1"}), std::string(submission_code::kBadVersion)},
      {"version huge", obj({d, i, p, "\"version\":18446744073709551615"}),
       std::string(submission_code::kBadVersion)},
      {"image number", obj({d, "\"image\":5", p, v}), std::string(submission_code::kBadField)},
      {"image null", obj({d, "\"image\":null", p, v}), std::string(submission_code::kBadField)},
      {"digest object", obj({"\"digest\":{}", i, p, v}), std::string(submission_code::kBadField)},
      {"proof array", obj({d, i, "\"payment_proof\":[]", v}),
       std::string(submission_code::kBadField)},
      {"bad image", obj({d, "\"image\":\"A/b\"", p, v}), std::string(image_code::kBadImage)},
      {"image with NUL", obj({d, "\"image\":\"a\\u0000b\"", p, v}),
       std::string(image_code::kBadImage)},
      {"bad digest", obj({"\"digest\":\"sha256:abc\"", i, p, v}),
       std::string(image_code::kBadDigest)},
      {"uppercase digest", obj({"\"digest\":\"sha256:" + std::string(64, 'A') + "\"", i, p, v}),
       std::string(image_code::kBadDigest)},
      {"bad proof", obj({d, i, "\"payment_proof\":\"0xabc\"", v}),
       std::string(image_code::kBadTransferId)},
      {"digest mismatch", obj({d, "\"image\":\"a/b@" + kDigest2 + "\"", p, v}),
       std::string(submission_code::kDigestMismatch)},
  };
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<CommitmentPayload> r = parse_commitment(c.data);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
    EXPECT_FALSE(r.error().message.empty());
  }
  // The reference pinning the same digest is fine.
  EXPECT_TRUE(parse_commitment(obj({d, "\"image\":\"a/b@" + kDigest + "\"", p, v})).ok());
}

TEST(ArenaSubmission, CommitmentsBecomeSubmissionsOrRejections) {
  const std::vector<CommitmentRecord> records = {
      {"0xbbb", 20, payload("ghcr.io/b/srv:v2")},
      {"0xaaa", 10, payload("a/srv:latest")},
      {"0xaaa", 10, payload("a/srv:latest")},  // exact duplicate collapses
      {"0xccc", 10, "{not json"},              // rejection
      {"0xddd", 30, payload("d/srv", kDigest2, kProof2)},
      {"0xddd", 30, "garbage"},  // same key: the last one wins
      {"0xeee", 40, "garbage"},
      {"0xeee", 40, payload("e/srv")},              // same key: the last one wins
      {"", 50, payload("x/y")},                     // no hotkey
      {std::string(200, 'h'), 50, payload("x/y")},  // absurd hotkey
      {"0xaaa", 60, payload("a/srv2@" + kDigest2, kDigest2, kProof2)},  // a new submission
  };
  SubmissionScan scan = submissions_from_commitments(records);

  ASSERT_EQ(scan.submissions.size(), 4u);
  const Submission& a = scan.submissions[0];
  EXPECT_EQ(a.hotkey, "0xaaa");
  EXPECT_EQ(a.commit_block, 10);
  EXPECT_EQ(a.image, "a/srv");  // tag dropped
  EXPECT_EQ(a.digest, kDigest);
  EXPECT_EQ(a.payment_proof, kProof);
  EXPECT_EQ(scan.submissions[1].hotkey, "0xbbb");
  EXPECT_EQ(scan.submissions[1].image, "ghcr.io/b/srv");
  EXPECT_EQ(scan.submissions[2].hotkey, "0xeee");
  EXPECT_EQ(scan.submissions[3].hotkey, "0xaaa");
  EXPECT_EQ(scan.submissions[3].commit_block, 60);
  EXPECT_EQ(scan.submissions[3].image, "a/srv2");  // digest dropped from the name
  EXPECT_EQ(scan.submissions[3].digest, kDigest2);

  ASSERT_EQ(scan.rejections.size(), 4u);
  EXPECT_EQ(scan.rejections[0].hotkey, "0xccc");
  EXPECT_EQ(scan.rejections[0].code, submission_code::kBadJson);
  EXPECT_EQ(scan.rejections[1].hotkey, "0xddd");
  EXPECT_EQ(scan.rejections[1].commit_block, 30);
  EXPECT_EQ(scan.rejections[1].code, submission_code::kBadJson);
  EXPECT_EQ(scan.rejections[2].code, submission_code::kBadHotkey);  // "" sorts first at 50
  EXPECT_EQ(scan.rejections[3].code, submission_code::kBadHotkey);
  EXPECT_LE(scan.rejections[3].hotkey.size(), kMaxHotkeyBytes);
}

TEST(ArenaSubmission, LatestCommitmentPerHotkeyIsCurrent) {
  std::vector<Submission> subs = {
      {"0xb", 5, "b/x", kDigest, kProof},     {"0xa", 30, "a/new", kDigest2, kProof2},
      {"0xa", 10, "a/old", kDigest, kProof},  {"0xc", 7, "c/x", kDigest, kProof},
      {"0xb", 4, "b/older", kDigest, kProof},
  };
  std::vector<Submission> cur = current_submissions(subs);
  ASSERT_EQ(cur.size(), 3u);
  EXPECT_EQ(cur[0].hotkey, "0xa");
  EXPECT_EQ(cur[0].commit_block, 30);
  EXPECT_EQ(cur[0].image, "a/new");
  EXPECT_EQ(cur[1].hotkey, "0xb");
  EXPECT_EQ(cur[1].commit_block, 5);
  EXPECT_EQ(cur[2].hotkey, "0xc");
  EXPECT_TRUE(current_submissions({}).empty());
}

// Hostile bytes: random mutations of a valid payload never crash, and whatever parses is valid
// (serializes again and pins a reference).
TEST(ArenaSubmission, MutatedPayloadsParseOrFailCleanly) {
  const std::string base = payload("registry.example.com:5000/team/srv:v1");
  uint64_t state = 7;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return uint32_t(state >> 33);
  };
  int parsed = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string data = base;
    const int edits = 1 + int(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = next() % (data.size() + 1);
      switch (next() % 3) {
        case 0:
          if (pos < data.size()) data[pos] = char(next() & 0xff);
          break;
        case 1:
          data.insert(pos, 1, char(next() & 0xff));
          break;
        default:
          if (pos < data.size()) data.erase(pos, 1 + next() % 8);
          break;
      }
    }
    Result<CommitmentPayload> r = parse_commitment(data);
    if (!r.ok()) {
      EXPECT_FALSE(r.error().code.empty());
      continue;
    }
    ++parsed;
    EXPECT_TRUE(serialize_commitment(*r).ok());
    EXPECT_TRUE(pinned_reference(r->image, r->digest).ok());
  }
  EXPECT_GT(parsed, 0);  // some mutations (e.g. inside the tag or hex) stay valid
}

}  // namespace
}  // namespace cacheon::arena

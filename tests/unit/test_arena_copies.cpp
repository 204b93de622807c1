// Copy detection (arena/copies.h): ownership by earliest commit, per key, re-evaluated.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "arena/copies.h"

namespace cacheon::arena {
namespace {

const std::string X = "sha256:" + std::string(64, 'a');
const std::string Y = "sha256:" + std::string(64, 'b');
const std::string Z = "sha256:" + std::string(64, 'c');

struct Expect {
  std::string hotkey;
  BlockNumber block;
  std::string matched;  // "" = original
  std::string owner = "";
};

struct CopyCase {
  std::string name;
  std::vector<ContentClaim> history;
  std::vector<Expect> expect;
};

TEST(ArenaCopies, RuleTable) {
  const CopyCase cases[] = {
      {"distinct content", {{"A", 10, X, {}}, {"B", 20, Y, {}}}, {{"A", 10, ""}, {"B", 20, ""}}},
      {"same digest, later hotkey is the duplicate",
       {{"A", 10, X, {}}, {"B", 20, X, {}}},
       {{"A", 10, ""}, {"B", 20, "digest", "A"}}},
      {"input order does not matter",
       {{"B", 20, X, {}}, {"A", 10, X, {}}},
       {{"A", 10, ""}, {"B", 20, "digest", "A"}}},
      {"same hotkey re-submitting its own content is not a duplicate",
       {{"A", 10, X, {}}, {"A", 30, X, {}}},
       {{"A", 10, ""}, {"A", 30, ""}}},
      {"owner re-submits after a copier: still the owner",
       {{"A", 10, X, {}}, {"B", 20, X, {}}, {"A", 30, X, {}}},
       {{"A", 10, ""}, {"B", 20, "digest", "A"}, {"A", 30, ""}}},
      {"same fingerprint, different digest",
       {{"A", 10, X, "fp1"}, {"B", 20, Y, "fp1"}},
       {{"A", 10, ""}, {"B", 20, "fingerprint", "A"}}},
      {"unknown or empty fingerprints never match",
       {{"A", 10, X, ""}, {"B", 20, Y, ""}, {"C", 30, Z, {}}},
       {{"A", 10, ""}, {"B", 20, ""}, {"C", 30, ""}}},
      {"tie at the same block: smaller hotkey owns",
       {{"B", 10, X, {}}, {"A", 10, X, {}}},
       {{"A", 10, ""}, {"B", 10, "digest", "A"}}},
      {"digest owner reported before fingerprint owner",
       {{"A", 10, X, {}}, {"B", 15, Y, "fp"}, {"C", 20, X, "fp"}},
       {{"A", 10, ""}, {"B", 15, ""}, {"C", 20, "digest", "A"}}},
      {"ownership is per key, not transitive",
       // B copies A's digest, but B is the first with fingerprint fp: C matches B on fp.
       {{"A", 10, X, {}}, {"B", 20, X, "fp"}, {"C", 30, Y, "fp"}},
       {{"A", 10, ""}, {"B", 20, "digest", "A"}, {"C", 30, "fingerprint", "B"}}},
      {"same key listed twice (fingerprint learned later) is judged once",
       {{"A", 10, X, {}}, {"B", 20, Y, {}}, {"B", 20, Y, "fpA"}, {"A", 10, X, "fpA"}},
       {{"A", 10, ""}, {"B", 20, "fingerprint", "A"}}},
  };
  for (const CopyCase& c : cases) {
    SCOPED_TRACE(c.name);
    CopyJudgement j = judge_copies(c.history);
    size_t dups = 0;
    for (const Expect& e : c.expect) {
      SCOPED_TRACE(e.hotkey + "@" + std::to_string(e.block));
      const Duplicate* d = j.find(e.hotkey, e.block);
      if (e.matched.empty()) {
        EXPECT_EQ(d, nullptr);
        continue;
      }
      ++dups;
      ASSERT_NE(d, nullptr);
      EXPECT_EQ(d->matched, e.matched);
      EXPECT_EQ(d->owner_hotkey, e.owner);
      EXPECT_FALSE(d->message.empty());
    }
    EXPECT_EQ(j.duplicates.size(), dups);
  }
}

TEST(ArenaCopies, LaterFoundEarlierOwnerSupersedes) {
  // Round 1 sees B alone: original, owns X.
  std::vector<ContentClaim> history = {{"B", 20, X, {}}};
  CopyJudgement before = judge_copies(history);
  EXPECT_EQ(before.find("B", 20), nullptr);
  ASSERT_EQ(before.owners.size(), 1u);
  EXPECT_EQ(before.owners[0].key, "digest:" + X);
  EXPECT_EQ(before.owners[0].hotkey, "B");

  // Then A's earlier commit (block 12) is found: A owns X, B becomes the duplicate.
  history.push_back({"A", 12, X, {}});
  CopyJudgement after = judge_copies(history);
  const Duplicate* d = after.find("B", 20);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->owner_hotkey, "A");
  EXPECT_EQ(d->owner_commit_block, 12);
  EXPECT_EQ(after.find("A", 12), nullptr);
  ASSERT_EQ(after.owners.size(), 1u);
  EXPECT_EQ(after.owners[0].hotkey, "A");

  // A fingerprint learned after evaluation does the same through the other key.
  history = {{"C", 30, Y, {}}, {"D", 40, Z, {}}};
  EXPECT_TRUE(judge_copies(history).duplicates.empty());
  history[0].fingerprint = "same-files";
  history[1].fingerprint = "same-files";
  CopyJudgement fp = judge_copies(history);
  ASSERT_EQ(fp.duplicates.size(), 1u);
  EXPECT_EQ(fp.duplicates[0].hotkey, "D");
  EXPECT_EQ(fp.duplicates[0].matched, "fingerprint");
  EXPECT_EQ(fp.owners.size(), 3u);  // two digests, one fingerprint
}

}  // namespace
}  // namespace cacheon::arena

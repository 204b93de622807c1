// Copies: identical content committed by another hotkey later is a duplicate. Content is known by
// two keys: the image digest, and (once a container ran) a fingerprint of its files outside
// /models. Each key is owned by the earliest claim carrying it; a claim is a duplicate when a key
// it carries is owned by a DIFFERENT hotkey. The same hotkey re-submitting its own content is
// never a duplicate.
//
// judge_copies is a function of the whole history, re-evaluated whenever the history grows: a
// claim judged original can become a duplicate when an earlier claim is found later (a commit
// scanned late, or a fingerprint learned after an evaluation) — the earlier owner supersedes.
//
// Decisions (see README.md):
// - "Earliest" is the order (commit_block, hotkey): at the same block the lexicographically
//   smaller hotkey owns the content. Arbitrary but deterministic: every validator agrees.
// - Pass only claims whose fee was accepted: an unpaid commitment must not be able to squat
//   content it did not pay to submit.
// - The owner of a key is the earliest claim carrying it even if that claim is itself a
//   duplicate through its other key (ownership is per key, no transitive chains).
// - When both keys match different owners, the digest owner is reported.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "arena/types.h"

namespace cacheon::arena {

struct ContentClaim {
  std::string hotkey;
  BlockNumber commit_block = 0;
  std::string digest;
  std::optional<std::string> fingerprint;  // unknown until evaluated; "" counts as unknown
};

struct ContentOwner {
  std::string key;  // "digest:sha256:..." or "fingerprint:<fingerprint>"
  std::string hotkey;
  BlockNumber commit_block = 0;
};

struct Duplicate {
  std::string hotkey;
  BlockNumber commit_block = 0;
  std::string matched;  // "digest" or "fingerprint"
  std::string owner_hotkey;
  BlockNumber owner_commit_block = 0;
  std::string message;  // one human line
};

inline constexpr std::string_view kDuplicateCode = "duplicate";

struct CopyJudgement {
  std::vector<ContentOwner> owners;   // sorted by key
  std::vector<Duplicate> duplicates;  // sorted by (commit_block, hotkey)
  // The duplicate record for (hotkey, commit_block), or nullptr when original.
  const Duplicate* find(std::string_view hotkey, BlockNumber commit_block) const;
};

CopyJudgement judge_copies(std::span<const ContentClaim> history);

}  // namespace cacheon::arena

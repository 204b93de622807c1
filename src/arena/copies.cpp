#include "arena/copies.h"

#include <algorithm>
#include <map>
#include <utility>

namespace cacheon::arena {
namespace {

bool earlier(const ContentClaim* a, const ContentClaim* b) {
  if (a->commit_block != b->commit_block) return a->commit_block < b->commit_block;
  return a->hotkey < b->hotkey;
}

}  // namespace

const Duplicate* CopyJudgement::find(std::string_view hotkey, BlockNumber commit_block) const {
  for (const Duplicate& d : duplicates)
    if (d.hotkey == hotkey && d.commit_block == commit_block) return &d;
  return nullptr;
}

CopyJudgement judge_copies(std::span<const ContentClaim> history) {
  std::vector<const ContentClaim*> claims;
  claims.reserve(history.size());
  for (const ContentClaim& c : history) claims.push_back(&c);
  std::stable_sort(claims.begin(), claims.end(), earlier);

  // First claim in (commit_block, hotkey) order owns each key.
  std::map<std::string, const ContentClaim*> owner;
  auto keys_of = [](const ContentClaim& c) {
    std::vector<std::pair<std::string, std::string>> keys;  // (kind, key)
    keys.emplace_back("digest", "digest:" + c.digest);
    if (c.fingerprint && !c.fingerprint->empty())
      keys.emplace_back("fingerprint", "fingerprint:" + *c.fingerprint);
    return keys;
  };
  for (const ContentClaim* c : claims)
    for (const auto& [kind, key] : keys_of(*c)) owner.emplace(key, c);

  CopyJudgement out;
  for (const auto& [key, c] : owner) out.owners.push_back({key, c->hotkey, c->commit_block});
  for (const ContentClaim* c : claims) {
    // The same (hotkey, commit_block) listed twice (e.g. before and after its fingerprint was
    // known) is one submission: the entries sort adjacent, and one duplicate record is enough.
    if (!out.duplicates.empty() && out.duplicates.back().hotkey == c->hotkey &&
        out.duplicates.back().commit_block == c->commit_block)
      continue;
    for (const auto& [kind, key] : keys_of(*c)) {
      const ContentClaim* o = owner.at(key);
      if (o->hotkey == c->hotkey) continue;
      out.duplicates.push_back({c->hotkey, c->commit_block, kind, o->hotkey, o->commit_block,
                                "same " + kind + " as the submission of " + o->hotkey +
                                    " at block " + std::to_string(o->commit_block) +
                                    ", which owns this content"});
      break;
    }
  }
  return out;
}

}  // namespace cacheon::arena

// The arena's records: what the competition rules (pure functions in this folder) take and
// return. No I/O here: the validator reads these from the ledger and the store, hands them to
// the rules, and writes back what the rules decide.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cacheon::arena {

using BlockNumber = int64_t;

// One submission: a hotkey's commitment at a block. (hotkey, commit_block) identifies it; a later
// commitment of the same hotkey is a new submission. The commitment data on chain is
// CommitmentPayload (see submission.h) carrying image, digest and payment proof.
struct Submission {
  std::string hotkey;  // "0x" + 64 hex (ledger address)
  BlockNumber commit_block = 0;
  // The committed reference's name, e.g. "ghcr.io/a/b": tag and digest dropped (image_ref.h);
  // pinned_reference(image, digest) gives what the runner pulls.
  std::string image;
  std::string digest;         // "sha256:" + 64 lowercase hex: the image is pulled by digest
  std::string payment_proof;  // the ledger transfer id paying the fee ("0x" + hex)
};

// One participant's fresh result in a round (leader, runner-up and challengers are all
// re-evaluated on the same prompts).
struct RoundResult {
  std::string hotkey;
  BlockNumber commit_block = 0;
  int uid = -1;              // the hotkey's UID at the round's block; -1 when not registered
  bool passed = false;       // correct and decided (harness verdict)
  double score = 0;          // relative speed-up over the baseline (harness policy); 0.05 = 5%
  std::string reason_code;   // harness reason code ("ok" when passed)
  bool arena_blame = false;  // undecided because the arena failed: no judgement on the miner
};

}  // namespace cacheon::arena

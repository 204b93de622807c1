// Submissions: the commitment a miner publishes on chain, and how a list of commitments becomes
// submissions (or rejections). Pure: the validator reads commitments from the ledger and hands
// them here.
//
// Commitment payload (the ledger's commitment data), version 1, a JSON object with exactly:
//   {"digest":"sha256:<64 hex>","image":"<reference>","payment_proof":"0x<64 hex>","version":1}
// Parsing is strict: at most kMaxCommitmentBytes, one JSON object, no unknown, missing or repeated
// keys, `version` the integer 1, every field valid by image_ref.h's grammar. An image reference
// that itself carries "@sha256:..." must name the same digest. serialize_commitment writes the
// keys in the order above (sorted, compact), so the same payload is always the same bytes.
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "arena/image_ref.h"
#include "arena/types.h"
#include "core/status.h"

namespace cacheon::arena {

// Equal to ledger::kMaxCommitmentBytes (arena does not depend on ledger; a unit test checks).
inline constexpr size_t kMaxCommitmentBytes = 1024;
inline constexpr int kCommitmentVersion = 1;
inline constexpr size_t kMaxHotkeyBytes = 128;  // "0x"+64 hex today; SS58 later is shorter

namespace submission_code {
inline constexpr std::string_view kTooLarge = "commitment_too_large";
inline constexpr std::string_view kBadJson = "commitment_bad_json";
inline constexpr std::string_view kBadField = "commitment_bad_field";  // missing/unknown/typed
inline constexpr std::string_view kBadVersion = "commitment_unsupported_version";
inline constexpr std::string_view kDigestMismatch = "commitment_digest_mismatch";
inline constexpr std::string_view kBadHotkey = "commitment_bad_hotkey";
// plus image_code::kBadImage, kBadDigest, kBadTransferId from image_ref.h
}  // namespace submission_code

struct CommitmentPayload {
  int version = kCommitmentVersion;
  std::string image;          // reference as the miner wrote it (a tag is allowed and ignored)
  std::string digest;         // "sha256:" + 64 lowercase hex
  std::string payment_proof;  // ledger transfer id, "0x" + 64 lowercase hex
};

Result<CommitmentPayload> parse_commitment(std::string_view data);
// Validates first (same rules as parse), so a miner can never publish what validators reject.
Result<std::string> serialize_commitment(const CommitmentPayload& payload);

// A commitment as read from the chain (mirrors ledger::Commitment without the dependency).
struct CommitmentRecord {
  std::string hotkey;
  BlockNumber block = 0;
  std::string data;
};

struct Rejection {
  std::string hotkey;
  BlockNumber commit_block = 0;
  std::string code;     // submission_code or image_code
  std::string message;  // one human line
};

struct SubmissionScan {
  std::vector<Submission> submissions;  // sorted by (commit_block, hotkey)
  std::vector<Rejection> rejections;    // same order
};

// One submission per (hotkey, commit block). Several records with the same key collapse into the
// LAST one in input order (the chain keeps one commitment per hotkey: the latest write wins), so
// if that last one is invalid the key is a rejection even when an earlier one parsed. Submission
// fields: image = the reference's name (tag and digest dropped), digest, payment_proof.
SubmissionScan submissions_from_commitments(std::span<const CommitmentRecord> commitments);

// The current submission of each hotkey: its latest commit block. Sorted by hotkey.
std::vector<Submission> current_submissions(std::span<const Submission> submissions);

}  // namespace cacheon::arena

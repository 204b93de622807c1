// Grammar of what a miner commits: image references (OCI distribution's reference grammar,
// stricter where noted), `sha256:` digests and ledger transfer ids. Pure, bounded, no I/O.
//
//   reference  := name [":" tag] ["@" digest]
//   name       := [host [":" port] "/"] component ("/" component)*
//   host       := label ("." label)*            label := [a-z0-9] | [a-z0-9][a-z0-9-]*[a-z0-9]
//   component  := alnum (separator alnum)*      alnum := [a-z0-9]+
//   separator  := "." | "_" | "__" | "-"+
//   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}   (accepted and IGNORED: pulls are by digest)
//   digest     := "sha256:" 64 lowercase hex
// The first "/"-separated part is a host when it contains "." or ":" or is "localhost" and more
// parts follow (Docker's rule). Stricter than OCI: hosts must be lowercase (one spelling per
// image), only sha256 digests, no IPv6 literal hosts, name at most kMaxImageNameBytes.
// No normalization: "ubuntu" stays "ubuntu" (not "docker.io/library/ubuntu").
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cacheon::arena {

inline constexpr size_t kMaxImageNameBytes = 255;       // as Docker's reference package
inline constexpr size_t kMaxImageReferenceBytes = 512;  // name + tag + digest, generous

namespace image_code {
inline constexpr std::string_view kBadImage = "bad_image_reference";
inline constexpr std::string_view kBadDigest = "bad_digest";
inline constexpr std::string_view kBadTransferId = "bad_payment_proof";
}  // namespace image_code

struct ImageRef {
  std::string host;        // "" when none, else "host" or "host:port"
  std::string repository;  // path components joined by "/"
  std::string tag;         // "" when none; never used to pull
  std::string digest;      // "" when none, else "sha256:..."
  // host/repository: the name without tag or digest.
  std::string name() const;
};

// Error code image_code::kBadImage (or kBadDigest for a malformed "@digest"), with a message
// naming the offending part.
Result<ImageRef> parse_image_reference(std::string_view reference);

// "sha256:" + 64 lowercase hex; error code image_code::kBadDigest otherwise.
Status validate_digest(std::string_view digest);
bool is_valid_digest(std::string_view digest);

// A ledger transfer id: "0x" + 64 lowercase hex; error code image_code::kBadTransferId otherwise.
Status validate_transfer_id(std::string_view id);

// "name@digest" with any tag or digest in `image` dropped: what the runner pulls. Both inputs
// must be valid (parse_image_reference, validate_digest); error otherwise.
Result<std::string> pinned_reference(std::string_view image, std::string_view digest);

}  // namespace cacheon::arena

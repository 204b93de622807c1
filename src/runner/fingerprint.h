// The content fingerprint of a running container, for the copy rule (arena/copies.h): sha256 of
// every file of the container's filesystem outside /models and the virtual and runtime-injected
// paths, so the same server under another digest (re-tagged, re-pushed, one layer rebuilt
// identically) is recognised as a copy.
//
// Input is the tar stream of GET /containers/{id}/export, fed in pieces as it arrives. Each
// entry contributes "path\0type\0mode\0size\0sha256(content) or link target\n" (paths
// normalised without a leading "./" or "/"); the fingerprint is the sha256 of those lines sorted
// by path, so the order of the tar does not matter. Owners and times are left out (they change
// with how an image is built, not with what it runs).
//
// Bounded: total bytes, number of entries, and the caller bounds time by aborting the export.
// A malformed or truncated tar is an error ("fingerprint_invalid"), a bound hit is
// "fingerprint_too_large".
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cacheon::runner {

struct FingerprintLimits {
  int64_t max_bytes = int64_t{30} << 30;  // tar bytes (the image cap is 20 GB)
  int64_t max_entries = 2'000'000;
  // Memory held for the sorted index (paths, link targets): a deep tree of long names must not
  // exhaust the validator.
  int64_t max_index_bytes = int64_t{512} << 20;
};

// Path prefixes left out (no leading slash; a prefix matches the path itself and everything
// under it): the weights, virtual filesystems, the tmpfs, and files the runtime writes per
// container: models proc sys dev tmp run etc/hosts etc/hostname etc/resolv.conf etc/mtab
// .containerenv .dockerenv.
//
// Directories do not contribute (only files, links and special files do): an empty directory
// carries no server, and the runtime creates mount-point directories (etc, var/tmp, models)
// that differ between runtimes and versions.
std::vector<std::string> default_fingerprint_exclusions();

struct Fingerprint {
  std::string digest;  // "sha256:<hex>"
  int64_t files = 0;   // entries that contributed
  int64_t bytes = 0;   // content bytes hashed
};

class TarFingerprinter {
 public:
  explicit TarFingerprinter(FingerprintLimits limits = {},
                            std::vector<std::string> exclusions = default_fingerprint_exclusions());
  ~TarFingerprinter();
  TarFingerprinter(const TarFingerprinter&) = delete;
  TarFingerprinter& operator=(const TarFingerprinter&) = delete;

  // Feeds the next piece of the tar stream. After an error every later call returns it again.
  Status feed(std::string_view bytes);
  // The stream has ended: the fingerprint, or an error if the tar was cut short.
  Result<Fingerprint> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cacheon::runner

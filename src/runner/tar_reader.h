// A bounded, push-style tar stream parser for the fingerprint (fingerprint.h): ustar and v7
// headers, GNU long names ('L', 'K') and pax extended headers ('x': path, linkpath, size; 'g'
// is skipped). Bytes arrive in pieces of any size; entries and their content go to a Visitor.
// Everything in a header is untrusted: checksums are verified, numeric fields parsed strictly
// (octal or base-256), metadata records size-capped. Errors use the fingerprint's codes:
// "fingerprint_invalid" (malformed, truncated, unknown entry type) and "fingerprint_too_large"
// (a bound hit).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cacheon::runner {

struct TarEntry {
  std::string path;  // raw, as the archive names it (pax/GNU long name applied)
  char type = '0';   // '0' file ('\0' and '7' folded in), '1' hardlink, '2' symlink, '3' char,
                     // '4' block, '5' dir, '6' fifo
  uint32_t mode = 0;  // permission bits (mode & 07777)
  int64_t size = 0;   // content bytes (0 for anything but files)
  std::string link;   // link target for '1' and '2'
};

struct TarLimits {
  int64_t max_bytes = 0;           // whole stream, padding included
  int64_t max_entries = 0;         // entries handed to the visitor (metadata headers excluded)
  int64_t max_meta_bytes = 1 << 20;  // one pax record set or GNU long name
};

class TarVisitor {
 public:
  virtual ~TarVisitor() = default;
  // A new entry; its content (entry.size bytes, files only) follows through content().
  virtual Status begin(const TarEntry& entry) = 0;
  virtual void content(std::string_view bytes) = 0;
  // The entry's content is complete.
  virtual Status end() = 0;
};

class TarReader {
 public:
  TarReader(TarLimits limits, TarVisitor& visitor);
  // Sticky: after an error every later call returns it.
  Status feed(std::string_view bytes);
  // The stream ended: OK only after the end-of-archive marker (two zero blocks).
  Status finish();

 private:
  enum class State { header, data, padding, end };
  Status fail(std::string code, std::string message);
  Status on_header();
  Status on_data_done();
  Status parse_pax(std::string_view records);

  TarLimits limits_;
  TarVisitor& visitor_;
  Status error_;
  State state_ = State::header;
  int64_t total_ = 0;
  int64_t entries_ = 0;
  std::string block_;      // the header block being assembled (512 bytes)
  bool saw_zero_ = false;  // one zero block seen: the next must be zero too
  // The entry whose data is being read.
  char data_kind_ = 0;      // 'E' entry content, 'x' pax, 'L'/'K' long names, 'g' skipped
  int64_t remaining_ = 0;   // data bytes left
  int64_t padding_ = 0;     // padding bytes left after the data
  std::string meta_;        // pax or long-name content being collected
  // Overrides from metadata headers, applied to the next entry.
  std::optional<std::string> next_path_, next_link_;
  int64_t next_size_ = -1;
};

// "./a//b/" -> "a/b"; "/" and "." -> "". Error "fingerprint_invalid" on a ".." component.
Result<std::string> normalize_tar_path(std::string_view path);

}  // namespace cacheon::runner

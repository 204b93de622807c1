#include "runner/tar_reader.h"

#include <algorithm>
#include <limits>

namespace cacheon::runner {
namespace {

constexpr size_t kBlock = 512;
constexpr const char* kInvalid = "fingerprint_invalid";
constexpr const char* kTooLarge = "fingerprint_too_large";

// Header field offsets and lengths (POSIX ustar; GNU reuses the prefix area for other things).
struct Field {
  size_t off, len;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kSize{124, 12}, kChksum{148, 8}, kLink{157, 100},
    kMagic{257, 8}, kPrefix{345, 155};
constexpr size_t kTypeflag = 156;

std::string_view field(const std::string& block, Field f) {
  return std::string_view(block).substr(f.off, f.len);
}

// A NUL-terminated string inside a fixed-size field (no NUL when it fills the field).
std::string c_string(std::string_view f) { return std::string(f.substr(0, f.find('\0'))); }

enum class Num { ok, invalid, overflow };

// Octal with optional leading spaces, ended by NUL or space; or (when allowed) GNU base-256:
// the top bit of the first byte set, big-endian two's complement (negative values invalid).
Num parse_number(std::string_view f, bool base256, int64_t& out) {
  out = 0;
  if (f.empty()) return Num::invalid;
  const auto first = static_cast<unsigned char>(f[0]);
  if (first & 0x80) {
    if (!base256 || first != 0x80) return Num::invalid;  // 0xff...: negative
    for (size_t i = 1; i < f.size(); ++i) {
      if (out > (std::numeric_limits<int64_t>::max() >> 8)) return Num::overflow;
      out = (out << 8) | static_cast<unsigned char>(f[i]);
    }
    return Num::ok;
  }
  size_t i = 0;
  while (i < f.size() && f[i] == ' ') ++i;
  for (; i < f.size() && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (out > (std::numeric_limits<int64_t>::max() >> 3)) return Num::overflow;
    out = out * 8 + (f[i] - '0');
  }
  for (; i < f.size(); ++i)
    if (f[i] != ' ' && f[i] != '\0') return Num::invalid;
  return Num::ok;
}

bool is_zero_block(const std::string& block) {
  return std::all_of(block.begin(), block.end(), [](char c) { return c == '\0'; });
}

// Both sums that tar implementations have written: unsigned (POSIX) and signed (old Sun/GNU).
bool checksum_matches(const std::string& block, int64_t expected) {
  int64_t unsigned_sum = 0, signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    bool in_field = i >= kChksum.off && i < kChksum.off + kChksum.len;
    char c = in_field ? ' ' : block[i];
    unsigned_sum += static_cast<unsigned char>(c);
    signed_sum += static_cast<signed char>(c);
  }
  return expected == unsigned_sum || expected == signed_sum;
}

bool header_only(char type) {
  return type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6';
}

}  // namespace

TarReader::TarReader(TarLimits limits, TarVisitor& visitor)
    : limits_(limits), visitor_(visitor) {
  block_.reserve(kBlock);
}

Status TarReader::fail(std::string code, std::string message) {
  error_ = Error{std::move(code), std::move(message)};
  return error_;
}

Status TarReader::feed(std::string_view bytes) {
  if (!error_) return error_;
  total_ += static_cast<int64_t>(bytes.size());
  if (total_ > limits_.max_bytes)
    return fail(kTooLarge, "the export is over " + std::to_string(limits_.max_bytes) + " bytes");
  while (!bytes.empty()) {
    switch (state_) {
      case State::end:
        return Status::Ok();  // trailing record padding
      case State::header: {
        size_t n = std::min(bytes.size(), kBlock - block_.size());
        block_.append(bytes.substr(0, n));
        bytes.remove_prefix(n);
        if (block_.size() == kBlock) {
          Status s = on_header();
          block_.clear();
          if (!s) return s;
        }
        break;
      }
      case State::data: {
        size_t n = static_cast<size_t>(std::min<int64_t>(remaining_, bytes.size()));
        std::string_view piece = bytes.substr(0, n);
        if (data_kind_ == 'E') {
          visitor_.content(piece);
        } else if (data_kind_ != 'g') {
          meta_.append(piece);
        }
        bytes.remove_prefix(n);
        remaining_ -= static_cast<int64_t>(n);
        if (remaining_ == 0)
          if (Status s = on_data_done(); !s) return s;
        break;
      }
      case State::padding: {
        size_t n = static_cast<size_t>(std::min<int64_t>(padding_, bytes.size()));
        bytes.remove_prefix(n);
        padding_ -= static_cast<int64_t>(n);
        if (padding_ == 0) state_ = State::header;
        break;
      }
    }
  }
  return Status::Ok();
}

Status TarReader::finish() {
  if (!error_) return error_;
  if (state_ != State::end)
    return fail(kInvalid, "the tar stream ended before its end-of-archive marker");
  return Status::Ok();
}

Status TarReader::on_header() {
  if (is_zero_block(block_)) {
    if (saw_zero_) state_ = State::end;
    saw_zero_ = true;
    return Status::Ok();
  }
  if (saw_zero_) return fail(kInvalid, "a lone zero block inside the archive");
  int64_t sum = 0;
  if (parse_number(field(block_, kChksum), false, sum) != Num::ok || !checksum_matches(block_, sum))
    return fail(kInvalid, "a tar header checksum does not match");
  std::string_view magic = field(block_, kMagic);
  const bool posix = magic.substr(0, 6) == std::string_view("ustar\0", 6);
  const bool gnu = magic == std::string_view("ustar  \0", 8);
  const bool v7 = magic == std::string_view("\0\0\0\0\0\0\0\0", 8);
  if (!posix && !gnu && !v7) return fail(kInvalid, "a tar header has an unknown magic");

  const char type = block_[kTypeflag];
  int64_t size = 0;
  switch (parse_number(field(block_, kSize), true, size)) {
    case Num::invalid:
      return fail(kInvalid, "a tar header has a malformed size");
    case Num::overflow:
      return fail(kTooLarge, "a tar entry's size overflows");
    case Num::ok:
      break;
  }
  const bool meta = type == 'x' || type == 'g' || type == 'L' || type == 'K';
  const bool file = type == '0' || type == '\0' || type == '7';
  if (!meta && !file && !header_only(type))
    return fail(kInvalid, "unsupported tar entry type '" + std::string(1, type) + "'");
  if (file && next_size_ >= 0) size = next_size_;
  if (header_only(type)) size = 0;  // as GNU tar and Go read them: no data follows
  if (size > limits_.max_bytes)
    return fail(kTooLarge, "a tar entry of " + std::to_string(size) + " bytes is over the limit");
  if (meta && type != 'g' && size > limits_.max_meta_bytes)
    return fail(kTooLarge, "a tar metadata record is over " +
                               std::to_string(limits_.max_meta_bytes) + " bytes");

  remaining_ = size;
  padding_ = (static_cast<int64_t>(kBlock) - size % static_cast<int64_t>(kBlock)) %
             static_cast<int64_t>(kBlock);
  data_kind_ = meta ? type : 'E';
  meta_.clear();
  if (!meta) {
    if (++entries_ > limits_.max_entries)
      return fail(kTooLarge,
                  "the export has over " + std::to_string(limits_.max_entries) + " entries");
    TarEntry e;
    e.type = file ? '0' : type;
    e.size = file ? size : 0;
    if (next_path_) {
      e.path = std::move(*next_path_);
    } else {
      std::string name = c_string(field(block_, kName));
      std::string prefix = posix ? c_string(field(block_, kPrefix)) : std::string();
      e.path = prefix.empty() ? name : prefix + "/" + name;
    }
    e.link = next_link_ ? std::move(*next_link_) : c_string(field(block_, kLink));
    int64_t mode = 0;
    if (parse_number(field(block_, kMode), false, mode) != Num::ok)
      return fail(kInvalid, "a tar header has a malformed mode");
    e.mode = static_cast<uint32_t>(mode & 07777);
    next_path_.reset();
    next_link_.reset();
    next_size_ = -1;
    if (Status s = visitor_.begin(e); !s) return fail(s.error().code, s.error().message);
  }
  state_ = State::data;
  if (remaining_ == 0) return on_data_done();
  return Status::Ok();
}

Status TarReader::on_data_done() {
  switch (data_kind_) {
    case 'E':
      if (Status s = visitor_.end(); !s) return fail(s.error().code, s.error().message);
      break;
    case 'x':
      if (Status s = parse_pax(meta_); !s) return s;
      break;
    case 'L':
      next_path_ = c_string(meta_);
      break;
    case 'K':
      next_link_ = c_string(meta_);
      break;
    default:
      break;  // 'g': global pax headers change nothing we read
  }
  meta_.clear();
  state_ = padding_ > 0 ? State::padding : State::header;
  return Status::Ok();
}

// Records "<len> <key>=<value>\n", len counting the whole record in decimal.
Status TarReader::parse_pax(std::string_view records) {
  while (!records.empty()) {
    size_t sp = records.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp > 20)
      return fail(kInvalid, "a pax record has no length");
    int64_t len = 0;
    for (char c : records.substr(0, sp)) {
      if (c < '0' || c > '9') return fail(kInvalid, "a pax record length is not decimal");
      len = len * 10 + (c - '0');
    }
    if (len <= static_cast<int64_t>(sp) + 2 || len > static_cast<int64_t>(records.size()) ||
        records[static_cast<size_t>(len) - 1] != '\n')
      return fail(kInvalid, "a pax record length is out of range");
    std::string_view kv = records.substr(sp + 1, static_cast<size_t>(len) - sp - 2);
    records.remove_prefix(static_cast<size_t>(len));
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) return fail(kInvalid, "a pax record has no key");
    std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
    if ((key == "path" || key == "linkpath") && value.find('\0') != std::string_view::npos)
      return fail(kInvalid, "a pax path contains a NUL");
    if (key == "path") {
      next_path_ = std::string(value);
    } else if (key == "linkpath") {
      next_link_ = std::string(value);
    } else if (key == "size") {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return fail(value.size() > 18 ? kTooLarge : kInvalid, "a pax size is not a small decimal");
      next_size_ = std::stoll(std::string(value));
    } else if (key.starts_with("GNU.sparse.")) {
      return fail(kInvalid, "sparse tar entries are not supported");
    }
  }
  return Status::Ok();
}

Result<std::string> normalize_tar_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return Error{kInvalid, "a tar path has a '..' component: " + std::string(path)};
    if (!out.empty()) out.push_back('/');
    out.append(part);
  }
  return out;
}

}  // namespace cacheon::runner

#include "dashboard/files.h"

#include <filesystem>
#include <fstream>

namespace cacheon::dashboard {
namespace {

namespace fs = std::filesystem;

// The canonical path when it exists and lies under root's canonical path.
Result<fs::path> checked(const std::string& path, const std::string& root) {
  std::error_code ec;
  if (path.empty()) return Error{"not_found", "no file recorded"};
  fs::path p = fs::canonical(path, ec);
  if (ec) return Error{"not_found", "the file " + path + " does not exist (any more)"};
  if (!root.empty()) {
    fs::path r = fs::canonical(root, ec);
    if (ec) return Error{"not_found", "the logs root " + root + " does not exist"};
    auto rel = p.lexically_relative(r);
    if (rel.empty() || *rel.begin() == ".." || rel.is_absolute())
      return Error{"forbidden", "the file lies outside the logs root"};
  }
  if (!fs::is_regular_file(p, ec)) return Error{"not_found", "not a regular file: " + path};
  return p;
}

size_t utf8_length(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xE) return 3;
  if ((c >> 3) == 0x1E) return 4;
  return 0;
}

}  // namespace

std::string sanitize_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    size_t n = utf8_length(c);
    bool ok = n > 0 && i + n <= in.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(in[i + k]) >> 6) == 0x2;
    if (ok && n > 1) {  // no overlong forms, surrogates or code points past U+10FFFF
      uint32_t cp = c & (0x7F >> n);
      for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(in[i + k]) & 0x3F);
      ok = !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) && !(n == 4 && cp < 0x10000) &&
           !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
    }
    if (!ok) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(in.substr(i, n));
    i += n;
  }
  return out;
}

bool servable(const std::string& path, const std::string& root) { return checked(path, root).ok(); }

Result<FileTail> read_tail(const std::string& path, const std::string& root, size_t max_bytes) {
  auto p = checked(path, root);
  if (!p.ok()) return p.error();
  std::ifstream f(*p, std::ios::binary);
  if (!f) return Error{"unreadable", "cannot read " + path};
  f.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(std::max<std::streamoff>(0, f.tellg()));
  FileTail out;
  out.truncated = size > max_bytes;
  const size_t start = out.truncated ? size - max_bytes : 0;
  f.seekg(static_cast<std::streamoff>(start));
  std::string raw(size - start, '\0');
  f.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  raw.resize(static_cast<size_t>(f.gcount()));
  if (out.truncated) {  // start at a whole line
    auto nl = raw.find('\n');
    if (nl != std::string::npos && nl + 1 < raw.size()) raw.erase(0, nl + 1);
  }
  out.text = sanitize_utf8(raw);
  return out;
}

Result<std::string> read_whole(const std::string& path, const std::string& root,
                               size_t max_bytes) {
  auto p = checked(path, root);
  if (!p.ok()) return p.error();
  std::error_code ec;
  auto size = fs::file_size(*p, ec);
  if (ec) return Error{"unreadable", "cannot read " + path};
  if (size > max_bytes) return Error{"too_large", "the file is larger than the dashboard serves"};
  std::ifstream f(*p, std::ios::binary);
  std::string raw(static_cast<size_t>(size), '\0');
  f.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  if (!f) return Error{"unreadable", "cannot read " + path};
  return raw;
}

}  // namespace cacheon::dashboard

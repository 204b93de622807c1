#include "arena/image_ref.h"

#include <string>
#include <vector>

namespace cacheon::arena {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_word(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_'; }

// Quoted and shortened for messages: hostile input must not flood a log line.
std::string shown(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out = "\"";
  for (char c : s.substr(0, kMax)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

Error bad_image(std::string_view reference, std::string_view why) {
  return {std::string(image_code::kBadImage),
          "image reference " + shown(reference) + ": " + std::string(why)};
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return parts;
    start = pos + 1;
  }
}

// alnum (separator alnum)*, separator := "." | "_" | "__" | "-"+
bool valid_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (is_lower_alnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !is_lower_alnum(c[j])) ++j;
    const std::string_view sep = c.substr(i, j - i);
    const bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

bool valid_label(std::string_view l) {
  if (l.empty() || l.size() > 63) return false;
  if (!is_lower_alnum(l.front()) || !is_lower_alnum(l.back())) return false;
  for (char c : l)
    if (!is_lower_alnum(c) && c != '-') return false;
  return true;
}

bool valid_host(std::string_view host) {
  const size_t colon = host.find(':');
  std::string_view name = host.substr(0, colon);
  if (colon != std::string_view::npos) {
    const std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    long value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    if (value < 1 || value > 65535) return false;
  }
  for (std::string_view label : split(name, '.'))
    if (!valid_label(label)) return false;
  return true;
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128 || !is_word(t.front())) return false;
  for (char c : t)
    if (!is_word(c) && c != '.' && c != '-') return false;
  return true;
}

}  // namespace

std::string ImageRef::name() const { return host.empty() ? repository : host + "/" + repository; }

bool is_valid_digest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.size() != kPrefix.size() + 64 || digest.substr(0, kPrefix.size()) != kPrefix)
    return false;
  for (char c : digest.substr(kPrefix.size()))
    if (!is_lower_hex(c)) return false;
  return true;
}

Status validate_digest(std::string_view digest) {
  if (is_valid_digest(digest)) return Status::Ok();
  return Error{std::string(image_code::kBadDigest),
               "digest " + shown(digest) + " is not \"sha256:\" followed by 64 lowercase hex"};
}

Status validate_transfer_id(std::string_view id) {
  bool ok = id.size() == 66 && id.substr(0, 2) == "0x";
  for (size_t i = 2; ok && i < id.size(); ++i) ok = is_lower_hex(id[i]);
  if (ok) return Status::Ok();
  return Error{std::string(image_code::kBadTransferId),
               "payment proof " + shown(id) + " is not \"0x\" followed by 64 lowercase hex"};
}

Result<ImageRef> parse_image_reference(std::string_view reference) {
  if (reference.empty()) return bad_image(reference, "empty");
  if (reference.size() > kMaxImageReferenceBytes)
    return bad_image(reference,
                     "longer than " + std::to_string(kMaxImageReferenceBytes) + " bytes");
  ImageRef ref;
  std::string_view rest = reference;
  if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    const std::string_view digest = rest.substr(at + 1);
    if (!is_valid_digest(digest))
      return Error{std::string(image_code::kBadDigest),
                   "image reference " + shown(reference) +
                       ": the part after '@' is not \"sha256:\" followed by 64 lowercase hex"};
    ref.digest = std::string(digest);
    rest = rest.substr(0, at);
  }
  const size_t colon = rest.rfind(':');
  const size_t slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    const std::string_view tag = rest.substr(colon + 1);
    if (!valid_tag(tag))
      return bad_image(reference, "tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad_image(reference, "no repository name");
  if (rest.size() > kMaxImageNameBytes)
    return bad_image(reference,
                     "name longer than " + std::to_string(kMaxImageNameBytes) + " bytes");
  std::vector<std::string_view> parts = split(rest, '/');
  size_t first = 0;
  const std::string_view head = parts.front();
  if (parts.size() > 1 &&
      (head.find_first_of(".:") != std::string_view::npos || head == "localhost")) {
    if (!valid_host(head))
      return bad_image(reference, "registry host " + shown(head) +
                                      " must be lowercase DNS labels with an optional :port");
    ref.host = std::string(head);
    first = 1;
  }
  for (size_t i = first; i < parts.size(); ++i) {
    if (!valid_component(parts[i]))
      return bad_image(reference,
                       "path component " + shown(parts[i]) +
                           " must be lowercase letters and digits separated by '.', '_', '__' "
                           "or dashes");
    if (!ref.repository.empty()) ref.repository += '/';
    ref.repository += parts[i];
  }
  return ref;
}

Result<std::string> pinned_reference(std::string_view image, std::string_view digest) {
  Result<ImageRef> ref = parse_image_reference(image);
  if (!ref) return ref.error();
  if (Status s = validate_digest(digest); !s) return s.error();
  if (!ref->digest.empty() && ref->digest != digest)
    return Error{std::string(image_code::kBadDigest),
                 "image reference carries digest " + ref->digest + " but the submission's is " +
                     std::string(digest)};
  return ref->name() + "@" + std::string(digest);
}

}  // namespace cacheon::arena

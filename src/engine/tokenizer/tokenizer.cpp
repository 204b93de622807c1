#include "engine/tokenizer/tokenizer.h"

#include <cstring>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/pretokenize.h"
#include "engine/tokenizer/tokenizer_impl.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/utf8.h"

namespace cacheon::engine {
namespace {

const std::string kEmpty;

// The White_Space character ending just before `end` (its start), or npos.
size_t space_before(std::string_view text, size_t end) {
  if (end == 0) return std::string_view::npos;
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + start;
  const char32_t cp = utf8::decode_valid(p, int(end - start));
  return unicode::is_space(unicode::classify(cp)) ? start : std::string_view::npos;
}

// Length of the White_Space character starting at `pos`, or 0.
size_t space_at(std::string_view text, size_t pos) {
  if (pos >= text.size()) return 0;
  const int len = utf8::step(text.substr(pos)).len;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  return unicode::is_space(unicode::classify(utf8::decode_valid(p, len))) ? size_t(len) : 0;
}

}  // namespace

std::optional<Tokenizer::Impl::Match> Tokenizer::Impl::find_added(std::string_view text,
                                                                  size_t from,
                                                                  bool parse_special) const {
  for (size_t i = from; i < text.size(); ++i) {
    if (!added_first_byte[static_cast<unsigned char>(text[i])]) continue;
    for (size_t k = 0; k < added.size(); ++k) {
      const AddedToken& a = added[k];
      if (a.special && !parse_special) continue;
      if (text.size() - i < a.content.size() ||
          std::memcmp(text.data() + i, a.content.data(), a.content.size()) != 0) {
        continue;
      }
      Match m{i, i + a.content.size(), k};
      if (a.lstrip) {
        for (size_t s;
             m.start > from && (s = space_before(text, m.start)) != std::string_view::npos;) {
          m.start = s;
        }
      }
      if (a.rstrip) {
        while (size_t len = space_at(text, m.end)) m.end += len;
      }
      return m;
    }
  }
  return std::nullopt;
}

void Tokenizer::Impl::encode_segment(std::string_view segment, std::vector<int32_t>& out) const {
  if (segment.empty()) return;
  std::string normalized;
  if (nfc) {
    normalized = unicode::nfc(segment);
    segment = normalized;
  }
  std::vector<std::string_view> pieces;
  qwen2_pre_split(segment, pieces);
  for (std::string_view piece : pieces) bpe->encode(piece, out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  std::string sanitized;
  if (!utf8::is_valid(text)) {
    sanitized = utf8::lossy(text);
    text = sanitized;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 4 + 8);
  size_t pos = 0;
  while (auto m = impl_->find_added(text, pos, parse_special)) {
    impl_->encode_segment(text.substr(pos, m->start - pos), ids);
    ids.push_back(impl_->added[m->token].id);
    pos = m->end;
  }
  impl_->encode_segment(text.substr(pos), ids);
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= impl_->id_to_bytes.size()) continue;
    if (skip_special && impl_->added_kind[size_t(id)] == 2) continue;
    out += impl_->id_to_bytes[size_t(id)];
  }
  return out;
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || size_t(id) >= impl_->id_to_bytes.size()) return kEmpty;
  return impl_->id_to_bytes[size_t(id)];
}

std::string Tokenizer::token_text(int32_t id) const { return utf8::lossy(token_bytes(id)); }

int32_t Tokenizer::vocab_size() const { return int32_t(impl_->id_to_bytes.size()); }

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
  for (const AddedToken& a : impl_->added) {
    if (a.content == token) return a.id;
  }
  auto bytes = byte_level::to_bytes(token);
  if (!bytes) return std::nullopt;
  auto it = impl_->bytes_to_id.find(*bytes);
  if (it == impl_->bytes_to_id.end()) return std::nullopt;
  return it->second;
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && size_t(id) < impl_->added_kind.size() && impl_->added_kind[size_t(id)] == 2;
}

bool Tokenizer::is_added(int32_t id) const {
  return id >= 0 && size_t(id) < impl_->added_kind.size() && impl_->added_kind[size_t(id)] != 0;
}

int32_t Tokenizer::im_start_id() const { return impl_->im_start; }
int32_t Tokenizer::im_end_id() const { return impl_->im_end; }
int32_t Tokenizer::endoftext_id() const { return impl_->endoftext; }
std::span<const int32_t> Tokenizer::stop_ids() const { return impl_->stops; }

}  // namespace cacheon::engine

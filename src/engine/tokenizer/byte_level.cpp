#include "engine/tokenizer/byte_level.h"

#include <array>
#include <cstdint>

#include "engine/tokenizer/utf8.h"

namespace cacheon::engine::byte_level {
namespace {

struct Tables {
  std::array<char32_t, 256> to_cp{};
  std::array<int16_t, 324> to_byte{};  // every mapped code point is below 256 + 68
};

// Printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) stand for themselves; the
// other 68 bytes take U+0100, U+0101, ... in byte order.
constexpr Tables make_tables() {
  Tables t;
  for (auto& b : t.to_byte) b = -1;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    t.to_cp[size_t(b)] = printable ? char32_t(b) : next++;
    t.to_byte[t.to_cp[size_t(b)]] = int16_t(b);
  }
  return t;
}

constexpr Tables kTables = make_tables();

}  // namespace

char32_t byte_to_code_point(unsigned char b) { return kTables.to_cp[b]; }

std::optional<std::string> to_bytes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    const utf8::Step st = utf8::step(s.substr(i));
    if (st.kind != utf8::StepKind::kValid) return std::nullopt;
    const char32_t cp = utf8::decode_valid(p + i, st.len);
    if (cp >= kTables.to_byte.size() || kTables.to_byte[cp] < 0) return std::nullopt;
    out += char(kTables.to_byte[cp]);
    i += size_t(st.len);
  }
  return out;
}

std::string from_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) utf8::append_code_point(out, kTables.to_cp[static_cast<unsigned char>(c)]);
  return out;
}

}  // namespace cacheon::engine::byte_level

#include "ledger/units.h"

#include <fmt/format.h>

#include "ledger/ledger.h"

namespace cacheon::ledger {

Result<int64_t> parse_tao(std::string_view text) {
  auto bad = [&] {
    return Error{"bad_amount", fmt::format("bad amount \"{}\": write TAO as digits with at most "
                                           "9 decimals, e.g. 0.1",
                                           std::string(text.substr(0, 40)))};
  };
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() && frac.empty()) return bad();
  if (whole.size() > 10 || frac.size() > 9 || (dot != std::string_view::npos && frac.empty()))
    return bad();
  int64_t tao = 0, rao = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return bad();
    tao = tao * 10 + (c - '0');
  }
  for (size_t i = 0; i < 9; ++i) {
    char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') return bad();
    rao = rao * 10 + (c - '0');
  }
  if (tao > 9'000'000'000) return bad();
  return tao * kRaoPerTao + rao;
}

std::string format_tao(int64_t rao) {
  bool negative = rao < 0;
  uint64_t v = negative ? 0 - static_cast<uint64_t>(rao) : static_cast<uint64_t>(rao);
  std::string frac = fmt::format("{:09d}", v % kRaoPerTao);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  std::string out = fmt::format("{}{}", negative ? "-" : "", v / kRaoPerTao);
  if (!frac.empty()) out += "." + frac;
  return out;
}

}  // namespace cacheon::ledger

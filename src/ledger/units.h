// TAO amounts as text <-> rao (1 TAO = 1e9 rao), exactly: no floating point on money.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cacheon::ledger {

// "12", "0.1", "1.000000001": digits, an optional '.' and at most 9 decimals; non-negative, at
// most 9,000,000,000 TAO. "bad_amount" otherwise.
Result<int64_t> parse_tao(std::string_view text);
// Shortest exact decimal: 100000000 -> "0.1", 2000000000 -> "2".
std::string format_tao(int64_t rao);

}  // namespace cacheon::ledger

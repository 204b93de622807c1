// Internal to src/ledger: the schema and the row-level queries LocalLedger's reads and writes
// share. Not a public header (nothing outside this folder includes it).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sqlite.h"
#include "core/status.h"
#include "ledger/ledger.h"

namespace cacheon::ledger::db {

inline constexpr int kSchemaVersion = 1;
inline constexpr std::string_view kZeroHash =
    "0x0000000000000000000000000000000000000000000000000000000000000000";

// Creates the tables (idempotent).
Status create_schema(SqliteDb& db);

// sha256(parent || number u64 BE || timestamp_ms u64 BE || calls_root), all hashes raw bytes.
std::string block_hash(std::string_view parent_hash, BlockNumber number, int64_t timestamp_ms,
                       std::string_view calls_root);
// sha256 over the raw bytes of the call ids in inclusion order (sha256("") for none).
std::string calls_root(const std::vector<std::string>& call_ids);

Result<std::optional<BlockInfo>> block_at(SqliteDb& db, BlockNumber number);
Result<BlockInfo> last_block(SqliteDb& db);

// State as the pending block sees it (every row, sealed or not).
Result<std::optional<int64_t>> latest_balance(SqliteDb& db, std::string_view address);
Status set_balance(SqliteDb& db, std::string_view address, BlockNumber block, int64_t balance);
Result<std::optional<Neuron>> active_neuron(SqliteDb& db, int netuid, std::string_view hotkey);

Error unknown_subnet(int netuid);

}  // namespace cacheon::ledger::db

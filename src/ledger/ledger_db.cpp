#include "ledger/ledger_db.h"

#include <fmt/format.h>

#include "core/sha256.h"

namespace cacheon::ledger::db {
namespace {

// Raw 32 bytes of a "0x"-hex hash; the inputs here were produced by this module.
std::string raw(std::string_view hex_hash) {
  auto bytes = hex_decode(hex_hash);
  return bytes.ok() ? *bytes : std::string();
}

void put_u64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
  number INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, parent_hash TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL, calls_root TEXT NOT NULL);
-- Signed calls, in the block that includes them (block = head + 1 while pending).
CREATE TABLE IF NOT EXISTS calls (
  id TEXT PRIMARY KEY, block INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
  signer TEXT NOT NULL, encoded BLOB NOT NULL, signature BLOB NOT NULL, cosignature BLOB,
  UNIQUE (block, seq));
CREATE TABLE IF NOT EXISTS nonces (address TEXT PRIMARY KEY, next_nonce INTEGER NOT NULL);
-- History tables: one row per (key, block) that changed; a read at block B takes the latest
-- row with block <= B. Rows of sealed blocks are never updated.
CREATE TABLE IF NOT EXISTS balances (
  address TEXT NOT NULL, block INTEGER NOT NULL, balance INTEGER NOT NULL CHECK (balance >= 0),
  PRIMARY KEY (address, block));
CREATE TABLE IF NOT EXISTS hotkey_owners (hotkey TEXT PRIMARY KEY, coldkey TEXT NOT NULL,
  block INTEGER NOT NULL);
-- A registration lives in [registered_at, deregistered_at).
CREATE TABLE IF NOT EXISTS neurons (
  id INTEGER PRIMARY KEY, netuid INTEGER NOT NULL, uid INTEGER NOT NULL, hotkey TEXT NOT NULL,
  coldkey TEXT NOT NULL, registered_at INTEGER NOT NULL, deregistered_at INTEGER);
CREATE INDEX IF NOT EXISTS neurons_by_hotkey ON neurons (netuid, hotkey);
CREATE INDEX IF NOT EXISTS neurons_by_uid ON neurons (netuid, uid);
CREATE TABLE IF NOT EXISTS transfers (
  id TEXT PRIMARY KEY, block INTEGER NOT NULL, from_addr TEXT NOT NULL, to_addr TEXT NOT NULL,
  amount INTEGER NOT NULL, remark BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS transfers_by_remark ON transfers (from_addr, remark);
CREATE TABLE IF NOT EXISTS commitments (
  netuid INTEGER NOT NULL, hotkey TEXT NOT NULL, block INTEGER NOT NULL, data BLOB NOT NULL,
  call_id TEXT NOT NULL, PRIMARY KEY (netuid, hotkey, block));
CREATE INDEX IF NOT EXISTS commitments_by_block ON commitments (netuid, block);
CREATE TABLE IF NOT EXISTS weights (
  netuid INTEGER NOT NULL, hotkey TEXT NOT NULL, block INTEGER NOT NULL, weights TEXT NOT NULL,
  PRIMARY KEY (netuid, hotkey, block));
)sql";

}  // namespace

Status create_schema(SqliteDb& db) { return db.exec(kSchema); }

std::string block_hash(std::string_view parent_hash, BlockNumber number, int64_t timestamp_ms,
                       std::string_view calls_root) {
  std::string msg = raw(parent_hash);
  put_u64(msg, static_cast<uint64_t>(number));
  put_u64(msg, static_cast<uint64_t>(timestamp_ms));
  msg += raw(calls_root);
  return "0x" + sha256_hex(msg);
}

std::string calls_root(const std::vector<std::string>& call_ids) {
  std::string msg;
  for (const std::string& id : call_ids) msg += raw(id);
  return "0x" + sha256_hex(msg);
}

Result<std::optional<BlockInfo>> block_at(SqliteDb& db, BlockNumber number) {
  auto st =
      db.prepare("SELECT number, hash, parent_hash, timestamp_ms FROM blocks WHERE number = ?");
  if (!st.ok()) return st.error();
  st->bind(1, number);
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<BlockInfo>{};
  return std::optional<BlockInfo>{
      BlockInfo{st->column_int(0), st->column_text(1), st->column_text(2), st->column_int(3)}};
}

Result<BlockInfo> last_block(SqliteDb& db) {
  auto st = db.prepare(
      "SELECT number, hash, parent_hash, timestamp_ms FROM blocks ORDER BY number DESC LIMIT 1");
  if (!st.ok()) return st.error();
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return Error{"not_a_ledger", "the ledger has no genesis block"};
  return BlockInfo{st->column_int(0), st->column_text(1), st->column_text(2), st->column_int(3)};
}

Result<std::optional<int64_t>> latest_balance(SqliteDb& db, std::string_view address) {
  auto st =
      db.prepare("SELECT balance FROM balances WHERE address = ? ORDER BY block DESC LIMIT 1");
  if (!st.ok()) return st.error();
  st->bind(1, address);
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<int64_t>{};
  return std::optional<int64_t>{st->column_int(0)};
}

Status set_balance(SqliteDb& db, std::string_view address, BlockNumber block, int64_t balance) {
  auto st = db.prepare(
      "INSERT INTO balances (address, block, balance) VALUES (?, ?, ?) "
      "ON CONFLICT (address, block) DO UPDATE SET balance = excluded.balance");
  if (!st.ok()) return st.error();
  st->bind(1, address).bind(2, block).bind(3, balance);
  return st->run();
}

Result<std::optional<Neuron>> active_neuron(SqliteDb& db, int netuid, std::string_view hotkey) {
  auto st = db.prepare(
      "SELECT uid, hotkey, coldkey, registered_at FROM neurons "
      "WHERE netuid = ? AND hotkey = ? AND deregistered_at IS NULL");
  if (!st.ok()) return st.error();
  st->bind(1, netuid).bind(2, hotkey);
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<Neuron>{};
  return std::optional<Neuron>{Neuron{static_cast<int>(st->column_int(0)), st->column_text(1),
                                      st->column_text(2), st->column_int(3)}};
}

Error unknown_subnet(int netuid) {
  return Error{"unknown_subnet", fmt::format("subnet {} does not exist on this ledger", netuid)};
}

}  // namespace cacheon::ledger::db

// LocalLedger reads: state at a sealed block (history rows with block <= at), inspection, and
// the chain re-verification.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "ledger/ledger_db.h"
#include "ledger/local_ledger.h"

namespace cacheon::ledger {
namespace {

// Runs `st` to the end, appending make(st) for each row.
template <class T, class F>
Result<std::vector<T>> collect(Result<SqliteStmt>& st, F make) {
  if (!st.ok()) return st.error();
  std::vector<T> out;
  for (;;) {
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) return out;
    out.push_back(make(*st));
  }
}

Transfer transfer_row(SqliteStmt& s) {
  return Transfer{s.column_text(0), s.column_int(1), s.column_text(2),
                  s.column_text(3), s.column_int(4), s.column_blob(5)};
}
constexpr const char* kTransferCols = "id, block, from_addr, to_addr, amount, remark";

Commitment commitment_row(SqliteStmt& s) {
  return Commitment{s.column_text(0), static_cast<int>(s.column_int(1)), s.column_int(2),
                    s.column_blob(3)};
}
constexpr const char* kCommitmentCols = "hotkey, netuid, block, data";

WeightsSet weights_row(SqliteStmt& s) {
  WeightsSet w{s.column_text(0), static_cast<int>(s.column_int(1)), s.column_int(2), {}};
  auto j = nlohmann::json::parse(s.column_text(3), nullptr, false);
  if (j.is_array())
    for (const auto& p : j)
      if (p.is_array() && p.size() == 2 && p[0].is_number_integer() && p[1].is_number_integer())
        w.weights.push_back({p[0].get<int>(), p[1].get<uint16_t>()});
  return w;
}
constexpr const char* kWeightsCols = "hotkey, netuid, block, weights";

}  // namespace

Result<SubnetConfig> LocalLedger::subnet(int netuid) {
  for (const SubnetConfig& s : config_.subnets)
    if (s.netuid == netuid) return s;
  return db::unknown_subnet(netuid);
}

Result<int64_t> LocalLedger::balance(std::string_view coldkey, BlockNumber at) {
  if (auto pk = parse_address(coldkey); !pk.ok()) return pk.error();
  if (Status s = check_at(at); !s) return s.error();
  auto st = db_.prepare(
      "SELECT balance FROM balances WHERE address = ? AND block <= ? ORDER BY block DESC "
      "LIMIT 1");
  if (!st.ok()) return st.error();
  st->bind(1, coldkey).bind(2, at);
  auto row = st->step();
  if (!row.ok()) return row.error();
  return *row ? st->column_int(0) : int64_t{0};
}

Result<std::vector<Neuron>> LocalLedger::metagraph(int netuid, BlockNumber at) {
  if (auto s = subnet(netuid); !s.ok()) return s.error();
  if (Status s = check_at(at); !s) return s.error();
  auto st = db_.prepare(
      "SELECT uid, hotkey, coldkey, registered_at FROM neurons WHERE netuid = ? AND "
      "registered_at <= ? AND (deregistered_at IS NULL OR deregistered_at > ?) ORDER BY uid");
  if (st.ok()) st->bind(1, netuid).bind(2, at).bind(3, at);
  return collect<Neuron>(st, [](SqliteStmt& s) {
    return Neuron{static_cast<int>(s.column_int(0)), s.column_text(1), s.column_text(2),
                  s.column_int(3)};
  });
}

Result<std::vector<Commitment>> LocalLedger::commitments(int netuid, BlockNumber from_exclusive,
                                                         BlockNumber to_inclusive) {
  if (auto s = subnet(netuid); !s.ok()) return s.error();
  if (Status s = check_at(to_inclusive); !s) return s.error();
  auto st =
      db_.prepare(fmt::format("SELECT {} FROM commitments WHERE netuid = ? AND block > ? "
                              "AND block <= ? ORDER BY block, rowid",
                              kCommitmentCols));
  if (st.ok()) st->bind(1, netuid).bind(2, from_exclusive).bind(3, to_inclusive);
  return collect<Commitment>(st, commitment_row);
}

Result<std::optional<Commitment>> LocalLedger::commitment(int netuid, std::string_view hotkey,
                                                          BlockNumber at) {
  if (auto s = subnet(netuid); !s.ok()) return s.error();
  if (Status s = check_at(at); !s) return s.error();
  auto st =
      db_.prepare(fmt::format("SELECT {} FROM commitments WHERE netuid = ? AND hotkey = ? "
                              "AND block <= ? ORDER BY block DESC LIMIT 1",
                              kCommitmentCols));
  if (st.ok()) st->bind(1, netuid).bind(2, hotkey).bind(3, at);
  auto rows = collect<Commitment>(st, commitment_row);
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<Commitment>{};
  return std::optional<Commitment>{rows->front()};
}

Result<std::optional<Transfer>> LocalLedger::find_transfer_any(std::string_view id) {
  auto st = db_.prepare(fmt::format("SELECT {} FROM transfers WHERE id = ?", kTransferCols));
  if (st.ok()) st->bind(1, std::string_view(id));
  auto rows = collect<Transfer>(st, transfer_row);
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<Transfer>{};
  return std::optional<Transfer>{rows->front()};
}

Result<std::optional<Transfer>> LocalLedger::find_transfer(std::string_view id) {
  auto h = head();
  if (!h.ok()) return h.error();
  auto t = find_transfer_any(id);
  if (!t.ok() || !*t || (*t)->block <= h->number) return t;
  return std::optional<Transfer>{};  // still pending: not on the chain yet
}

Result<std::vector<Transfer>> LocalLedger::find_transfers(std::string_view from_coldkey,
                                                          std::string_view remark) {
  auto st =
      db_.prepare(fmt::format("SELECT {} FROM transfers WHERE from_addr = ? AND remark = ? "
                              "ORDER BY block, rowid",
                              kTransferCols));
  if (st.ok()) st->bind(1, from_coldkey).bind_blob(2, remark);
  return collect<Transfer>(st, transfer_row);
}

Result<std::vector<Commitment>> LocalLedger::commitment_history(int netuid,
                                                                std::string_view hotkey) {
  auto st =
      db_.prepare(fmt::format("SELECT {} FROM commitments WHERE netuid = ? AND hotkey = ? "
                              "ORDER BY block",
                              kCommitmentCols));
  if (st.ok()) st->bind(1, netuid).bind(2, hotkey);
  return collect<Commitment>(st, commitment_row);
}

Result<std::optional<WeightsSet>> LocalLedger::weights(int netuid,
                                                       std::string_view validator_hotkey,
                                                       BlockNumber at) {
  if (auto s = subnet(netuid); !s.ok()) return s.error();
  if (Status s = check_at(at); !s) return s.error();
  auto st =
      db_.prepare(fmt::format("SELECT {} FROM weights WHERE netuid = ? AND hotkey = ? AND "
                              "block <= ? ORDER BY block DESC LIMIT 1",
                              kWeightsCols));
  if (st.ok()) st->bind(1, netuid).bind(2, validator_hotkey).bind(3, at);
  auto rows = collect<WeightsSet>(st, weights_row);
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<WeightsSet>{};
  return std::optional<WeightsSet>{rows->front()};
}

Result<std::vector<WeightsSet>> LocalLedger::all_weights(int netuid, BlockNumber at) {
  if (auto s = subnet(netuid); !s.ok()) return s.error();
  if (Status s = check_at(at); !s) return s.error();
  auto st = db_.prepare(fmt::format(
      "SELECT {} FROM weights w WHERE netuid = ?1 AND block = (SELECT MAX(block) FROM weights "
      "WHERE netuid = ?1 AND hotkey = w.hotkey AND block <= ?2) ORDER BY hotkey",
      kWeightsCols));
  if (st.ok()) st->bind(1, netuid).bind(2, at);
  return collect<WeightsSet>(st, weights_row);
}

Result<int64_t> LocalLedger::weights_rate_limit(int netuid) {
  auto s = subnet(netuid);
  if (!s.ok()) return s.error();
  return s->weights_rate_limit;
}

Result<uint64_t> LocalLedger::next_nonce(std::string_view address) {
  auto st = db_.prepare("SELECT next_nonce FROM nonces WHERE address = ?");
  if (!st.ok()) return st.error();
  st->bind(1, address);
  auto row = st->step();
  if (!row.ok()) return row.error();
  return *row ? static_cast<uint64_t>(st->column_int(0)) : uint64_t{0};
}

Result<std::vector<CallRecord>> LocalLedger::calls_in_block(BlockNumber number) {
  auto st = db_.prepare(
      "SELECT id, block, seq, kind, signer, encoded, signature, cosignature FROM calls "
      "WHERE block = ? ORDER BY seq");
  if (st.ok()) st->bind(1, number);
  return collect<CallRecord>(st, [](SqliteStmt& s) {
    return CallRecord{s.column_text(0),
                      s.column_int(1),
                      static_cast<int>(s.column_int(2)),
                      s.column_text(3),
                      s.column_text(4),
                      SignedCall{s.column_blob(5), s.column_blob(6),
                                 s.column_is_null(7) ? std::string() : s.column_blob(7)}};
  });
}

Status LocalLedger::verify_chain() {
  auto h = head();
  if (!h.ok()) return h.error();
  auto corrupt = [](BlockNumber n, std::string_view why) {
    return Error{"chain_corrupt", fmt::format("block {}: {}", n, why)};
  };
  auto st = db_.prepare(
      "SELECT number, hash, parent_hash, timestamp_ms, calls_root FROM blocks ORDER BY number");
  if (!st.ok()) return st.error();
  auto chain = db_.prepare("SELECT value FROM config WHERE key = 'chain'");
  if (!chain.ok()) return chain.error();
  if (auto r = chain->step(); !r.ok() || !*r) return corrupt(0, "no configuration");
  std::string genesis_root = "0x" + sha256_hex("cacheon-genesis/1\n" + chain->column_text(0));
  std::string parent(db::kZeroHash);
  for (BlockNumber expect = 0;; ++expect) {
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    BlockNumber n = st->column_int(0);
    if (n != expect) return corrupt(expect, "missing");
    if (st->column_text(2) != parent) return corrupt(n, "parent hash does not match");
    std::string root = genesis_root;
    if (n > 0) {
      auto calls = calls_in_block(n);
      if (!calls.ok()) return calls.error();
      std::vector<std::string> ids;
      for (const CallRecord& c : *calls) {
        if (call_id(c.signed_call.encoded) != c.id) return corrupt(n, "a call's id mismatches");
        auto v = verify_signed_call(c.signed_call);
        if (!v.ok()) return corrupt(n, fmt::format("call {}: {}", c.id, v.error().message));
        ids.push_back(c.id);
      }
      root = db::calls_root(ids);
    }
    if (root != st->column_text(4)) return corrupt(n, "calls root does not match its calls");
    std::string hash = db::block_hash(parent, n, st->column_int(3), root);
    if (hash != st->column_text(1)) return corrupt(n, "hash does not match its contents");
    parent = hash;
  }
  return Status::Ok();
}

}  // namespace cacheon::ledger

// LocalLedger: opening and creating a chain, its configuration, the block clock and sealing.
// Reads are in local_ledger_reads.cpp, signed writes in local_ledger_writes.cpp.
#include "ledger/local_ledger.h"

#include <cmath>
#include <cstring>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/sha256.h"
#include "ledger/ledger_db.h"

namespace cacheon::ledger {
namespace {

// A clock chain left idle this long (in slots) is refused rather than caught up in one go.
constexpr int64_t kMaxCatchUpBlocks = 20'000'000;

const char* mode_name(BlockMode m) {
  switch (m) {
    case BlockMode::kClock:
      return "clock";
    case BlockMode::kOnDemand:
      return "on-demand";
    case BlockMode::kInstant:
      return "instant";
  }
  return "clock";
}

// The chain's parameters as stored (and hashed into the genesis block). Keys sort, so the dump
// is canonical.
nlohmann::json config_json(const ChainConfig& c, const std::string& faucet_address) {
  nlohmann::json j;
  j["schema"] = db::kSchemaVersion;
  j["mode"] = mode_name(c.mode);
  j["block_time_ms"] = c.block_time_ms;
  j["finality_depth"] = c.finality_depth;
  j["faucet"] = faucet_address;
  j["faucet_balance_rao"] = c.faucet_balance_rao;
  j["subnets"] = nlohmann::json::array();
  for (const SubnetConfig& s : c.subnets)
    j["subnets"].push_back({{"netuid", s.netuid},
                            {"max_uids", s.max_uids},
                            {"immunity_period", s.immunity_period},
                            {"weights_rate_limit", s.weights_rate_limit},
                            {"registration_burn_rao", s.registration_burn_rao}});
  return j;
}

Status validate_config(const ChainConfig& c) {
  auto bad = [](std::string m) { return Error{"bad_config", std::move(m)}; };
  if (c.mode == BlockMode::kClock && (c.block_time_ms < 1 || c.block_time_ms > 86'400'000))
    return bad("block time must be 1 ms .. 24 h");
  if (c.finality_depth < 0 || c.finality_depth > 1'000'000)
    return bad("finality depth must be 0 .. 1000000 blocks");
  if (c.faucet_balance_rao <= 0 || c.faucet_balance_rao > 9'000'000'000 * kRaoPerTao)
    return bad("faucet balance must be 1 rao .. 9e9 TAO");
  std::set<int> seen;
  for (const SubnetConfig& s : c.subnets) {
    if (s.netuid < 0 || s.netuid > 0xffff || !seen.insert(s.netuid).second)
      return bad(fmt::format("netuid {} is out of range 0..65535 or repeated", s.netuid));
    if (s.max_uids < 1 || s.max_uids > 65536) return bad("max UIDs must be 1 .. 65536");
    if (s.immunity_period < 0 || s.weights_rate_limit < 0 || s.registration_burn_rao < 0)
      return bad("immunity period, weights rate limit and burn must not be negative");
  }
  return Status::Ok();
}

Result<ChainConfig> parse_config(const std::string& text) {
  auto bad = [] { return Error{"not_a_ledger", "the ledger's configuration is unreadable"}; };
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad();
  try {
    if (j.at("schema").get<int>() != db::kSchemaVersion)
      return Error{"not_a_ledger", "the ledger was written by another schema version"};
    ChainConfig c;
    std::string mode = j.at("mode").get<std::string>();
    c.mode = mode == "on-demand" ? BlockMode::kOnDemand
             : mode == "instant" ? BlockMode::kInstant
                                 : BlockMode::kClock;
    c.block_time_ms = j.at("block_time_ms").get<int64_t>();
    c.finality_depth = j.at("finality_depth").get<int64_t>();
    c.faucet_balance_rao = j.at("faucet_balance_rao").get<int64_t>();
    c.subnets.clear();
    for (const auto& s : j.at("subnets"))
      c.subnets.push_back(SubnetConfig{s.at("netuid").get<int>(), s.at("max_uids").get<int>(),
                                       s.at("immunity_period").get<int64_t>(),
                                       s.at("weights_rate_limit").get<int64_t>(),
                                       s.at("registration_burn_rao").get<int64_t>()});
    if (Status s = validate_config(c); !s) return s.error();
    return c;
  } catch (const nlohmann::json::exception&) {
    return bad();
  }
}

Status put_config(SqliteDb& db, std::string_view key, std::string_view value) {
  auto st = db.prepare("INSERT INTO config (key, value) VALUES (?, ?)");
  if (!st.ok()) return st.error();
  st->bind(1, key).bind(2, value);
  return st->run();
}

Result<std::optional<std::string>> get_config(SqliteDb& db, std::string_view key) {
  auto st = db.prepare("SELECT value FROM config WHERE key = ?");
  if (!st.ok()) return st.error();
  st->bind(1, key);
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>{st->column_text(0)};
}

bool has_config_table(SqliteDb& db) {
  auto st = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'config'");
  if (!st.ok()) return false;
  auto row = st->step();
  return row.ok() && *row;
}

}  // namespace

Status parse_block_time(std::string_view text, ChainConfig& config) {
  if (text == "on-demand" || text == "instant") {
    config.mode = text == "instant" ? BlockMode::kInstant : BlockMode::kOnDemand;
    return Status::Ok();
  }
  double scale = 0;
  std::string_view number = text;
  if (text.ends_with("ms")) {
    scale = 1, number.remove_suffix(2);
  } else if (text.ends_with("s")) {
    scale = 1000, number.remove_suffix(1);
  }
  char* end = nullptr;
  std::string n(number);
  double v = scale > 0 && !n.empty() ? std::strtod(n.c_str(), &end) : -1;
  if (end == nullptr || *end != '\0' || !(v * scale >= 1) || v * scale > 86'400'000)
    return Error{"bad_block_time", fmt::format("bad block time \"{}\": use e.g. 12s, 500ms, "
                                               "on-demand or instant",
                                               std::string(text.substr(0, 40)))};
  config.mode = BlockMode::kClock;
  config.block_time_ms = static_cast<int64_t>(std::llround(v * scale));
  return Status::Ok();
}

std::string block_time_text(const ChainConfig& c) {
  if (c.mode != BlockMode::kClock) return mode_name(c.mode);
  return c.block_time_ms % 1000 == 0 ? fmt::format("{}s", c.block_time_ms / 1000)
                                     : fmt::format("{}ms", c.block_time_ms);
}

Result<std::unique_ptr<LocalLedger>> LocalLedger::create(const std::string& path,
                                                         const ChainConfig& config,
                                                         Options options) {
  if (Status s = validate_config(config); !s) return s.error();
  SqliteDb::Options o;
  o.busy_timeout_ms = options.busy_timeout_ms;
  auto db = SqliteDb::open(path, o);
  if (!db.ok()) return db.error();
  std::unique_ptr<LocalLedger> l(new LocalLedger(std::move(*db), std::move(options)));
  auto tx = SqliteTx::begin(l->db_);
  if (!tx.ok()) return tx.error();
  if (has_config_table(l->db_))
    return Error{"ledger_exists", fmt::format("{} already holds a ledger", path)};
  if (Status s = db::create_schema(l->db_); !s) return s.error();

  Keypair faucet = config.faucet_seed ? keypair_from_seed(*config.faucet_seed) : generate_keypair();
  std::string chain = config_json(config, faucet.address()).dump();
  int64_t genesis_ms = l->now();
  // The genesis block commits to the chain's parameters: its "calls root" is their hash.
  std::string root = "0x" + sha256_hex("cacheon-genesis/1\n" + chain);
  std::string hash = db::block_hash(db::kZeroHash, 0, genesis_ms, root);
  auto ins = l->db_.prepare(
      "INSERT INTO blocks (number, hash, parent_hash, timestamp_ms, calls_root) "
      "VALUES (0, ?, ?, ?, ?)");
  if (!ins.ok()) return ins.error();
  ins->bind(1, std::string_view(hash))
      .bind(2, db::kZeroHash)
      .bind(3, genesis_ms)
      .bind(4, std::string_view(root));
  for (Status s : {ins->run(), put_config(l->db_, "chain", chain),
                   put_config(l->db_, "faucet_seed", hex_encode(seed_of(faucet))),
                   db::set_balance(l->db_, faucet.address(), 0, config.faucet_balance_rao)})
    if (!s) return s.error();
  if (Status s = tx->commit(); !s) return s.error();
  if (Status s = l->load_config(); !s) return s.error();
  return l;
}

Result<std::unique_ptr<LocalLedger>> LocalLedger::open(const std::string& path, Options options) {
  SqliteDb::Options o;
  o.create = false;
  o.busy_timeout_ms = options.busy_timeout_ms;
  auto db = SqliteDb::open(path, o);
  if (!db.ok())
    return Error{"not_a_ledger", fmt::format("cannot open ledger {}: {} (create one with "
                                             "`cacheon ledger init`)",
                                             path, db.error().message)};
  std::unique_ptr<LocalLedger> l(new LocalLedger(std::move(*db), std::move(options)));
  if (!has_config_table(l->db_))
    return Error{"not_a_ledger", fmt::format("{} is not a cacheon ledger", path)};
  if (Status s = l->load_config(); !s) return s.error();
  return l;
}

Status LocalLedger::load_config() {
  auto chain = get_config(db_, "chain");
  if (!chain.ok()) return chain.error();
  if (!*chain) return Error{"not_a_ledger", "the ledger has no configuration"};
  auto c = parse_config(**chain);
  if (!c.ok()) return c.error();
  auto genesis = db::block_at(db_, 0);
  if (!genesis.ok()) return genesis.error();
  if (!*genesis) return Error{"not_a_ledger", "the ledger has no genesis block"};
  auto seed_hex = get_config(db_, "faucet_seed");
  if (!seed_hex.ok()) return seed_hex.error();
  auto seed = hex_decode(seed_hex->value_or(""));
  if (!seed.ok() || seed->size() != 32)
    return Error{"not_a_ledger", "the ledger's faucet key is unreadable"};
  std::array<uint8_t, 32> raw{};
  std::memcpy(raw.data(), seed->data(), 32);
  faucet_ = keypair_from_seed(raw);
  config_ = std::move(*c);
  genesis_hash_ = (*genesis)->hash;
  genesis_ms_ = (*genesis)->timestamp_ms;
  return Status::Ok();
}

int64_t LocalLedger::now() const { return options_.now_ms ? options_.now_ms() : wall_ms(); }

Keypair LocalLedger::faucet() const { return faucet_; }

Result<BlockInfo> LocalLedger::head_locked() { return db::last_block(db_); }

Result<BlockInfo> LocalLedger::seal_locked(BlockNumber number, int64_t timestamp_ms) {
  auto parent = db::block_at(db_, number - 1);
  if (!parent.ok()) return parent.error();
  CACHEON_ASSERT(parent->has_value());
  std::vector<std::string> ids;
  auto st = db_.prepare("SELECT id FROM calls WHERE block = ? ORDER BY seq");
  if (!st.ok()) return st.error();
  st->bind(1, number);
  for (;;) {
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    ids.push_back(st->column_text(0));
  }
  std::string root = db::calls_root(ids);
  BlockInfo b{number, db::block_hash((*parent)->hash, number, timestamp_ms, root), (*parent)->hash,
              timestamp_ms};
  auto ins = db_.prepare(
      "INSERT INTO blocks (number, hash, parent_hash, timestamp_ms, calls_root) "
      "VALUES (?, ?, ?, ?, ?)");
  if (!ins.ok()) return ins.error();
  ins->bind(1, b.number)
      .bind(2, std::string_view(b.hash))
      .bind(3, std::string_view(b.parent_hash))
      .bind(4, b.timestamp_ms)
      .bind(5, std::string_view(root));
  if (Status s = ins->run(); !s) return s.error();
  return b;
}

Status LocalLedger::catch_up_locked() {
  if (config_.mode != BlockMode::kClock) return Status::Ok();
  auto h = head_locked();
  if (!h.ok()) return h.error();
  int64_t due = (now() - genesis_ms_) / config_.block_time_ms;
  if (due - h->number > kMaxCatchUpBlocks)
    return Error{"clock_jump", fmt::format("{} blocks are due since the last one; refusing to "
                                           "produce that many (clock jumped?)",
                                           due - h->number)};
  for (BlockNumber n = h->number + 1; n <= due; ++n)
    if (auto b = seal_locked(n, genesis_ms_ + n * config_.block_time_ms); !b.ok()) return b.error();
  return Status::Ok();
}

Status LocalLedger::sync() {
  if (config_.mode != BlockMode::kClock) return Status::Ok();
  auto h = head_locked();
  if (!h.ok()) return h.error();
  if ((now() - genesis_ms_) / config_.block_time_ms <= h->number) return Status::Ok();
  auto tx = SqliteTx::begin(db_);
  if (!tx.ok()) return tx.error();
  if (Status s = catch_up_locked(); !s) return s;
  return tx->commit();
}

Result<BlockInfo> LocalLedger::produce_block() {
  if (config_.mode == BlockMode::kClock)
    return Error{"not_on_demand", fmt::format("this chain produces a block every {}; "
                                              "produce-block is for on-demand chains",
                                              block_time_text(config_))};
  auto tx = SqliteTx::begin(db_);
  if (!tx.ok()) return tx.error();
  auto h = head_locked();
  if (!h.ok()) return h.error();
  auto b = seal_locked(h->number + 1, std::max(now(), h->timestamp_ms));
  if (!b.ok()) return b.error();
  if (Status s = tx->commit(); !s) return s.error();
  return b;
}

Result<BlockInfo> LocalLedger::head() {
  if (Status s = sync(); !s) return s.error();
  return head_locked();
}

Result<BlockInfo> LocalLedger::finalized() {
  auto h = head();
  if (!h.ok()) return h.error();
  return block(std::max<BlockNumber>(0, h->number - config_.finality_depth));
}

Result<BlockInfo> LocalLedger::block(BlockNumber number) {
  if (Status s = sync(); !s) return s.error();
  auto b = db::block_at(db_, number);
  if (!b.ok()) return b.error();
  if (!*b) return Error{"unknown_block", fmt::format("block {} does not exist yet", number)};
  return **b;
}

Status LocalLedger::check_at(BlockNumber at) {
  auto h = head();
  if (!h.ok()) return h.error();
  if (at < 0 || at > h->number)
    return Error{"unknown_block",
                 fmt::format("block {} is not on the chain (head is {})", at, h->number)};
  return Status::Ok();
}

Result<std::vector<BlockInfo>> LocalLedger::blocks(BlockNumber from, BlockNumber to) {
  if (Status s = sync(); !s) return s.error();
  auto st = db_.prepare(
      "SELECT number, hash, parent_hash, timestamp_ms FROM blocks WHERE number BETWEEN ? AND ? "
      "ORDER BY number");
  if (!st.ok()) return st.error();
  st->bind(1, from).bind(2, to);
  std::vector<BlockInfo> out;
  for (;;) {
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) return out;
    out.push_back({st->column_int(0), st->column_text(1), st->column_text(2), st->column_int(3)});
  }
}

}  // namespace cacheon::ledger

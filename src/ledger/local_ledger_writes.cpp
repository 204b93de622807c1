// LocalLedger writes: every one is a signed call, verified, checked against the state the
// pending block sees, and applied in one transaction; a rejected call changes nothing.
#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ledger/ledger_db.h"
#include "ledger/local_ledger.h"

namespace cacheon::ledger {
namespace {

Error rejected(std::string code, std::string message) {
  return Error{std::move(code), std::move(message)};
}

// The pending block applies one call: the typed appliers below check and write its effects.
struct Apply {
  SqliteDb& db;
  const SubnetConfig* subnet;  // null for transfers
  BlockNumber block;           // the pending block
  const std::string& id;
};

Result<int64_t> existing_balance(SqliteDb& db, std::string_view address) {
  auto b = db::latest_balance(db, address);
  if (!b.ok()) return b.error();
  if (!*b)
    return rejected("unknown_signer", fmt::format("account {} does not exist on this ledger "
                                                  "(fund it first)",
                                                  address));
  return **b;
}

Status apply_transfer(Apply& a, const Call& c) {
  if (c.amount_rao <= 0) return rejected("bad_amount", "a transfer moves at least 1 rao");
  if (c.remark.size() > kMaxRemarkBytes)
    return rejected("too_large", fmt::format("remark is {} bytes; at most {}", c.remark.size(),
                                             kMaxRemarkBytes));
  auto from = existing_balance(a.db, c.signer);
  if (!from.ok()) return from.error();
  if (*from < c.amount_rao)
    return rejected("insufficient_balance", fmt::format("{} holds {} rao, the transfer needs {}",
                                                        c.signer, *from, c.amount_rao));
  if (Status s = db::set_balance(a.db, c.signer, a.block, *from - c.amount_rao); !s) return s;
  auto to = db::latest_balance(a.db, c.to);
  if (!to.ok()) return to.error();
  int64_t old = to->value_or(0);
  if (old > INT64_MAX - c.amount_rao) return rejected("overflow", "recipient balance overflows");
  if (Status s = db::set_balance(a.db, c.to, a.block, old + c.amount_rao); !s) return s;
  auto st = a.db.prepare(
      "INSERT INTO transfers (id, block, from_addr, to_addr, amount, remark) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return st.error();
  st->bind(1, std::string_view(a.id))
      .bind(2, a.block)
      .bind(3, std::string_view(c.signer))
      .bind(4, std::string_view(c.to))
      .bind(5, c.amount_rao)
      .bind_blob(6, c.remark);
  return st->run();
}

// The UID a new registration takes: the lowest free one, else the oldest non-immune
// registration's (deregistered here), else "subnet_full".
Result<int> take_uid(Apply& a) {
  auto st = a.db.prepare(
      "SELECT id, uid, registered_at FROM neurons WHERE netuid = ? AND deregistered_at IS NULL "
      "ORDER BY registered_at, uid");
  if (!st.ok()) return st.error();
  st->bind(1, a.subnet->netuid);
  std::set<int> used;
  std::optional<std::pair<int64_t, int>> oldest_mortal;  // (row id, uid)
  for (;;) {
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    int uid = static_cast<int>(st->column_int(1));
    used.insert(uid);
    if (!oldest_mortal && a.block - st->column_int(2) >= a.subnet->immunity_period)
      oldest_mortal = {st->column_int(0), uid};
  }
  for (int uid = 0; uid < a.subnet->max_uids; ++uid)
    if (!used.count(uid)) return uid;
  if (!oldest_mortal)
    return rejected("subnet_full",
                    fmt::format("subnet {} has all {} UIDs taken by registrations younger than "
                                "the immunity period ({} blocks)",
                                a.subnet->netuid, a.subnet->max_uids, a.subnet->immunity_period));
  auto dereg = a.db.prepare("UPDATE neurons SET deregistered_at = ? WHERE id = ?");
  if (!dereg.ok()) return dereg.error();
  dereg->bind(1, a.block).bind(2, oldest_mortal->first);
  if (Status s = dereg->run(); !s) return s.error();
  return oldest_mortal->second;
}

Status apply_register(Apply& a, const Call& c) {
  if (c.hotkey == c.signer) return rejected("bad_call", "a hotkey must differ from its coldkey");
  auto balance = existing_balance(a.db, c.signer);
  if (!balance.ok()) return balance.error();
  auto owner = a.db.prepare("SELECT coldkey FROM hotkey_owners WHERE hotkey = ?");
  if (!owner.ok()) return owner.error();
  owner->bind(1, std::string_view(c.hotkey));
  auto row = owner->step();
  if (!row.ok()) return row.error();
  bool owned = *row;
  if (owned && owner->column_text(0) != c.signer)
    return rejected("hotkey_owned", fmt::format("hotkey {} belongs to another coldkey", c.hotkey));
  auto active = db::active_neuron(a.db, c.netuid, c.hotkey);
  if (!active.ok()) return active.error();
  if (*active)
    return rejected("already_registered", fmt::format("hotkey {} already holds UID {} on subnet {}",
                                                      c.hotkey, (*active)->uid, c.netuid));
  int64_t burn = a.subnet->registration_burn_rao;
  if (*balance < burn)
    return rejected("insufficient_balance", fmt::format("registration burns {} rao; {} holds {}",
                                                        burn, c.signer, *balance));
  if (burn > 0)
    if (Status s = db::set_balance(a.db, c.signer, a.block, *balance - burn); !s) return s;
  auto uid = take_uid(a);
  if (!uid.ok()) return uid.error();
  auto ins = a.db.prepare(
      "INSERT INTO neurons (netuid, uid, hotkey, coldkey, registered_at) VALUES (?, ?, ?, ?, ?)");
  if (!ins.ok()) return ins.error();
  ins->bind(1, c.netuid)
      .bind(2, *uid)
      .bind(3, std::string_view(c.hotkey))
      .bind(4, std::string_view(c.signer))
      .bind(5, a.block);
  if (Status s = ins->run(); !s) return s;
  if (owned) return Status::Ok();
  auto own = a.db.prepare("INSERT INTO hotkey_owners (hotkey, coldkey, block) VALUES (?, ?, ?)");
  if (!own.ok()) return own.error();
  own->bind(1, std::string_view(c.hotkey)).bind(2, std::string_view(c.signer)).bind(3, a.block);
  return own->run();
}

Status require_registered(Apply& a, const Call& c) {
  auto n = db::active_neuron(a.db, c.netuid, c.signer);
  if (!n.ok()) return n.error();
  if (!*n)
    return rejected("not_registered",
                    fmt::format("hotkey {} is not registered on subnet {}", c.signer, c.netuid));
  return Status::Ok();
}

Status apply_commit(Apply& a, const Call& c) {
  if (c.data.empty() || c.data.size() > kMaxCommitmentBytes)
    return rejected("too_large", fmt::format("commitment data is {} bytes; 1..{} allowed",
                                             c.data.size(), kMaxCommitmentBytes));
  if (Status s = require_registered(a, c); !s) return s;
  // The latest commitment of a hotkey in one block wins (as on chain, one value per block).
  auto st = a.db.prepare(
      "INSERT INTO commitments (netuid, hotkey, block, data, call_id) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (netuid, hotkey, block) DO UPDATE SET data = excluded.data, "
      "call_id = excluded.call_id");
  if (!st.ok()) return st.error();
  st->bind(1, c.netuid)
      .bind(2, std::string_view(c.signer))
      .bind(3, a.block)
      .bind_blob(4, c.data)
      .bind(5, std::string_view(a.id));
  return st->run();
}

Status apply_set_weights(Apply& a, const Call& c) {
  if (Status s = require_registered(a, c); !s) return s;
  std::set<int> uids;
  for (const UidWeight& w : c.weights)
    if (w.uid < 0 || w.uid >= a.subnet->max_uids || !uids.insert(w.uid).second)
      return rejected("bad_weights", fmt::format("UID {} is out of range 0..{} or repeated", w.uid,
                                                 a.subnet->max_uids - 1));
  if (c.weights.empty()) return rejected("bad_weights", "no weights given");
  auto last = a.db.prepare("SELECT MAX(block) FROM weights WHERE netuid = ? AND hotkey = ?");
  if (!last.ok()) return last.error();
  last->bind(1, c.netuid).bind(2, std::string_view(c.signer));
  if (auto row = last->step(); !row.ok()) return row.error();
  if (!last->column_is_null(0)) {
    int64_t prev = last->column_int(0);
    if (a.block - prev < a.subnet->weights_rate_limit)
      return rejected(
          "rate_limited",
          fmt::format("weights were set at block {}; the next set is allowed from "
                      "block {} (rate limit {} blocks)",
                      prev, prev + a.subnet->weights_rate_limit, a.subnet->weights_rate_limit));
  }
  nlohmann::json j = nlohmann::json::array();
  for (const UidWeight& w : c.weights) j.push_back({w.uid, w.weight});
  auto st = a.db.prepare(
      "INSERT INTO weights (netuid, hotkey, block, weights) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (netuid, hotkey, block) DO UPDATE SET weights = excluded.weights");
  if (!st.ok()) return st.error();
  st->bind(1, c.netuid)
      .bind(2, std::string_view(c.signer))
      .bind(3, a.block)
      .bind(4, std::string_view(j.dump()));
  return st->run();
}

}  // namespace

Result<Receipt> LocalLedger::apply_locked(const SignedCall& sc) {
  auto call = verify_signed_call(sc);
  if (!call.ok()) return call.error();
  const Call& c = *call;
  if (c.genesis_hash != genesis_hash_)
    return rejected("wrong_chain", "the call was signed for another chain (genesis hash)");
  auto nonce = next_nonce(c.signer);
  if (!nonce.ok()) return nonce.error();
  if (c.nonce != *nonce)
    return rejected("bad_nonce", fmt::format("nonce {} for {}; expected {} (a replayed or "
                                             "out-of-order call)",
                                             c.nonce, c.signer, *nonce));
  const SubnetConfig* sub = nullptr;
  if (c.kind != CallKind::kTransfer) {
    auto it = std::find_if(config_.subnets.begin(), config_.subnets.end(),
                           [&](const SubnetConfig& s) { return s.netuid == c.netuid; });
    if (it == config_.subnets.end()) return db::unknown_subnet(c.netuid);
    sub = &*it;
  }
  auto h = head_locked();
  if (!h.ok()) return h.error();
  std::string id = call_id(sc.encoded);
  Apply a{db_, sub, h->number + 1, id};
  Status applied = c.kind == CallKind::kTransfer   ? apply_transfer(a, c)
                   : c.kind == CallKind::kRegister ? apply_register(a, c)
                   : c.kind == CallKind::kCommit   ? apply_commit(a, c)
                                                   : apply_set_weights(a, c);
  if (!applied) return applied.error();
  auto ins = db_.prepare(
      "INSERT INTO calls (id, block, seq, kind, signer, encoded, signature, cosignature) "
      "VALUES (?1, ?2, (SELECT COUNT(*) FROM calls WHERE block = ?2), ?3, ?4, ?5, ?6, ?7)");
  if (!ins.ok()) return ins.error();
  ins->bind(1, std::string_view(id))
      .bind(2, a.block)
      .bind(3, call_kind_name(c.kind))
      .bind(4, std::string_view(c.signer))
      .bind_blob(5, sc.encoded)
      .bind_blob(6, sc.signature);
  if (sc.cosignature.empty())
    ins->bind_null(7);
  else
    ins->bind_blob(7, sc.cosignature);
  auto bump = db_.prepare(
      "INSERT INTO nonces (address, next_nonce) VALUES (?, 1) "
      "ON CONFLICT (address) DO UPDATE SET next_nonce = next_nonce + 1");
  if (!bump.ok()) return bump.error();
  bump->bind(1, std::string_view(c.signer));
  for (Status s : {ins->run(), bump->run()})
    if (!s) return s.error();
  if (config_.mode == BlockMode::kInstant)
    if (auto b = seal_locked(a.block, std::max(now(), h->timestamp_ms)); !b.ok()) return b.error();
  return Receipt{id, a.block, c.kind};
}

Result<Receipt> LocalLedger::submit(const SignedCall& signed_call) {
  auto tx = SqliteTx::begin(db_);
  if (!tx.ok()) return tx.error();
  if (Status s = catch_up_locked(); !s) return s.error();
  auto r = apply_locked(signed_call);
  if (!r.ok()) return r;  // the transaction rolls back: nothing changed
  if (Status s = tx->commit(); !s) return s.error();
  return r;
}

Result<Receipt> LocalLedger::sign_and_submit(Call call, const Keypair& signer,
                                             const Keypair* cosigner) {
  auto tx = SqliteTx::begin(db_);
  if (!tx.ok()) return tx.error();
  if (Status s = catch_up_locked(); !s) return s.error();
  // Reading the nonce inside the write transaction: two processes signing with one key
  // cannot both take the same nonce.
  call.genesis_hash = genesis_hash_;
  call.signer = signer.address();
  auto nonce = next_nonce(call.signer);
  if (!nonce.ok()) return nonce.error();
  call.nonce = *nonce;
  auto sc = sign_call(call, signer, cosigner);
  if (!sc.ok()) return sc.error();
  auto r = apply_locked(*sc);
  if (!r.ok()) return r;
  if (Status s = tx->commit(); !s) return s.error();
  return r;
}

Result<Transfer> LocalLedger::transfer(const Keypair& from_coldkey, std::string_view to_coldkey,
                                       int64_t amount_rao, std::string_view remark) {
  if (auto pk = parse_address(to_coldkey); !pk.ok()) return pk.error();
  if (amount_rao <= 0) return rejected("bad_amount", "a transfer moves at least 1 rao");
  Call c;
  c.kind = CallKind::kTransfer;
  c.to = std::string(to_coldkey);
  c.amount_rao = amount_rao;
  c.remark = std::string(remark);
  auto r = sign_and_submit(std::move(c), from_coldkey, nullptr);
  if (!r.ok()) return r.error();
  return Transfer{r->call_id, r->block,           from_coldkey.address(), std::string(to_coldkey),
                  amount_rao, std::string(remark)};
}

Result<Transfer> LocalLedger::fund(std::string_view to_coldkey, int64_t amount_rao) {
  return transfer(faucet_, to_coldkey, amount_rao, "faucet");
}

Result<Neuron> LocalLedger::register_hotkey(const Keypair& coldkey, const Keypair& hotkey,
                                            int netuid) {
  Call c;
  c.kind = CallKind::kRegister;
  c.netuid = netuid;
  c.hotkey = hotkey.address();
  auto r = sign_and_submit(std::move(c), coldkey, &hotkey);
  if (!r.ok()) return r.error();
  auto n = db::active_neuron(db_, netuid, hotkey.address());
  if (!n.ok()) return n.error();
  CACHEON_ASSERT(n->has_value());
  return **n;
}

Result<Commitment> LocalLedger::commit(const Keypair& hotkey, int netuid, std::string_view data) {
  Call c;
  c.kind = CallKind::kCommit;
  c.netuid = netuid;
  c.data = std::string(data);
  auto r = sign_and_submit(std::move(c), hotkey, nullptr);
  if (!r.ok()) return r.error();
  return Commitment{hotkey.address(), netuid, r->block, std::string(data)};
}

Result<WeightsSet> LocalLedger::set_weights(const Keypair& validator_hotkey, int netuid,
                                            const std::vector<UidWeight>& weights) {
  if (weights.size() > kMaxWeights) return rejected("bad_weights", "too many weights");
  Call c;
  c.kind = CallKind::kSetWeights;
  c.netuid = netuid;
  c.weights = weights;
  auto r = sign_and_submit(std::move(c), validator_hotkey, nullptr);
  if (!r.ok()) return r.error();
  return WeightsSet{validator_hotkey.address(), netuid, r->block, weights};
}

}  // namespace cacheon::ledger

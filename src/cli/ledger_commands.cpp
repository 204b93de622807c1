// `cacheon ledger ...`: run a private arena's embedded chain (init, wallets, funding,
// registration, transfers) and inspect it (balances, blocks, metagraph, commitments, weights).
// The work lives in src/ledger; this file parses and prints.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/ledger_cli.h"
#include "ledger/units.h"
#include "ledger/wallet.h"

namespace cacheon::cli {
namespace {

using ledger::LocalLedger;
using nlohmann::json;

struct Opts {
  LedgerCliOptions common;
  // init
  std::string block_time = "12s", burn = "0", faucet = "1000000";
  int netuid = 1, max_uids = 256;
  int64_t immunity = 4096, rate_limit = 100, finality = 0;
  // wallets, accounts, amounts
  std::string name, hotkey, to, address, amount, remark;
  bool overwrite = false;
  int64_t at = -1, count = 1;
};

// Runs `body` with the opened ledger; errors become one line and an exit code.
int with_ledger(const Opts& o, const std::function<int(LocalLedger&)>& body) {
  auto l = open_ledger(o.common);
  if (!l.ok()) return report_error(l.error(), o.common.json);
  return body(**l);
}

// --at: the head when not given.
Result<int64_t> at_or_head(LocalLedger& l, int64_t at) {
  if (at >= 0) return at;
  auto h = l.head();
  if (!h.ok()) return h.error();
  return h->number;
}

int run_init(const Opts& o) {
  ledger::ChainConfig c;
  if (Status s = ledger::parse_block_time(o.block_time, c); !s)
    return report_error(s.error(), o.common.json);
  auto burn = ledger::parse_tao(o.burn), faucet = ledger::parse_tao(o.faucet);
  if (!burn.ok() || !faucet.ok())
    return report_error(burn.ok() ? faucet.error() : burn.error(), o.common.json);
  c.finality_depth = o.finality;
  c.faucet_balance_rao = *faucet;
  c.subnets = {ledger::SubnetConfig{o.netuid, o.max_uids, o.immunity, o.rate_limit, *burn}};
  if (o.common.db.empty())
    return report_error({"usage", "pass --db FILE (the ledger to create)"}, o.common.json);
  auto l = LocalLedger::create(o.common.db, c);
  if (!l.ok()) return report_error(l.error(), o.common.json);
  json j = {{"db", o.common.db},
            {"genesis_hash", (*l)->genesis_hash()},
            {"block_time", ledger::block_time_text(c)},
            {"faucet", (*l)->faucet().address()},
            {"faucet_balance_tao", ledger::format_tao(c.faucet_balance_rao)},
            {"netuid", o.netuid},
            {"max_uids", o.max_uids},
            {"immunity_period", o.immunity},
            {"weights_rate_limit", o.rate_limit},
            {"finality_depth", o.finality}};
  if (o.common.json) {
    print_json(j);
  } else {
    fmt::print(
        "created ledger {}\n  genesis  {}\n  blocks   {}\n  faucet   {} ({} TAO)\n"
        "  subnet   {}: {} UIDs, immunity {} blocks, weights every {} blocks\n",
        o.common.db, j["genesis_hash"].get<std::string>(), ledger::block_time_text(c),
        j["faucet"].get<std::string>(), o.faucet, o.netuid, o.max_uids, o.immunity, o.rate_limit);
  }
  return 0;
}

int run_info(const Opts& o) {
  return with_ledger(o, [&](LocalLedger& l) {
    auto h = l.head();
    auto f = l.finalized();
    if (!h.ok() || !f.ok()) return report_error(h.ok() ? f.error() : h.error(), o.common.json);
    json subnets = json::array();
    for (const auto& s : l.config().subnets)
      subnets.push_back({{"netuid", s.netuid},
                         {"max_uids", s.max_uids},
                         {"immunity_period", s.immunity_period},
                         {"weights_rate_limit", s.weights_rate_limit},
                         {"registration_burn_tao", ledger::format_tao(s.registration_burn_rao)}});
    json j = {{"genesis_hash", l.genesis_hash()},
              {"block_time", block_time_text(l.config())},
              {"finality_depth", l.config().finality_depth},
              {"head", to_json(*h)},
              {"finalized", f->number},
              {"faucet", l.faucet().address()},
              {"subnets", subnets}};
    if (o.common.json) {
      print_json(j);
      return 0;
    }
    fmt::print("genesis   {}\nblocks    {}\nhead      {} {} ({})\nfinalized {}\nfaucet    {}\n",
               l.genesis_hash(), block_time_text(l.config()), h->number, h->hash,
               utc_time(h->timestamp_ms), f->number, l.faucet().address());
    for (const auto& s : subnets) fmt::print("subnet    {}\n", s.dump());
    return 0;
  });
}

int run_wallet_create(const Opts& o) {
  const std::string& dir = o.common.wallets;
  json j = {{"wallet", o.name}, {"wallets_dir", dir}};
  ledger::KeyFileOptions ko;
  ko.overwrite = o.overwrite;
  auto existing = ledger::load_coldkey(dir, o.name);
  if (o.hotkey.empty() || !existing.ok()) {
    // A wallet's coldkey is only replaced when asked, and never as a side effect of --hotkey.
    ledger::KeyFileOptions cold = ko;
    if (!o.hotkey.empty()) cold.overwrite = false;
    auto k = ledger::create_coldkey(dir, o.name, cold);
    if (!k.ok()) return report_error(k.error(), o.common.json);
    j["coldkey"] = k->address();
    j["coldkey_created"] = true;
  } else {
    j["coldkey"] = existing->address();
    j["coldkey_created"] = false;
  }
  if (!o.hotkey.empty()) {
    auto h = ledger::create_hotkey(dir, o.name, o.hotkey, ko);
    if (!h.ok()) return report_error(h.error(), o.common.json);
    j["hotkey"] = o.hotkey;
    j["hotkey_address"] = h->address();
  }
  if (o.common.json) {
    print_json(j);
  } else {
    fmt::print("wallet {} in {}\n  coldkey {}{}\n", o.name, dir, j["coldkey"].get<std::string>(),
               j["coldkey_created"].get<bool>() ? " (new)" : "");
    if (!o.hotkey.empty())
      fmt::print("  hotkey  {} {} (new)\n", o.hotkey, j["hotkey_address"].get<std::string>());
  }
  return 0;
}

int run_wallet_list(const Opts& o) {
  auto list = ledger::list_wallets(o.common.wallets);
  if (!list.ok()) return report_error(list.error(), o.common.json);
  json j = json::array();
  for (const auto& w : *list) {
    json hot = json::array();
    for (const auto& [name, addr] : w.hotkeys) hot.push_back({{"name", name}, {"address", addr}});
    j.push_back({{"name", w.name}, {"coldkey", w.coldkey}, {"hotkeys", hot}});
  }
  if (o.common.json) {
    print_json(j);
    return 0;
  }
  if (list->empty()) fmt::print("no wallets in {}\n", o.common.wallets);
  for (const auto& w : *list) {
    fmt::print("{:<20} coldkey {}\n", w.name, w.coldkey.empty() ? "(unreadable)" : w.coldkey);
    for (const auto& [name, addr] : w.hotkeys) fmt::print("{:<20} hotkey  {} {}\n", "", addr, name);
  }
  return 0;
}

int print_transfer(const Opts& o, const ledger::Transfer& t, const char* what) {
  if (o.common.json)
    print_json(to_json(t));
  else
    fmt::print("{} {} TAO {} -> {} in block {}\n  transfer id {}\n", what,
               ledger::format_tao(t.amount_rao), t.from, t.to, t.block, t.id);
  return 0;
}

int run_fund(const Opts& o) {
  auto amount = ledger::parse_tao(o.amount);
  if (!amount.ok()) return report_error(amount.error(), o.common.json);
  auto to = resolve_account(o.common, o.to.empty() ? o.name : o.to);
  if (!to.ok()) return report_error(to.error(), o.common.json);
  return with_ledger(o, [&](LocalLedger& l) {
    auto t = l.fund(*to, *amount);
    return t.ok() ? print_transfer(o, *t, "funded") : report_error(t.error(), o.common.json);
  });
}

int run_transfer(const Opts& o) {
  auto amount = ledger::parse_tao(o.amount);
  if (!amount.ok()) return report_error(amount.error(), o.common.json);
  auto from = ledger::load_coldkey(o.common.wallets, o.name);
  if (!from.ok()) return report_error(from.error(), o.common.json);
  auto to = resolve_account(o.common, o.to);
  if (!to.ok()) return report_error(to.error(), o.common.json);
  return with_ledger(o, [&](LocalLedger& l) {
    auto t = l.transfer(*from, *to, *amount, o.remark);
    return t.ok() ? print_transfer(o, *t, "sent") : report_error(t.error(), o.common.json);
  });
}

int run_register(const Opts& o) {
  auto cold = ledger::load_coldkey(o.common.wallets, o.name);
  if (!cold.ok()) return report_error(cold.error(), o.common.json);
  auto hot = ledger::load_hotkey(o.common.wallets, o.name, o.hotkey);
  if (!hot.ok()) return report_error(hot.error(), o.common.json);
  return with_ledger(o, [&](LocalLedger& l) {
    auto n = l.register_hotkey(*cold, *hot, o.netuid);
    if (!n.ok()) return report_error(n.error(), o.common.json);
    if (o.common.json)
      print_json({{"netuid", o.netuid},
                  {"uid", n->uid},
                  {"hotkey", n->hotkey},
                  {"coldkey", n->coldkey},
                  {"block", n->registered_at}});
    else
      fmt::print("registered {} ({}) on subnet {}: UID {} from block {}\n", o.hotkey, n->hotkey,
                 o.netuid, n->uid, n->registered_at);
    return 0;
  });
}

int run_balance(const Opts& o) {
  auto who = resolve_account(o.common, o.address.empty() ? o.name : o.address);
  if (!who.ok()) return report_error(who.error(), o.common.json);
  return with_ledger(o, [&](LocalLedger& l) {
    auto at = at_or_head(l, o.at);
    auto b = at.ok() ? l.balance(*who, *at) : Result<int64_t>(at.error());
    if (!b.ok()) return report_error(b.error(), o.common.json);
    if (o.common.json)
      print_json({{"address", *who},
                  {"block", *at},
                  {"balance_rao", *b},
                  {"balance_tao", ledger::format_tao(*b)}});
    else
      fmt::print("{} TAO  {} at block {}\n", ledger::format_tao(*b), *who, *at);
    return 0;
  });
}

int run_produce(const Opts& o) {
  return with_ledger(o, [&](LocalLedger& l) {
    json out = json::array();
    for (int64_t i = 0; i < o.count; ++i) {
      auto b = l.produce_block();
      if (!b.ok()) return report_error(b.error(), o.common.json);
      auto calls = l.calls_in_block(b->number);
      json bj = to_json(*b);
      bj["calls"] = calls.ok() ? calls->size() : 0;
      if (!o.common.json)
        fmt::print("block {} {} ({} calls)\n", b->number, b->hash, bj["calls"].get<size_t>());
      out.push_back(bj);
    }
    if (o.common.json) print_json(out);
    return 0;
  });
}

int run_verify(const Opts& o) {
  return with_ledger(o, [&](LocalLedger& l) {
    Status s = l.verify_chain();
    if (!s) return report_error(s.error(), o.common.json);
    auto h = l.head();
    if (o.common.json)
      print_json({{"ok", true}, {"head", h.ok() ? h->number : -1}});
    else
      fmt::print("chain ok: {} blocks, every hash and signature checks out\n",
                 h.ok() ? h->number + 1 : 0);
    return 0;
  });
}

}  // namespace

// Inspection commands (blocks, metagraph, commitments, weights): ledger_inspect_commands.cpp.
void add_ledger_inspect_commands(CLI::App* ledger, const std::shared_ptr<LedgerCliOptions>& common,
                                 SubcommandRuns& runs);

void add_ledger_commands(CLI::App& app, SubcommandRuns& runs) {
  auto o = std::make_shared<Opts>();
  CLI::App* ledger = app.add_subcommand(
      "ledger",
      "The embedded ledger of a private arena: a signed, hash-chained SQLite chain "
      "with wallets, balances, a metagraph, commitments and weights");
  ledger->require_subcommand(1);
  auto add = [&](CLI::App* parent, const char* name, const char* help, bool wallets,
                 int (*run)(const Opts&)) {
    CLI::App* sub = parent->add_subcommand(name, help);
    add_ledger_options(sub, o->common, wallets);
    runs.emplace_back(sub, [o, run] { return run(*o); });
    return sub;
  };

  auto* init =
      add(ledger, "init", "Create a chain: genesis block, faucet key, one subnet", false, run_init);
  init->add_option("--block-time", o->block_time,
                   "12s, 500ms...: a block per slot, produced lazily by whoever looks; "
                   "on-demand: `ledger produce-block`; instant: every write seals its block")
      ->capture_default_str();
  init->add_option("--netuid", o->netuid, "Subnet id")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  init->add_option("--max-uids", o->max_uids,
                   "UIDs in the subnet; a full subnet recycles the "
                   "oldest non-immune registration")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  init->add_option("--immunity-period", o->immunity, "Blocks a new registration is immune")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  init->add_option("--weights-rate-limit", o->rate_limit,
                   "Blocks between two set_weights of one validator")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  init->add_option("--registration-burn", o->burn, "TAO burned per registration")
      ->capture_default_str();
  init->add_option("--finality-depth", o->finality, "finalized = head - depth")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(0), int64_t(1'000'000)));
  init->add_option("--faucet", o->faucet, "TAO the faucet holds at genesis")->capture_default_str();

  add(ledger, "info", "Chain parameters, head and finalized block, faucet", false, run_info);

  CLI::App* wallet = ledger->add_subcommand("wallet", "Ed25519 wallets (coldkey + hotkeys)");
  wallet->require_subcommand(1);
  auto* create = add(wallet, "create",
                     "Create a wallet's coldkey, or add a hotkey to it (--hotkey); never "
                     "replaces a key unless --overwrite",
                     true, run_wallet_create);
  create->add_option("--name", o->name, "Wallet name")->required();
  create->add_option("--hotkey", o->hotkey, "Also create this hotkey");
  create->add_flag("--overwrite", o->overwrite, "Replace an existing key (its secret is lost)");
  add(wallet, "list", "Wallets with their coldkey and hotkey addresses", true, run_wallet_list);

  auto* fund = add(ledger, "fund", "Send TAO from the faucet (a signed transfer)", true, run_fund);
  fund->add_option("--wallet", o->name, "Recipient wallet (its coldkey)");
  fund->add_option("--to", o->to, "Recipient address (instead of --wallet)");
  fund->add_option("--amount", o->amount, "TAO, e.g. 10 or 0.5")->required();

  auto* reg = add(ledger, "register",
                  "Register a wallet's hotkey on a subnet (coldkey signs, hotkey co-signs)", true,
                  run_register);
  reg->add_option("--wallet", o->name, "Wallet (its coldkey pays and owns)")->required();
  reg->add_option("--hotkey", o->hotkey, "Hotkey name in the wallet")->required();
  reg->add_option("--netuid", o->netuid, "Subnet id")->capture_default_str();

  auto* tr = add(ledger, "transfer", "Send TAO from a wallet's coldkey", true, run_transfer);
  tr->add_option("--wallet", o->name, "Sending wallet")->required();
  tr->add_option("--to", o->to, "Recipient: 0x address or wallet name")->required();
  tr->add_option("--amount", o->amount, "TAO")->required();
  tr->add_option("--remark", o->remark, "Remark stored with the transfer (at most 256 bytes)");

  auto* bal =
      add(ledger, "balance", "Balance of a wallet's coldkey or an address", true, run_balance);
  bal->add_option("--wallet", o->name, "Wallet name");
  bal->add_option("--address", o->address, "Address (instead of --wallet)");
  bal->add_option("--at", o->at, "Block (default: head)");

  auto* produce =
      add(ledger, "produce-block", "Seal the pending block now (on-demand and instant chains)",
          false, run_produce);
  produce->add_option("--count", o->count, "Blocks to produce")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(100000)));
  add(ledger, "verify", "Re-derive every block hash and re-verify every signature", false,
      run_verify);

  add_ledger_inspect_commands(ledger, std::shared_ptr<LedgerCliOptions>(o, &o->common), runs);
}

}  // namespace cacheon::cli

#include "cli/ledger_cli.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "ledger/units.h"
#include "ledger/wallet.h"

namespace cacheon::cli {

void add_ledger_options(CLI::App* app, LedgerCliOptions& o, bool wallets) {
  const char* env = std::getenv("CACHEON_LEDGER_DB");
  o.db = env != nullptr ? env : "";
  app->add_option("--db", o.db, "Ledger file (SQLite); default $CACHEON_LEDGER_DB");
  if (wallets) {
    o.wallets = ledger::default_wallets_dir();
    app->add_option("--wallets-dir", o.wallets,
                    "Wallet directory; default $CACHEON_HOME/wallets or ~/.cacheon/wallets")
        ->capture_default_str();
  }
  app->add_flag("--json", o.json, "Print JSON on stdout instead of a table");
}

int report_error(const Error& e, bool json) {
  static const std::set<std::string> usage = {
      "bad_name", "bad_amount",          "bad_address", "bad_block_time",   "bad_config",
      "usage",    "bad_image_reference", "bad_digest",  "bad_payment_proof"};
  fmt::print(stderr, "error: {} [{}]\n", e.message, e.code);
  if (json) print_json({{"error", {{"code", e.code}, {"message", e.message}}}});
  return usage.count(e.code) ? 2 : 1;
}

void print_json(const nlohmann::json& j) {
  std::cout << j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

Result<std::unique_ptr<ledger::LocalLedger>> open_ledger(const LedgerCliOptions& o) {
  if (o.db.empty()) return Error{"usage", "no ledger: pass --db FILE or set CACHEON_LEDGER_DB"};
  return ledger::LocalLedger::open(o.db);
}

Result<std::string> resolve_account(const LedgerCliOptions& o, const std::string& text) {
  if (text.starts_with("0x") || text.starts_with("0X")) {
    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    lower[1] = 'x';
    if (auto pk = ledger::parse_address(lower); !pk.ok()) return pk.error();
    return lower;
  }
  auto k = ledger::load_coldkey(o.wallets, text);
  if (!k.ok()) return k.error();
  return k->address();
}

std::string utc_time(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string short_hex(const std::string& hex) {
  return hex.size() <= 14 ? hex : hex.substr(0, 8) + ".." + hex.substr(hex.size() - 4);
}

nlohmann::json to_json(const ledger::Transfer& t) {
  return {{"id", t.id},
          {"block", t.block},
          {"from", t.from},
          {"to", t.to},
          {"amount_rao", t.amount_rao},
          {"amount_tao", ledger::format_tao(t.amount_rao)},
          {"remark", t.remark}};
}

nlohmann::json to_json(const ledger::BlockInfo& b) {
  return {{"number", b.number},
          {"hash", b.hash},
          {"parent_hash", b.parent_hash},
          {"timestamp_ms", b.timestamp_ms}};
}

}  // namespace cacheon::cli

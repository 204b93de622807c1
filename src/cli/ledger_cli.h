// Shared by `cacheon ledger ...` and `cacheon commit`: the common options (--db, --wallets-dir,
// --json), opening the ledger, naming accounts, and printing results and errors one way.
#pragma once
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "ledger/local_ledger.h"

namespace cacheon::cli {

struct LedgerCliOptions {
  std::string db;       // default $CACHEON_LEDGER_DB
  std::string wallets;  // default ledger::default_wallets_dir()
  bool json = false;
};

void add_ledger_options(CLI::App* app, LedgerCliOptions& o, bool wallets = true);

// Exit code for an error: 2 for bad input the user can fix on the command line, 1 otherwise.
// Prints "error: <message> [<code>]" on stderr (and {"error":{...}} on stdout with --json).
int report_error(const Error& e, bool json);
void print_json(const nlohmann::json& j);

Result<std::unique_ptr<ledger::LocalLedger>> open_ledger(const LedgerCliOptions& o);

// An account named on the command line: "0x..." (any case) or a wallet name (its coldkey).
Result<std::string> resolve_account(const LedgerCliOptions& o, const std::string& text);

// "2024-05-01 12:00:00Z" from epoch milliseconds.
std::string utc_time(int64_t ms);
std::string short_hex(const std::string& hex);  // 0x1234..abcd for tables

nlohmann::json to_json(const ledger::Transfer& t);
nlohmann::json to_json(const ledger::BlockInfo& b);

}  // namespace cacheon::cli

// Subcommand groups beyond bench/eval. Each group adds its subcommands to the app and a function
// that runs the group when one of them was parsed; main() dispatches. The work itself lives in
// the modules (ledger/, validator/, harness/): these files only parse and print.
#pragma once
#include <functional>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "dashboard/read_api.h"
#include "validator/config.h"

namespace cacheon::cli {

// (subcommand, run): run() returns the process exit code (0 ok, 1 failed, 2 usage, 3 arena-side).
using SubcommandRuns = std::vector<std::pair<CLI::App*, std::function<int()>>>;

void add_ledger_commands(CLI::App& app, SubcommandRuns& runs);     // cacheon ledger ...
void add_commit_command(CLI::App& app, SubcommandRuns& runs);      // cacheon commit
void add_check_command(CLI::App& app, SubcommandRuns& runs);       // cacheon check
void add_validator_commands(CLI::App& app, SubcommandRuns& runs);  // cacheon validator, worker
void add_worker_commands(CLI::App& app, SubcommandRuns& runs);     // cacheon worker (remote)
void add_dashboard_command(CLI::App& app, SubcommandRuns& runs);   // cacheon dashboard

// Where a validator configured by `c` keeps what the dashboard reads.
dashboard::DashboardSources dashboard_sources(const validator::ValidatorConfig& c);

}  // namespace cacheon::cli

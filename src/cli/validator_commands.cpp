// `cacheon validator --config FILE [--once]`: the arena's validator (src/validator) on the
// embedded ledger, with local-process servers. This file parses, wires and prints.
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "dashboard/server.h"
#include "harness/progress.h"
#include "ledger/local_ledger.h"
#include "ledger/wallet.h"
#include "store/arena_store.h"
#include "validator/config.h"
#include "remote/remote_executor.h"
#include "validator/launcher_factory.h"
#include "validator/validator.h"

namespace cacheon::cli {
namespace {

using nlohmann::json;

// The only global: what the signal handler may touch.
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

struct ValidatorOpts {
  std::string config;
  bool once = false;
  bool check_config = false;
  bool json = false;
  bool quiet = false;
};

int fail(const Error& e, bool as_json, int code) {
  if (as_json)
    std::cout << json{{"error", {{"code", e.code}, {"message", e.message}}}}.dump() << "\n";
  else
    fmt::print(stderr, "error: {}\n", e.message);
  return code;
}

json pass_json(const validator::PassReport& r) {
  return {{"block", r.block},
          {"scanned", r.scanned},
          {"accepted", r.accepted},
          {"rejected", r.rejected},
          {"deferred", r.deferred},
          {"duplicates", r.duplicates},
          {"queued", r.queued},
          {"round", r.round_id ? json(*r.round_id) : json(nullptr)},
          {"round_finished", r.round_finished},
          {"evaluations", r.evaluations},
          {"weights", r.weights},
          {"stopped", r.stopped}};
}

std::string short_key(const json& j) {
  if (!j.is_object()) return "-";
  std::string hk = j.value("hotkey", "");
  return fmt::format("{}..@{}", hk.substr(0, 10), j.value("commit_block", int64_t{0}));
}

// For people: the standings and the latest round, one line per participant.
void print_table(const validator::PassReport& r, const json& status) {
  fmt::print("pass at finalized block {}: {} new submission(s), {} paid, {} rejected, {} deferred, "
             "{} duplicate(s), {} queued\n",
             r.block, r.scanned, r.accepted, r.rejected, r.deferred, r.duplicates, r.queued);
  const json& lead = status["leader"];
  const json& run = status["runner_up"];
  fmt::print("leader:    {}  score {}\n", short_key(lead),
             lead.is_object() ? fmt::format("{:.4f}", lead.value("score", 0.0)) : "-");
  fmt::print("runner-up: {}  score {}\n", short_key(run),
             run.is_object() ? fmt::format("{:.4f}", run.value("score", 0.0)) : "-");
  if (status.contains("rounds") && !status["rounds"].empty()) {
    const json& round = status["rounds"][0];
    fmt::print("round {} (block {}, {}):\n", round.value("id", 0), round.value("block", 0),
               round.value("state", ""));
    fmt::print("  {:<10} {:<24} {:<8} {:>8}  {}\n", "role", "submission", "state", "score",
               "reason");
    for (const auto& e : round.value("evaluations", json::array())) {
      std::string score = "-", reason = "";
      if (e.contains("result")) {
        score = fmt::format("{:.4f}", e["result"].value("score", 0.0));
        reason = e["result"].value("reason_code", "");
      }
      fmt::print("  {:<10} {:<24} {:<8} {:>8}  {}\n", e.value("role", ""), short_key(e),
                 e.value("state", ""), score, reason);
    }
  }
  if (!r.weights.empty()) fmt::print("weights: {}\n", r.weights);
}

remote::RemoteWorkerOptions remote_options(const validator::RemoteWorkersConfig& c) {
  remote::RemoteWorkerOptions r;
  r.urls = c.workers;
  r.token_file = c.token_file;
  r.ca_file = c.ca_file;
  r.connect_timeout = c.connect;
  r.handshake_timeout = c.handshake;
  r.health_timeout = c.health;
  r.read_idle_timeout = c.read_idle;
  r.eval_timeout = c.evaluation;
  return r;
}

int run_validator(const ValidatorOpts& o) {
  auto cfg = validator::load_config(o.config);
  if (!cfg.ok()) return fail(cfg.error(), o.json, 2);
  if (o.check_config) {
    if (o.json)
      std::cout << json{{"ok", true}, {"config", o.config}}.dump() << "\n";
    else
      fmt::print("{}: ok (ledger {}, store {}, {} runner, {} local image(s))\n", o.config,
                 cfg->ledger_path, cfg->store_path, cfg->launcher_kind,
                 cfg->local_images.size());
    return 0;
  }
  auto crash = validator::CrashPoints::from_env();
  if (!crash.ok()) return fail(crash.error(), o.json, 2);
  auto ledger = ledger::LocalLedger::open(cfg->ledger_path);
  if (!ledger.ok()) return fail(ledger.error(), o.json, 3);
  auto hotkey = ledger::load_hotkey(cfg->wallets_dir, cfg->wallet, cfg->hotkey);
  if (!hotkey.ok()) return fail(hotkey.error(), o.json, 2);
  auto store = store::ArenaStore::open(cfg->store_path);
  if (!store.ok()) return fail(store.error(), o.json, 3);
  harness::Progress progress(harness::Progress::stderr_is_tty(), o.quiet);
  // Evaluations run in-process (servers from the configured launcher) or, with [remote]
  // workers, on remote GPU hosts (the launcher then lives on the worker).
  std::optional<validator::Launchers> launchers;
  std::unique_ptr<remote::RemoteExecutor> remote_executor;
  std::unique_ptr<validator::Validator> vp;
  if (cfg->remote.workers.empty()) {
    auto l = validator::make_launchers(*cfg, progress);
    if (!l.ok()) return fail(l.error(), o.json, 3);
    launchers = std::move(*l);
    vp = std::make_unique<validator::Validator>(*cfg, **ledger, *store, launchers->active(),
                                                *hotkey, progress, std::move(*crash));
  } else {
    auto ex = remote::RemoteExecutor::create(*cfg, remote_options(cfg->remote), progress);
    if (!ex.ok()) return fail(ex.error(), o.json, 3);
    remote_executor = std::move(*ex);
    vp = std::make_unique<validator::Validator>(*cfg, **ledger, *store, *remote_executor,
                                                *hotkey, progress, std::move(*crash));
  }
  validator::Validator& v = *vp;
  // The dashboard inside the validator ([dashboard] listen): the same server as `cacheon
  // dashboard`, reading the same files.
  std::unique_ptr<dashboard::DashboardServer> dash;
  if (!cfg->dashboard_listen.empty()) {
    dashboard::DashboardOptions dopt;
    dopt.rate_per_s = cfg->dashboard_rate_per_s;
    dopt.burst = cfg->dashboard_burst;
    if (Status s = dashboard::parse_listen(cfg->dashboard_listen, dopt); !s)
      return fail(s.error(), o.json, 2);
    dash = std::make_unique<dashboard::DashboardServer>(dopt, dashboard_sources(*cfg));
    if (Status s = dash->start(); !s) return fail(s.error(), o.json, 3);
    progress.message(fmt::format("dashboard: listening on http://{}:{}/", dopt.host, dash->port()));
  }

  if (o.once) {
    auto rep = v.run_once();
    if (!rep.ok()) return fail(rep.error(), o.json, 3);
    if (o.json)
      std::cout << json{{"pass", pass_json(*rep)}, {"status", v.status_json()}}.dump(1) << "\n";
    else
      print_table(*rep, v.status_json());
    return 0;
  }
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  progress.message(fmt::format("validator {} on netuid {}: polling every {:.1f} s (SIGTERM "
                               "stops after the current evaluation)",
                               hotkey->address(), cfg->netuid,
                               cfg->poll_interval.count() / 1000.0));
  int passes = v.run(g_stop);
  progress.message(fmt::format("validator stopped after {} pass(es)", passes));
  return 0;
}

}  // namespace

void add_validator_commands(CLI::App& app, SubcommandRuns& runs) {
  auto o = std::make_shared<ValidatorOpts>();
  auto* cmd = app.add_subcommand(
      "validator",
      "Run the arena's validator: scan commitments on the ledger, verify fees, dedupe, evaluate "
      "challengers against the leader and runner-up, keep standings, set weights");
  cmd->add_option("--config", o->config, "The validator's TOML file (see "
                                         "config/validator.example.toml for every key)")
      ->required();
  cmd->add_flag("--once", o->once, "Run one pass and print what it did, then exit");
  cmd->add_flag("--check-config", o->check_config, "Validate the config file and exit");
  cmd->add_flag("--json", o->json, "Machine-readable output (the pass report and the status)");
  cmd->add_flag("--quiet", o->quiet, "No progress lines on stderr");
  cmd->footer(
      "\nState lives in the store (SQLite); a restart resumes where the last run stopped. The "
      "status JSON for the dashboard is rewritten after every pass. Exit codes: 0 ok, 2 bad "
      "config or usage, 3 the ledger or store could not be used.\n"
      "CACHEON_CRASH_AT=<point>:<n> kills the process at a named point (crash tests; the points "
      "are listed in src/validator/crash_points.h).");
  runs.emplace_back(cmd, [o] { return run_validator(*o); });
}

}  // namespace cacheon::cli

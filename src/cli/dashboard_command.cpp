// `cacheon dashboard`: the read API, /metrics and the web UI over a validator's files, standalone
// (the validator can serve the same itself: [dashboard] listen). Read-only.
#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "dashboard/server.h"
#include "validator/config.h"

namespace cacheon::cli {
namespace {

std::atomic<bool> g_dashboard_stop{false};
extern "C" void on_dashboard_stop_signal(int) { g_dashboard_stop.store(true); }

struct DashboardOpts {
  std::string store, config, listen;  // listen "": the config's, else 127.0.0.1:8080
  std::string status, live, validator_log, logs_root;
  double rate = 20;
  int burst = 60;
};

int run_dashboard(const DashboardOpts& o) {
  dashboard::DashboardSources src;
  dashboard::DashboardOptions opt;
  opt.rate_per_s = o.rate;
  opt.burst = o.burst;
  if (!o.config.empty()) {
    auto cfg = validator::load_config(o.config);
    if (!cfg.ok()) {
      fmt::print(stderr, "error: {}\n", cfg.error().message);
      return 2;
    }
    src = dashboard_sources(*cfg);
    if (!cfg->dashboard_listen.empty() && o.listen.empty()) {
      if (Status s = dashboard::parse_listen(cfg->dashboard_listen, opt); !s) {
        fmt::print(stderr, "error: {}\n", s.error().message);
        return 2;
      }
    }
  } else {
    src = dashboard::DashboardSources::next_to_store(o.store);
  }
  for (auto [value, field] : {std::pair{&o.status, &src.status_path},
                              std::pair{&o.live, &src.live_path},
                              std::pair{&o.validator_log, &src.validator_log},
                              std::pair{&o.logs_root, &src.logs_root}})
    if (!value->empty()) *field = *value;
  if (!o.listen.empty() || o.config.empty()) {
    if (Status s = dashboard::parse_listen(o.listen.empty() ? "127.0.0.1:8080" : o.listen, opt);
        !s) {
      fmt::print(stderr, "error: {}\n", s.error().message);
      return 2;
    }
  }
  dashboard::DashboardServer server(opt, src);
  if (Status s = server.start(); !s) {
    fmt::print(stderr, "error: {}\n", s.error().message);
    return 3;
  }
  std::signal(SIGTERM, on_dashboard_stop_signal);
  std::signal(SIGINT, on_dashboard_stop_signal);
  const std::string host = opt.host.find(':') != std::string::npos ? "[" + opt.host + "]" : opt.host;
  fmt::print("dashboard: listening on http://{}:{}/ (store {})\n", host, server.port(),
             src.store_path);
  std::fflush(stdout);
  while (!g_dashboard_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server.stop();
  return 0;
}

}  // namespace

dashboard::DashboardSources dashboard_sources(const validator::ValidatorConfig& c) {
  return {c.store_path, c.status_path, c.live_path, c.log_path, c.logs_dir};
}

void add_dashboard_command(CLI::App& app, SubcommandRuns& runs) {
  auto o = std::make_shared<DashboardOpts>();
  auto* cmd = app.add_subcommand(
      "dashboard",
      "Serve the read-only dashboard (web UI at /, JSON API at /api/v1, Prometheus /metrics) "
      "over a validator's store and files");
  auto* store = cmd->add_option("--store", o->store,
                                "The validator's store (arena.db); status.json, live.json, "
                                "validator.log and logs/ are looked for next to it");
  auto* config = cmd->add_option("--config", o->config,
                                 "The validator's config: every path (and [dashboard] listen) "
                                 "from it");
  store->excludes(config);
  cmd->add_option("--listen", o->listen,
                  "HOST:PORT to serve on (port 0: any free port); default: the config's "
                  "[dashboard] listen, else 127.0.0.1:8080");
  cmd->add_option("--status", o->status, "status.json path (overrides the default)");
  cmd->add_option("--live", o->live, "live.json path (overrides the default)");
  cmd->add_option("--validator-log", o->validator_log, "The validator's log file");
  cmd->add_option("--logs-root", o->logs_root,
                  "Directory under which evaluation logs and reports are served");
  cmd->add_option("--rate", o->rate, "Requests per second allowed per client address")
      ->check(CLI::Range(0.1, 100000.0))
      ->capture_default_str();
  cmd->add_option("--burst", o->burst, "Burst of requests allowed per client address")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->footer(
      "Prints 'dashboard: listening on http://HOST:PORT/' once bound, then serves until "
      "SIGTERM/SIGINT.\nExit codes: 0 stopped, 2 bad usage or config, 3 could not bind.\n"
      "API reference: docs/dashboard.md");
  runs.emplace_back(cmd, [o, cmd] {
    if (o->store.empty() && o->config.empty()) {
      fmt::print(stderr, "error: give --store FILE or --config FILE\nrun 'cacheon dashboard "
                         "--help' for usage\n");
      return 2;
    }
    (void)cmd;
    return run_dashboard(*o);
  });
}

}  // namespace cacheon::cli

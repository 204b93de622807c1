// `cacheon worker`: the remote GPU worker daemon (src/remote), and its setup helpers
// `cacheon worker gen-cert` and `cacheon worker gen-token`. This file parses, wires and prints.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "harness/progress.h"
#include "remote/auth.h"
#include "remote/remote_executor.h"
#include "remote/tls.h"
#include "remote/worker_server.h"
#include "validator/config.h"
#include "validator/launcher_factory.h"
#include "validator/worker.h"

namespace cacheon::cli {
namespace {

std::atomic<bool> g_worker_stop{false};
extern "C" void on_worker_stop_signal(int) { g_worker_stop.store(true); }

struct WorkerOpts {
  std::string listen, token_file, cert, key, config;
  double eval_deadline_s = 0;  // 0: from the config (remote::worker_deadline_for)
  bool quiet = false;
  // gen-cert / gen-token
  std::string out, host;
  int days = 365;
};

// "HOST:PORT" or "[V6]:PORT" -> (host, port).
bool parse_listen(const std::string& text, std::string& host, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string p = text.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
    return false;
  const int v = std::stoi(p);
  if (v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

int run_gen_cert(const WorkerOpts& o) {
  auto files = remote::generate_self_signed(o.out, o.host, o.days);
  if (!files.ok()) {
    fmt::print(stderr, "error: {}\n", files.error().message);
    return files.error().code == "cert_exists" ? 1 : 2;
  }
  fmt::print("certificate: {}\nkey:         {} (mode 0600)\nGive the certificate (never the key) "
             "to the validator as its CA file.\n",
             files->cert, files->key);
  return 0;
}

int run_gen_token(const WorkerOpts& o) {
  Status st = remote::write_new_token_file(o.out);
  if (!st.ok()) {
    fmt::print(stderr, "error: {}\n", st.error().message);
    return 1;
  }
  fmt::print("token: {} (mode 0600): copy it to the validator over a secure channel\n", o.out);
  return 0;
}

int run_worker(const WorkerOpts& o) {
  remote::WorkerServerOptions so;
  if (!parse_listen(o.listen, so.host, so.port)) {
    fmt::print(stderr, "error: --listen must be HOST:PORT, e.g. 0.0.0.0:8443\n");
    return 2;
  }
  for (auto [flag, value] : {std::pair{"--token-file", &o.token_file}, {"--cert", &o.cert},
                             {"--key", &o.key}, {"--config", &o.config}})
    if (value->empty()) {
      fmt::print(stderr, "error: {} is required to serve\n", flag);
      return 2;
    }
  auto token = remote::Token::load(o.token_file);
  if (!token.ok()) {
    fmt::print(stderr, "error: {}\n", token.error().message);
    return 2;
  }
  auto cfg = validator::load_config(o.config);
  if (!cfg.ok()) {
    fmt::print(stderr, "error: {}\n", cfg.error().message);
    return 2;
  }
  // Plain lines (a daemon's log), also streamed to the validator through the sink.
  harness::Progress progress(false, o.quiet);
  auto launchers = validator::make_launchers(*cfg, progress);
  if (!launchers.ok()) {
    fmt::print(stderr, "error: {}\n", launchers.error().message);
    return 3;
  }
  validator::Worker worker(*cfg, launchers->active(), progress);
  so.cert_file = o.cert;
  so.key_file = o.key;
  so.eval_deadline = o.eval_deadline_s > 0
                         ? std::chrono::milliseconds(static_cast<int64_t>(o.eval_deadline_s * 1000))
                         : remote::worker_deadline_for(*cfg);
  so.log = [](const std::string& line) { fmt::print("{}\n", line), std::fflush(stdout); };
  runner::ContainerLauncher* containers = launchers->container();
  so.on_deadline = [containers] {
    fmt::print(stderr, "worker: an evaluation overran its deadline; exiting so the supervisor "
                       "restarts a clean worker\n");
    // Local servers die with us (PR_SET_PDEATHSIG); containers do not: remove them first.
    if (containers) (void)containers->sweep();
    std::_Exit(3);
  };
  remote::WorkerServer server(so, std::move(*token), worker);
  progress.set_sink([&server](const std::string& line) { server.progress_line(line); });
  if (Status st = server.start(); !st.ok()) {
    fmt::print(stderr, "error: {}\n", st.error().message);
    return 3;
  }
  std::signal(SIGTERM, on_worker_stop_signal);
  std::signal(SIGINT, on_worker_stop_signal);
  fmt::print("worker: listening on https://{}:{} (model {}, {} runner); SIGTERM stops after the "
             "current evaluation\n",
             so.host.find(':') != std::string::npos ? "[" + so.host + "]" : so.host,
             server.port(), cfg->model, cfg->launcher_kind);
  std::fflush(stdout);
  while (!g_worker_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  fmt::print("worker: stopping\n");
  std::fflush(stdout);
  server.stop();
  return 0;
}

}  // namespace

void add_worker_commands(CLI::App& app, SubcommandRuns& runs) {
  auto o = std::make_shared<WorkerOpts>();
  auto* cmd = app.add_subcommand(
      "worker",
      "Run a remote GPU worker: evaluations sent by a validator over HTTPS (TLS, token auth both "
      "ways) run here with this host's launcher, streaming progress and returning results and "
      "logs. One evaluation at a time.");
  cmd->add_option("--listen", o->listen, "Address to serve on, HOST:PORT (e.g. 0.0.0.0:8443)");
  cmd->add_option("--token-file", o->token_file,
                  "The secret shared with the validator (mode 0600, >= 32 bytes; see gen-token)");
  cmd->add_option("--cert", o->cert, "TLS certificate, PEM (see gen-cert)");
  cmd->add_option("--key", o->key, "TLS private key, PEM");
  cmd->add_option("--config", o->config,
                  "A validator TOML file: this worker uses its model, [workload], [timeouts], "
                  "[baseline], [launcher] and logs_dir");
  cmd->add_option("--eval-deadline", o->eval_deadline_s,
                  "Hard limit in seconds on one evaluation (default: the config's [timeouts] "
                  "evaluation_s + startup_s + 10 min); past it the validator is answered "
                  "worker_deadline and the worker exits (to be restarted clean)")
      ->check(CLI::Range(1.0, 7.0 * 86400));
  cmd->add_flag("--quiet", o->quiet, "No harness progress on stderr (still sent to the validator)");
  cmd->footer(
      "\nProtocol: GET /v1/health (no auth), POST /v1/evaluate (NDJSON stream), POST "
      "/v1/finish-job. Requests are HMAC-signed with the token (nonce + time, replays refused); "
      "each result carries the worker's HMAC proof. See docs/remote-workers.md.\n"
      "Exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad usage or config, 3 could not start.");

  auto* gen_cert = cmd->add_subcommand(
      "gen-cert", "Write a self-signed EC P-256 certificate and key (DIR/worker.crt, "
                  "DIR/worker.key) for this worker; no openssl CLI needed");
  gen_cert->add_option("--out", o->out, "Directory for worker.crt and worker.key")->required();
  gen_cert->add_option("--host", o->host,
                       "The DNS name or IP address the validator uses to reach this worker (the "
                       "certificate's SAN)")
      ->required();
  gen_cert->add_option("--days", o->days, "Validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  auto* gen_token = cmd->add_subcommand(
      "gen-token", "Write a fresh random token file (mode 0600) to share with the validator");
  gen_token->add_option("--out", o->out, "The token file to create")->required();

  runs.emplace_back(gen_cert, [o] { return run_gen_cert(*o); });
  runs.emplace_back(gen_token, [o] { return run_gen_token(*o); });
  runs.emplace_back(cmd, [o, gen_cert, gen_token] {
    if (gen_cert->parsed() || gen_token->parsed()) return 0;  // handled above
    if (o->listen.empty()) {
      fmt::print(stderr, "error: --listen is required (or use gen-cert / gen-token)\n");
      return 2;
    }
    return run_worker(*o);
  });
}

}  // namespace cacheon::cli

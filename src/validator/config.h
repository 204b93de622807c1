// The validator's configuration: one TOML file (toml++), every key documented in
// config/validator.example.toml with its default. Strict: an unknown key or table is an error (a
// typo must not silently fall back to a default), every value is range-checked, and every error
// names the key ("config_invalid": "FILE: workload.prompts: must be an integer in 1..100000").
// Relative paths are resolved against the config file's directory.
#pragma once
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "arena/standings.h"
#include "arena/weights.h"
#include "core/status.h"
#include "harness/eval.h"
#include "runner/container_launcher.h"

namespace cacheon::validator {

// How to start one server as a local process: argv (no shell). The process must print
// "listening on http://HOST:PORT" on stdout once bound (cacheon-engine serve --port 0 does).
struct CommandSpec {
  std::vector<std::string> argv;
};

// [remote]: evaluations run by remote GPU workers (`cacheon worker`, remote/) instead of the
// in-process worker. Mapped onto remote::RemoteWorkerOptions by the CLI.
struct RemoteWorkersConfig {
  std::vector<std::string> workers;  // "https://HOST:PORT", tried in order; empty: in-process
  std::string token_file;            // the shared secret (mode 0600)
  std::string ca_file;               // PEM pinning the workers' certificates
  std::chrono::milliseconds connect{5'000}, handshake{10'000}, health{10'000},
      read_idle{60'000};
  std::chrono::milliseconds evaluation{0};  // 0: derived from [timeouts]
};

struct ValidatorConfig {
  // [arena]
  std::string model = "Qwen2.5-72B-Instruct";  // served model name every server must list
  int netuid = 1;
  std::string payment_account;  // the arena's payment coldkey ("0x" + 64 hex); required
  int64_t fee_rao = 100'000'000;  // "0.1" TAO
  int64_t tempo = 360;           // weights at least every tempo blocks
  int max_challengers = 8;       // per round, earliest commits first
  int max_arena_retries = 3;     // re-queues after arena-side failures before giving up
  int64_t max_scan_blocks = 10'000;  // ledger blocks read per pass
  // [ledger]
  std::string ledger_path;  // LocalLedger file; required
  // [validator]
  std::string wallets_dir;  // default: ledger::default_wallets_dir()
  std::string wallet = "validator";
  std::string hotkey = "default";
  std::string store_path = "arena.db";
  std::string logs_dir = "logs";
  std::string status_path = "status.json";
  // The running round's progress and the validator's own log, for the dashboard ("" = off;
  // a config file defaults them to live.json and validator.log).
  std::string live_path;
  std::string log_path;
  std::chrono::milliseconds poll_interval{12'000};
  // [margin]
  arena::MarginPolicy margin;
  // [weights]
  arena::WeightPolicy weights;
  // [workload] and [timeouts]: the harness settings of every evaluation
  harness::PromptOptions prompts;  // block_hash is set per round
  harness::ScoringPolicy policy;
  harness::GateConfig gates;
  std::vector<char> sequence{'B', 'C', 'B'};
  harness::Workload workload;
  harness::RunOptions run;
  std::chrono::milliseconds startup_timeout{750'000};
  std::chrono::milliseconds stop_grace{10'000};
  // One candidate's whole evaluation, server start included: past it the server is stopped and
  // the result is evaluation_timeout (the candidate's fault).
  std::chrono::milliseconds evaluation_timeout{2 * 3'600'000};
  // [baseline]: a command (a local process) or an image "name@sha256:..." (run like the
  // submissions: by the container runner, or through [launcher.local.images])
  CommandSpec baseline;
  std::string baseline_image, baseline_digest;
  bool baseline_is_scorer = false;  // the baseline engine also serves teacher-forcing
  // [launcher] kind: "local" (processes from [launcher.local.images]) or "container"
  std::string launcher_kind = "local";
  // [launcher.local.images]: "name@sha256:..." -> command (a private arena's mapping)
  std::map<std::string, CommandSpec> local_images;
  // [launcher.container] and [launcher.sandbox]: the container runner (runner/)
  runner::ContainerLauncherOptions container;
  RemoteWorkersConfig remote;
  // [dashboard]: the read API and web UI served by the validator itself ("" = not served;
  // `cacheon dashboard` serves the same standalone).
  std::string dashboard_listen;          // "HOST:PORT"
  double dashboard_rate_per_s = 20;      // per client address
  int dashboard_burst = 60;

  std::string source;  // the file it came from ("" when parsed from text)
};

// base_dir resolves relative paths ("" = leave them as written).
Result<ValidatorConfig> parse_config(std::string_view toml_text, std::string_view source_name,
                                     const std::string& base_dir);
Result<ValidatorConfig> load_config(const std::string& path);

// The evaluation exactly as the validator runs it (the worker, and `cacheon check` for miners),
// with prompts seeded by block_hash (empty: the harness default).
harness::EvalConfig eval_config_for(const ValidatorConfig& config, std::string_view block_hash);

}  // namespace cacheon::validator

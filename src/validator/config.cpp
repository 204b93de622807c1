#include "validator/config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "arena/image_ref.h"
#include "ledger/keys.h"
#include "ledger/units.h"
#include "ledger/wallet.h"
#include "validator/config_reader.h"
#include "validator/config_runner.h"

namespace cacheon::validator {
namespace {

using detail::ConfigErrors;
using detail::read_container_runner;
using detail::read_remote;
using detail::read_sandbox;
using detail::TableReader;
namespace fs = std::filesystem;

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxArgs = 256;

// argv: a non-empty array of non-empty strings.
bool read_command(TableReader& r, std::string_view key, CommandSpec& out, bool required) {
  const toml::node* n = r.node(key);
  if (!n) {
    if (required) r.fail(key, "is required (the command line as an array of strings)");
    return false;
  }
  const toml::array* a = n->as_array();
  if (!a || a->empty() || a->size() > kMaxArgs) {
    r.fail(key, fmt::format("must be an array of 1..{} strings", kMaxArgs));
    return false;
  }
  CommandSpec spec;
  for (const auto& item : *a) {
    auto s = item.value<std::string>();
    if (!item.is_string() || !s || s->empty() || s->size() > 4096) {
      r.fail(key, "every element must be a non-empty string");
      return false;
    }
    spec.argv.push_back(std::move(*s));
  }
  out = std::move(spec);
  return true;
}

void read_arena(TableReader r, ValidatorConfig& c) {
  r.string("model", c.model, 256);
  r.integer("netuid", c.netuid, 0, 65535);
  if (r.node("payment_account")) {
    r.string("payment_account", c.payment_account, 66);
    if (!c.payment_account.empty() && !ledger::parse_address(c.payment_account).ok())
      r.fail("payment_account", "must be a ledger address: \"0x\" + 64 lowercase hex");
  }
  std::string fee;
  r.string("fee", fee, 32);
  if (!fee.empty()) {
    auto rao = ledger::parse_tao(fee);
    if (!rao.ok())
      r.fail("fee", "must be a TAO amount as a string, e.g. \"0.1\"");
    else
      c.fee_rao = *rao;
  }
  r.integer("tempo", c.tempo, 1, 1'000'000);
  r.integer("max_challengers", c.max_challengers, 1, 256);
  r.integer("max_arena_retries", c.max_arena_retries, 0, 100);
  r.integer("max_scan_blocks", c.max_scan_blocks, 1, 10'000'000);
  r.finish();
}

void read_validator(TableReader r, ValidatorConfig& c) {
  r.string("wallets_dir", c.wallets_dir);
  r.string("wallet", c.wallet, 64);
  r.string("hotkey", c.hotkey, 64);
  if (!ledger::validate_key_name(c.wallet).ok())
    r.fail("wallet", "must be 1..64 of [A-Za-z0-9_.-], not starting with '.'");
  if (!ledger::validate_key_name(c.hotkey).ok())
    r.fail("hotkey", "must be 1..64 of [A-Za-z0-9_.-], not starting with '.'");
  r.string("store", c.store_path);
  r.string("logs_dir", c.logs_dir);
  r.string("status_file", c.status_path);
  c.live_path = "live.json";
  c.log_path = "validator.log";
  r.string("live_file", c.live_path, 4096, true);
  r.string("log_file", c.log_path, 4096, true);
  r.seconds("poll_interval_s", c.poll_interval, 0.01, 3600);
  r.finish();
}

void read_margin(TableReader r, ValidatorConfig& c) {
  std::string kind(arena::to_string(c.margin.kind));
  r.string("policy", kind, 32);
  if (auto k = arena::parse_margin_kind(kind); k.ok())
    c.margin.kind = *k;
  else
    r.fail("policy", "must be \"decaying\" or \"fixed\"");
  r.number("initial", c.margin.initial, 0, 0.999);
  r.integer("decay_blocks", c.margin.decay_blocks, 1, int64_t(1) << 40);
  r.number("fixed", c.margin.fixed, 0, 0.999);
  r.finish();
}

void read_weights(TableReader r, ValidatorConfig& c) {
  r.number("leader_share", c.weights.leader_share, 0, 1);
  r.number("target", c.weights.target, 1e-9, 1e9);
  r.integer("burn_uid", c.weights.burn_uid, 0, 65535);
  if (const toml::node* n = r.node("schedule")) {
    const toml::array* a = n->as_array();
    if (!a || a->size() > 1000) return r.fail("schedule", "must be an array of tables");
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::table* t = (*a)[i].as_table();
      std::string key = fmt::format("schedule[{}]", i);
      if (!t) return r.fail(key, "must be a table {from_block = N, fraction = F}");
      ConfigErrors dummy;
      arena::PoolStep step{-1, -1};
      TableReader s(t, r.name(key), dummy);
      s.integer("from_block", step.from_block, 0, int64_t(1) << 50);
      s.number("fraction", step.fraction, 0, 1);
      s.finish();
      if (dummy.any()) return r.fail(key, dummy.first());
      if (step.from_block < 0 || step.fraction < 0)
        return r.fail(key, "needs both from_block and fraction");
      c.weights.schedule.push_back(step);
    }
  }
  if (Status st = arena::validate_weight_policy(c.weights); !st.ok())
    r.fail("schedule", st.error().message);
  r.finish();
}

void read_workload(TableReader r, ValidatorConfig& c) {
  auto& spec = c.prompts.spec;
  r.integer("prompts", spec.scored, 1, 10'000);
  r.integer("warmup", spec.warmup, 0, 1'000);
  r.integer("input_tokens", spec.input_tokens, 16, 10'000'000);
  r.integer("output_tokens", spec.output_tokens, 1, 10'000'000);
  r.integer("max_model_len", c.prompts.max_model_len, 0, int64_t(1) << 40);
  r.boolean("trim", c.prompts.trim);
  r.string("corpus", c.prompts.corpus, 4096, true);
  r.integer("top_logprobs", c.run.top_logprobs, 0, 20);
  r.boolean("ignore_eos", c.run.ignore_eos);
  std::string text;
  if (r.node("policy")) {
    r.string("policy", text, 64);
    if (auto p = harness::parse_policy(text); p.ok())
      c.policy = *p;
    else
      r.fail("policy", p.error().message);
  }
  text.clear();
  if (r.node("gates")) {
    r.string("gates", text, 256);
    if (auto g = harness::parse_gate_list(text); g.ok())
      c.gates = *g;
    else
      r.fail("gates", g.error().message);
  }
  text.clear();
  if (r.node("sequence")) {
    r.string("sequence", text, 64);
    if (auto s = harness::parse_sequence(text); s.ok())
      c.sequence = *s;
    else
      r.fail("sequence", s.error().message);
  }
  text.clear();
  if (r.node("load")) {
    r.string("load", text, 128);
    if (auto w = harness::Workload::parse(text); w.ok())
      c.workload = *w;
    else
      r.fail("load", w.error().message);
  }
  r.finish();
}

void read_timeouts(TableReader r, ValidatorConfig& c) {
  auto& t = c.run.timeouts;
  r.seconds("startup_s", c.startup_timeout, 0.1, 86'400);
  r.seconds("connect_s", t.connect, 0.001, 3'600);
  r.seconds("first_byte_s", t.first_byte, 0.001, 86'400);
  r.seconds("read_s", t.read_idle, 0.001, 86'400);
  r.seconds("request_s", t.total, 0.001, 86'400);
  r.seconds("stop_grace_s", c.stop_grace, 0, 3'600);
  r.seconds("evaluation_s", c.evaluation_timeout, 1, 7 * 86'400);
  r.finish();
}

void read_launcher(TableReader r, ValidatorConfig& c) {
  r.string("kind", c.launcher_kind, 32);
  if (c.launcher_kind != "local" && c.launcher_kind != "container")
    r.fail("kind", "must be \"local\" or \"container\"");
  if (const toml::table* t = r.table("container"))
    read_container_runner(TableReader(t, r.name("container"), r.errors()), c.container);
  if (const toml::table* t = r.table("sandbox"))
    read_sandbox(TableReader(t, r.name("sandbox"), r.errors()), c.container.sandbox);
  const toml::table* local = r.table("local");
  if (local) {
    TableReader l(local, r.name("local"), r.errors());
    if (const toml::table* images = l.table("images")) {
      for (const auto& [k, v] : *images) {
        (void)v;
        std::string key(k.str());
        std::string where = l.name("images") + ".\"" + key + "\"";
        auto ref = arena::parse_image_reference(key);
        if (!ref.ok() || ref->digest.empty()) {
          r.errors().add(where + ": the key must be an image reference with a digest, "
                                 "\"name@sha256:<64 hex>\"");
          continue;
        }
        TableReader img(images, l.name("images"), r.errors());
        CommandSpec spec;
        if (read_command(img, key, spec, true))
          c.local_images[*arena::pinned_reference(ref->name(), ref->digest)] = std::move(spec);
      }
    }
    l.finish();
  }
  r.finish();
}

std::string resolve(const std::string& base, const std::string& p) {
  if (p.empty() || base.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base) / p).lexically_normal().string();
}

}  // namespace

Result<ValidatorConfig> parse_config(std::string_view text, std::string_view source_name,
                                     const std::string& base_dir) {
  ValidatorConfig c;
  c.source = std::string(source_name);
  auto invalid = [&](const std::string& m) {
    return Error{"config_invalid", source_name.empty() ? m : fmt::format("{}: {}", source_name, m)};
  };
  if (text.size() > kMaxConfigBytes) return invalid("larger than 1 MiB");
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return invalid(fmt::format("line {}, column {}: {}", b.line, b.column, e.description()));
  }
  ConfigErrors errors;
  TableReader top(&root, "", errors);
  read_arena(TableReader(top.table("arena"), "arena", errors), c);
  {
    TableReader l(top.table("ledger"), "ledger", errors);
    std::string backend = "local";
    l.string("backend", backend, 32);
    if (backend != "local") l.fail("backend", "must be \"local\" (the embedded ledger)");
    l.string("path", c.ledger_path);
    l.finish();
  }
  read_validator(TableReader(top.table("validator"), "validator", errors), c);
  read_margin(TableReader(top.table("margin"), "margin", errors), c);
  read_weights(TableReader(top.table("weights"), "weights", errors), c);
  read_workload(TableReader(top.table("workload"), "workload", errors), c);
  read_timeouts(TableReader(top.table("timeouts"), "timeouts", errors), c);
  {
    TableReader b(top.table("baseline"), "baseline", errors);
    std::string image;
    b.string("image", image, 1024);
    read_command(b, "command", c.baseline, image.empty());
    if (!image.empty()) {
      auto ref = arena::parse_image_reference(image);
      if (!c.baseline.argv.empty())
        b.fail("image", "give either command or image, not both");
      else if (!ref.ok() || ref->digest.empty())
        b.fail("image", "must be an image reference with a digest, \"name@sha256:<64 hex>\"");
      else
        c.baseline_image = ref->name(), c.baseline_digest = ref->digest;
    }
    b.boolean("scorer", c.baseline_is_scorer);
    b.finish();
  }
  read_launcher(TableReader(top.table("launcher"), "launcher", errors), c);
  read_remote(TableReader(top.table("remote"), "remote", errors), c.remote);
  {
    TableReader d(top.table("dashboard"), "dashboard", errors);
    d.string("listen", c.dashboard_listen, 300, true);
    d.number("rate_per_s", c.dashboard_rate_per_s, 0.1, 100'000);
    int64_t burst = c.dashboard_burst;
    d.integer("burst", burst, 1, 100'000);
    c.dashboard_burst = static_cast<int>(burst);
    d.finish();
  }
  top.finish();
  if (!errors.any()) {
    if (c.payment_account.empty())
      errors.add("arena.payment_account: is required (the arena's payment coldkey address)");
    else if (c.ledger_path.empty())
      errors.add("ledger.path: is required (the embedded ledger's file)");
    else if (c.gates.teacher_forcing && !c.baseline_is_scorer)
      errors.add("workload.gates: teacher-forcing needs a trusted scorer: set baseline.scorer "
                 "= true");
    else if (Status st = arena::validate_margin_policy(c.margin); !st.ok())
      errors.add("margin: " + st.error().message);
    else if (c.launcher_kind == "container" && c.container.models_dir.empty())
      errors.add("launcher.container.models_dir: is required with kind = \"container\" (the "
                 "model directory mounted read-only at /models)");
    else if (c.launcher_kind == "container" && c.container.reach == runner::Reach::relay &&
             c.container.relay_image.empty())
      errors.add("launcher.container.relay_image: is required with reach = \"relay\" (build "
                 "it with scripts/build-relay-image.sh)");
  }
  if (errors.any()) return invalid(errors.first());
  if (c.wallets_dir.empty()) c.wallets_dir = ledger::default_wallets_dir();
  for (std::string* p : {&c.ledger_path, &c.wallets_dir, &c.store_path, &c.logs_dir,
                         &c.status_path, &c.live_path, &c.log_path, &c.prompts.corpus, &c.container.models_dir,
                         &c.remote.token_file, &c.remote.ca_file})
    *p = resolve(base_dir, *p);
  c.run.model = c.model;
  return c;
}

Result<ValidatorConfig> load_config(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error{"config_unreadable", "cannot read the config file " + path};
  std::string text;
  text.resize(kMaxConfigBytes + 1);
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  std::string base = fs::absolute(path).parent_path().string();
  return parse_config(text, path, base);
}

harness::EvalConfig eval_config_for(const ValidatorConfig& config, std::string_view block_hash) {
  harness::EvalConfig c;
  c.model = config.model;
  c.policy = config.policy;
  c.gates = config.gates;
  c.prompts = config.prompts;
  if (!block_hash.empty()) c.prompts.block_hash = std::string(block_hash);
  c.sequence = config.sequence;
  c.workload = config.workload;
  c.run = config.run;
  c.run.model = config.model;
  c.startup_timeout = config.startup_timeout;
  return c;
}

}  // namespace cacheon::validator

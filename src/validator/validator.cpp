#include "validator/validator.h"

#include <thread>

#include <fmt/format.h>

#include "core/clock.h"

namespace cacheon::validator {

arena::Standings standings_from_row(const std::optional<store::StandingsRow>& row) {
  arena::Standings s;
  if (!row) return s;
  auto holder = [](const store::StandingEntry& e) {
    return arena::Holder{e.key.hotkey, e.key.commit_block, e.uid, e.crowned_block, e.score};
  };
  if (row->leader) s.leader = holder(*row->leader);
  if (row->runner_up) s.runner_up = holder(*row->runner_up);
  return s;
}

store::StandingsRow row_from_standings(const arena::Standings& s, arena::BlockNumber block,
                                       const nlohmann::json& detail) {
  store::StandingsRow row;
  row.block = block;
  auto entry = [](const arena::Holder& h) {
    return store::StandingEntry{{h.hotkey, h.commit_block}, h.uid, h.score, h.crowned_block};
  };
  if (s.leader) row.leader = entry(*s.leader);
  if (s.runner_up) row.runner_up = entry(*s.runner_up);
  row.detail_json = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return row;
}

Validator::Validator(const ValidatorConfig& config, ledger::Ledger& ledger,
                     store::ArenaStore& store, runner::ServerLauncher& launcher, ledger::Keypair hotkey,
                     harness::Progress& progress, CrashPoints crash)
    : Validator(config, ledger, store, *new Worker(config, launcher, progress), std::move(hotkey),
                progress, std::move(crash)) {
  // The delegated constructor borrowed the Worker; this one owns it.
  own_worker_.reset(static_cast<Worker*>(&worker_));
}

Validator::Validator(const ValidatorConfig& config, ledger::Ledger& ledger,
                     store::ArenaStore& store, EvalExecutor& executor, ledger::Keypair hotkey,
                     harness::Progress& progress, CrashPoints crash)
    : config_(config),
      ledger_(ledger),
      store_(store),
      hotkey_(std::move(hotkey)),
      progress_(progress),
      crash_(std::move(crash)),
      worker_(executor),
      live_(config.live_path) {
  if (!config_.log_path.empty()) log_ = std::make_unique<LogFile>(config_.log_path);
  // Every message goes to the log file; phase ends too (the log shows how long each run took).
  progress_.set_observer([this](const harness::ProgressUpdate& u) {
    live_.on_progress(u);
    if (!log_) return;
    if (!u.message.empty())
      log_->write(u.message);
    else if (u.total > 0 && u.done == u.total)
      log_->write(fmt::format("{} {}/{}{}{}", u.phase, u.done, u.total, u.note.empty() ? "" : " ",
                              u.note));
  });
}

Validator::~Validator() { progress_.set_observer({}); }

Result<arena::Standings> Validator::current_standings() {
  auto row = store_.latest_standings();
  if (!row.ok()) return row.error();
  return standings_from_row(*row);
}

Result<std::vector<arena::MetagraphEntry>> Validator::metagraph_at(arena::BlockNumber block) {
  auto graph = ledger_.metagraph(config_.netuid, block);
  if (!graph.ok()) return graph.error();
  std::vector<arena::MetagraphEntry> out;
  for (const auto& n : *graph) out.push_back({n.uid, n.hotkey});
  return out;
}

Result<PassReport> Validator::run_once() {
  PassReport rep;
  auto fail = [&](const Error& e) -> Result<PassReport> {
    last_error_ = fmt::format("{}: {}", e.code, e.message);
    progress_.message("validator: " + last_error_);
    (void)publish_status(last_error_);
    return e;
  };
  auto fin = ledger_.finalized();
  if (!fin.ok()) return fail(fin.error());
  rep.block = fin->number;
  if (Status s = intake(*fin, rep); !s) return fail(s.error());

  auto open = store_.open_round();
  if (!open.ok()) return fail(open.error());
  std::optional<store::RoundRow> round = *open;
  if (!round) {
    auto planned = plan_round(*fin);
    if (!planned.ok()) return fail(planned.error());
    if (*planned) {
      auto r = store_.round(**planned);
      if (!r.ok()) return fail(r.error());
      round = *r;
    }
  }
  if (round) {
    if (Status s = run_round(*round, rep, stop_); !s) return fail(s.error());
  } else {
    // No challengers: no evaluation; keep the standings honest and the weights fresh.
    if (Status s = refresh_standings(*fin); !s) return fail(s.error());
    if (Status s = weights_step(std::nullopt, rep); !s) return fail(s.error());
  }
  last_error_.clear();
  if (Status s = publish_status(); !s) return fail(s.error());
  return rep;
}

int Validator::run(const std::atomic<bool>& stop) {
  stop_ = &stop;
  int passes = 0;
  while (!stop.load()) {
    auto rep = run_once();
    ++passes;
    if (rep.ok() && rep->round_id && !rep->stopped)
      progress_.message(fmt::format("pass at block {}: round {} {} ({} evaluations)", rep->block,
                                    *rep->round_id,
                                    rep->round_finished ? "finished" : "in progress",
                                    rep->evaluations));
    // A finished round may leave more challengers: go again at once.
    if (rep.ok() && rep->round_id && rep->round_finished) continue;
    const int64_t until = mono_ns() + config_.poll_interval.count() * 1'000'000;
    while (!stop.load() && mono_ns() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop_ = nullptr;
  return passes;
}

}  // namespace cacheon::validator

#include "validator/live_status.h"

#include <filesystem>
#include <fstream>

#include "core/clock.h"

namespace cacheon::validator {
namespace {

using nlohmann::json;

json inactive() {
  return {{"kind", "cacheon.validator.live"}, {"version", 1}, {"active", false},
          {"round", nullptr}, {"phase", nullptr}, {"step", nullptr}, {"current", nullptr},
          {"participants", json::array()}, {"message", nullptr}};
}

bool same_key(const json& p, const store::SubmissionKey& key) {
  return p.value("hotkey", "") == key.hotkey && p.value("commit_block", int64_t{-1}) ==
                                                    key.commit_block;
}

}  // namespace

LiveStatus::LiveStatus(std::string path, int64_t min_interval_ms)
    : path_(std::move(path)), min_interval_ms_(min_interval_ms), doc_(inactive()) {
  std::lock_guard lock(mu_);
  write_locked(true);  // a validator that starts says it is idle (a stale file is overwritten)
}

void LiveStatus::begin_round(int64_t round_id, const std::vector<store::EvaluationRow>& evals) {
  std::lock_guard lock(mu_);
  doc_ = inactive();
  doc_["active"] = true;
  doc_["round"] = round_id;
  doc_["started_ms"] = wall_ms();
  json parts = json::array();
  for (const auto& e : evals)
    parts.push_back({{"hotkey", e.participant.key.hotkey},
                     {"commit_block", e.participant.key.commit_block},
                     {"role", store::to_string(e.participant.role)},
                     {"state", store::to_string(e.state)}});
  doc_["participants"] = parts;
  write_locked(true);
}

void LiveStatus::evaluating(const store::SubmissionKey& key) {
  std::lock_guard lock(mu_);
  for (auto& p : doc_["participants"])
    if (same_key(p, key)) {
      p["state"] = "running";
      doc_["current"] = {{"hotkey", key.hotkey},
                         {"commit_block", key.commit_block},
                         {"role", p["role"]}};
    }
  doc_["phase"] = "starting";
  doc_["step"] = nullptr;
  write_locked(true);
}

void LiveStatus::evaluated(const store::SubmissionKey& key, const store::EvalResult& result) {
  std::lock_guard lock(mu_);
  for (auto& p : doc_["participants"])
    if (same_key(p, key)) {
      p["state"] = "done";
      p["passed"] = result.passed;
      p["reason_code"] = result.reason_code;
    }
  doc_["current"] = nullptr;
  doc_["phase"] = nullptr;
  doc_["step"] = nullptr;
  write_locked(true);
}

void LiveStatus::end_round() {
  std::lock_guard lock(mu_);
  doc_ = inactive();
  write_locked(true);
}

void LiveStatus::on_progress(const harness::ProgressUpdate& u) {
  std::lock_guard lock(mu_);
  if (!doc_.value("active", false)) return;
  if (!u.message.empty()) {
    doc_["message"] = std::string(u.message.substr(0, 500));
  } else {
    const bool new_phase = doc_["phase"] != json(std::string(u.phase));
    doc_["phase"] = std::string(u.phase.substr(0, 100));
    doc_["step"] = {{"done", u.done}, {"total", u.total},
                    {"note", std::string(u.note.substr(0, 200))}};
    write_locked(new_phase || u.done == u.total);
    return;
  }
  write_locked(false);
}

json LiveStatus::snapshot() const {
  std::lock_guard lock(mu_);
  return doc_;
}

void LiveStatus::write_locked(bool force) {
  if (path_.empty()) return;
  const int64_t now = wall_ms();
  if (!force && now - last_write_ms_ < min_interval_ms_) return;
  last_write_ms_ = now;
  doc_["updated_ms"] = now;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p(path_);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << doc_.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    if (!f) return;  // best effort: the dashboard shows it stale
  }
  fs::rename(tmp, p, ec);
}

}  // namespace cacheon::validator

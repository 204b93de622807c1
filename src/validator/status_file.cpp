// The status document for the dashboard: standings, the latest round with every evaluation,
// the queue, recent submissions and weights. Written atomically (temporary file + rename).
#include <filesystem>
#include <fstream>

#include "core/clock.h"
#include "validator/validator.h"

namespace cacheon::validator {
namespace {

using nlohmann::json;

json entry_json(const std::optional<store::StandingEntry>& e) {
  if (!e) return nullptr;
  return {{"hotkey", e->key.hotkey},
          {"commit_block", e->key.commit_block},
          {"uid", e->uid},
          {"score", e->score},
          {"crowned_block", e->crowned_block}};
}

json weights_json(const store::WeightsRow& w) {
  json v = json::array();
  for (const auto& x : w.weights) v.push_back({{"uid", x.uid}, {"weight", x.weight}});
  return {{"state", store::to_string(w.state)},
          {"intent_block", w.intent_block},
          {"set_block", w.set_block ? json(*w.set_block) : json(nullptr)},
          {"round", w.round_id ? json(*w.round_id) : json(nullptr)},
          {"reason", w.reason},
          {"weights", v}};
}

json eval_json(const store::EvaluationRow& e) {
  json j = {{"position", e.participant.position},
            {"role", store::to_string(e.participant.role)},
            {"hotkey", e.participant.key.hotkey},
            {"commit_block", e.participant.key.commit_block},
            {"image", e.participant.image},
            {"digest", e.participant.digest},
            {"state", store::to_string(e.state)},
            {"attempts", e.attempts}};
  if (e.result) {
    const auto& r = *e.result;
    json prompts = json::array();
    for (const auto& p : r.prompts)
      prompts.push_back({{"prompt", p.prompt_index},
                         {"baseline_tokens", p.baseline_tokens},
                         {"candidate_tokens", p.candidate_tokens},
                         {"baseline_e2e_ms", p.baseline_e2e_ms ? json(*p.baseline_e2e_ms) : json()},
                         {"candidate_e2e_ms",
                          p.candidate_e2e_ms ? json(*p.candidate_e2e_ms) : json()},
                         {"candidate_ttft_ms",
                          p.candidate_ttft_ms ? json(*p.candidate_ttft_ms) : json()},
                         {"improvement", p.improvement},
                         {"gates_passed", p.gates_passed},
                         {"note", p.note}});
    j["result"] = {{"decided", r.decided}, {"passed", r.passed},   {"score", r.score},
                   {"reason_code", r.reason_code}, {"message", r.message}, {"blame", r.blame},
                   {"report", r.report_path},  {"logs", r.logs_path}, {"prompts", prompts}};
  }
  return j;
}

}  // namespace

json Validator::status_json() {
  json s = {{"kind", "cacheon.validator.status"},
            {"version", 1},
            {"updated_ms", wall_ms()},
            {"validator", hotkey_.address()},
            {"netuid", config_.netuid},
            {"model", config_.model},
            {"error", last_error_.empty() ? json(nullptr) : json(last_error_)}};
  if (auto cursor = store_.scan_cursor(); cursor.ok()) s["scanned_to_block"] = *cursor;
  if (auto st = store_.latest_standings(); st.ok() && st->has_value()) {
    s["leader"] = entry_json((*st)->leader);
    s["runner_up"] = entry_json((*st)->runner_up);
    s["standings_block"] = (*st)->block;
    s["standings_detail"] = json::parse((*st)->detail_json, nullptr, false);
  } else {
    s["leader"] = nullptr;
    s["runner_up"] = nullptr;
  }
  if (auto hist = store_.standings_history(20); hist.ok()) {
    json h = json::array();
    for (const auto& r : *hist)
      h.push_back({{"block", r.block},
                   {"round", r.round_id ? json(*r.round_id) : json(nullptr)},
                   {"leader", entry_json(r.leader)},
                   {"runner_up", entry_json(r.runner_up)}});
    s["standings_history"] = h;
  }
  json rounds = json::array();
  if (auto rs = store_.rounds(); rs.ok()) {
    for (size_t i = 0; i < rs->size() && i < 10; ++i) {
      const auto& r = (*rs)[i];
      json rj = {{"id", r.id},
                 {"block", r.block},
                 {"block_hash", r.block_hash},
                 {"state", store::to_string(r.state)}};
      if (auto ev = store_.evaluations(r.id); ev.ok()) {
        json a = json::array();
        for (const auto& e : *ev) a.push_back(eval_json(e));
        rj["evaluations"] = a;
      }
      rounds.push_back(std::move(rj));
    }
  }
  s["rounds"] = rounds;
  json subs = json::array();
  if (auto all = store_.all_submissions(); all.ok()) {
    size_t from = all->size() > 200 ? all->size() - 200 : 0;  // the newest 200
    for (size_t i = from; i < all->size(); ++i) {
      const auto& r = (*all)[i];
      subs.push_back({{"hotkey", r.sub.hotkey},
                      {"commit_block", r.sub.commit_block},
                      {"image", r.sub.image},
                      {"digest", r.sub.digest},
                      {"state", store::to_string(r.state)},
                      {"reason", r.reason},
                      {"message", r.message}});
    }
  }
  s["submissions"] = subs;
  json weights = json::array();
  if (auto ws = store_.weights_history(10); ws.ok())
    for (const auto& w : *ws) weights.push_back(weights_json(w));
  s["weights"] = weights;
  return s;
}

Status Validator::publish_status(const std::string& error) {
  if (config_.status_path.empty()) return {};
  if (!error.empty()) last_error_ = error;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path path(config_.status_path);
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  std::string tmp = config_.status_path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << status_json().dump(1, ' ', false, json::error_handler_t::replace) << "\n";
    if (!f) return Error{"status_write_failed", "cannot write " + tmp};
  }
  fs::rename(tmp, path, ec);
  if (ec) return Error{"status_write_failed", "cannot rename " + tmp + ": " + ec.message()};
  return {};
}

}  // namespace cacheon::validator

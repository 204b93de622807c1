#include "dashboard/api_json.h"

#include <fmt/format.h>

#include "dashboard/files.h"
#include "dashboard/reason_text.h"

namespace cacheon::dashboard {

using nlohmann::json;

json opt(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

UidMap uids_of_round(store::ArenaStore& store, int64_t round_id) {
  UidMap out;
  auto row = store::standings_of_round(store, round_id);
  if (!row.ok() || !row->has_value()) return out;
  json d = json::parse((*row)->detail_json, nullptr, false);
  if (!d.is_object() || !d.contains("results") || !d["results"].is_array()) return out;
  for (const auto& r : d["results"])
    if (r.is_object() && r.contains("hotkey") && r["hotkey"].is_string() && r.contains("uid") &&
        r["uid"].is_number_integer() && r["uid"].get<int64_t>() >= 0)
      out[r["hotkey"].get<std::string>()] = r["uid"].get<int>();
  return out;
}

json eval_summary_json(const store::EvaluationRow& e, const UidMap& uids) {
  const auto uid = uids.find(e.participant.key.hotkey);
  std::optional<int64_t> duration;
  if (e.started_ms && e.finished_ms) duration = *e.finished_ms - *e.started_ms;
  json j = {{"id", e.id},
            {"round", e.round_id},
            {"position", e.participant.position},
            {"role", store::to_string(e.participant.role)},
            {"hotkey", e.participant.key.hotkey},
            {"commit_block", e.participant.key.commit_block},
            {"uid", uid == uids.end() ? json(nullptr) : json(uid->second)},
            {"image", e.participant.image},
            {"digest", e.participant.digest},
            {"state", store::to_string(e.state)},
            {"attempts", e.attempts},
            {"started_ms", opt(e.started_ms)},
            {"finished_ms", e.state == store::EvalState::done ? opt(e.finished_ms) : json()},
            {"duration_ms", e.state == store::EvalState::done ? opt(duration) : json()},
            {"decided", nullptr},
            {"passed", nullptr},
            {"score", nullptr},
            {"reason_code", nullptr},
            {"blame", nullptr},
            {"message", nullptr}};
  if (e.result) {
    const auto& r = *e.result;
    j["decided"] = r.decided;
    j["passed"] = r.passed;
    j["score"] = r.score;
    j["reason_code"] = r.reason_code;
    j["blame"] = r.blame;
    j["message"] = r.message;
  }
  return j;
}

json eval_detail_json(const store::EvaluationRow& e, const UidMap& uids,
                      const std::string& logs_root) {
  json j = eval_summary_json(e, uids);
  json prompts = json::array();
  json links = {{"logs", nullptr}, {"report", nullptr}, {"report_html", nullptr}};
  j["reason_text"] = nullptr;
  j["fingerprint"] = nullptr;
  if (e.result) {
    const auto& r = *e.result;
    j["reason_text"] = reason_text(r.reason_code, r.decided, r.passed, r.score, r.message);
    if (!r.fingerprint.empty()) j["fingerprint"] = r.fingerprint;
    for (const auto& p : r.prompts)
      prompts.push_back({{"index", p.prompt_index},
                         {"baseline_tokens", p.baseline_tokens},
                         {"candidate_tokens", p.candidate_tokens},
                         {"baseline_e2e_ms", opt(p.baseline_e2e_ms)},
                         {"candidate_e2e_ms", opt(p.candidate_e2e_ms)},
                         {"candidate_ttft_ms", opt(p.candidate_ttft_ms)},
                         {"improvement", p.improvement},
                         {"gates_passed", p.gates_passed},
                         {"note", p.note}});
    const std::string base = fmt::format("/api/v1/evaluations/{}", e.id);
    if (servable(r.logs_path, logs_root)) links["logs"] = base + "/logs";
    if (servable(r.report_path, logs_root)) {
      links["report"] = base + "/report";
      links["report_html"] = base + "/report.html";
    }
  }
  j["prompts"] = prompts;
  j["links"] = links;
  return j;
}

json round_summary_json(const store::RoundSummary& r) {
  return {{"id", r.round.id},
          {"block", r.round.block},
          {"block_hash", r.round.block_hash},
          {"state", store::to_string(r.round.state)},
          {"created_ms", opt(r.round.created_ms)},
          {"participants", r.participants},
          {"passed", r.passed},
          {"failed", r.failed},
          {"undecided", r.undecided},
          {"pending", r.pending}};
}

json placement_json(store::ArenaStore& store, const std::optional<store::StandingEntry>& e) {
  if (!e) return nullptr;
  json j = {{"uid", e->uid},
            {"hotkey", e->key.hotkey},
            {"commit_block", e->key.commit_block},
            {"score", e->score},
            {"crowned_block", e->crowned_block},
            {"image", nullptr},
            {"digest", nullptr},
            {"evaluation_id", nullptr}};
  if (auto sub = store.submission(e->key); sub.ok() && sub->has_value()) {
    j["image"] = (*sub)->sub.image;
    j["digest"] = (*sub)->sub.digest;
  }
  if (auto evals = store.evaluations_of(e->key); evals.ok() && !evals->empty())
    j["evaluation_id"] = evals->back().id;
  return j;
}

json history_item_json(store::ArenaStore& store, const store::StandingsRow& row) {
  json d = json::parse(row.detail_json, nullptr, false);
  if (!d.is_object()) d = json::object();
  auto number_or_null = [&](const char* key) {
    return d.contains(key) && d[key].is_number() ? d[key] : json(nullptr);
  };
  json events = json::array();
  if (d.contains("events") && d["events"].is_array()) events = d["events"];
  return {{"id", row.id},
          {"round", opt(row.round_id)},
          {"block", row.block},
          {"recorded_ms", opt(row.recorded_ms)},
          {"leader", placement_json(store, row.leader)},
          {"runner_up", placement_json(store, row.runner_up)},
          {"margin", number_or_null("margin")},
          {"overtake_threshold", number_or_null("overtake_threshold")},
          {"events", events}};
}

}  // namespace cacheon::dashboard

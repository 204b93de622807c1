// Store rows -> the API's JSON shapes (docs/dashboard.md). Internal to the dashboard.
#pragma once
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "store/arena_store.h"
#include "store/queries.h"

namespace cacheon::dashboard {

nlohmann::json opt(const std::optional<int64_t>& v);
nlohmann::json opt(const std::optional<double>& v);

// hotkey -> uid as the round's standings recorded them (empty before the round was scored).
using UidMap = std::map<std::string, int>;
UidMap uids_of_round(store::ArenaStore& store, int64_t round_id);

nlohmann::json eval_summary_json(const store::EvaluationRow& e, const UidMap& uids);
// The summary plus reason_text, fingerprint, prompts and links (null where no file exists).
nlohmann::json eval_detail_json(const store::EvaluationRow& e, const UidMap& uids,
                                const std::string& logs_root);
nlohmann::json round_summary_json(const store::RoundSummary& r);
// A Placement (or null): the entry with its submission's image and latest evaluation.
nlohmann::json placement_json(store::ArenaStore& store,
                              const std::optional<store::StandingEntry>& e);
// One leader-history item (margin, overtake threshold and events from the detail JSON).
nlohmann::json history_item_json(store::ArenaStore& store, const store::StandingsRow& row);

}  // namespace cacheon::dashboard

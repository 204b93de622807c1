// Opening, recovery, the state names and the meta table.
#include "store/arena_store.h"

#include <array>

#include "store/internal.h"

namespace cacheon::store {
namespace {

template <class E, size_t N>
std::optional<E> parse_enum(std::string_view s, const std::array<std::string_view, N>& names) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

constexpr std::array<std::string_view, 7> kSubmissionStates = {
    "seen", "payment_ok", "rejected", "deferred", "duplicate", "queued", "evaluated"};
constexpr std::array<std::string_view, 5> kRoundStates = {"planned", "running", "scored",
                                                          "weights_set", "done"};
constexpr std::array<std::string_view, 3> kEvalStates = {"pending", "running", "done"};
constexpr std::array<std::string_view, 3> kRoles = {"leader", "runner_up", "challenger"};
constexpr std::array<std::string_view, 3> kWeightsStates = {"pending", "set", "failed"};

constexpr std::string_view kScanCursor = "scan_cursor";

}  // namespace

std::string_view to_string(SubmissionState s) { return kSubmissionStates[size_t(s)]; }
std::string_view to_string(RoundState s) { return kRoundStates[size_t(s)]; }
std::string_view to_string(EvalState s) { return kEvalStates[size_t(s)]; }
std::string_view to_string(Role r) { return kRoles[size_t(r)]; }
std::string_view to_string(WeightsState s) { return kWeightsStates[size_t(s)]; }
std::optional<SubmissionState> parse_submission_state(std::string_view s) {
  return parse_enum<SubmissionState>(s, kSubmissionStates);
}
std::optional<RoundState> parse_round_state(std::string_view s) {
  return parse_enum<RoundState>(s, kRoundStates);
}
std::optional<EvalState> parse_eval_state(std::string_view s) {
  return parse_enum<EvalState>(s, kEvalStates);
}
std::optional<Role> parse_role(std::string_view s) { return parse_enum<Role>(s, kRoles); }

Result<ArenaStore> ArenaStore::open(const std::string& path) {
  auto db = SqliteDb::open(path);
  if (!db.ok())
    return Error{db.error().code,
                 fmt::format("arena store {}: {}", path, db.error().message)};
  ArenaStore store(std::move(*db));
  auto v = migrate(store.db_);
  if (!v.ok()) return v.error();
  store.version_ = *v;
  if (auto r = store.recover(); !r.ok()) return r.error();
  return store;
}

Result<ArenaStore> ArenaStore::open_read_only(const std::string& path) {
  SqliteDb::Options options;
  options.read_only = true;
  auto db = SqliteDb::open(path, options);
  if (!db.ok())
    return Error{db.error().code,
                 fmt::format("arena store {}: {}", path, db.error().message)};
  ArenaStore store(std::move(*db));
  auto q = store.db_.prepare("SELECT max(version) FROM schema_version");
  if (!q.ok())
    return Error{"store_unreadable",
                 fmt::format("{} is not an arena store (no schema version): {}", path,
                             q.error().message)};
  auto row = q->step();
  if (!row.ok()) return row.error();
  const int version = *row && !q->column_is_null(0) ? static_cast<int>(q->column_int(0)) : 0;
  if (version > kSchemaVersion)
    return Error{"store_too_new",
                 fmt::format("{} has schema version {}, this build knows up to {}; use a newer "
                             "cacheon",
                             path, version, kSchemaVersion)};
  if (version < kSchemaVersion)
    return Error{"store_too_old",
                 fmt::format("{} has schema version {}, this build reads {}; start the "
                             "validator once (it migrates the file) or use an older cacheon",
                             path, version, kSchemaVersion)};
  store.version_ = version;
  return store;
}

Result<int> ArenaStore::recover() {
  auto tx = SqliteTx::begin(db_);
  if (!tx.ok()) return tx.error();
  STORE_TRY(db_.exec(
      "DELETE FROM prompt_results WHERE evaluation_id IN "
      "(SELECT id FROM evaluations WHERE state = 'running');"));
  STORE_TRY(db_.exec(
      "UPDATE evaluations SET state = 'pending', decided = NULL, passed = NULL, score = NULL, "
      "reason_code = NULL, message = NULL, blame = NULL, report_path = NULL, logs_path = NULL, "
      "fingerprint = '' WHERE state = 'running';"));
  int reset = static_cast<int>(db_.changes());
  STORE_TRY(tx->commit());
  return reset;
}

Result<std::optional<std::string>> ArenaStore::meta(std::string_view key) {
  auto q = db_.prepare("SELECT value FROM meta WHERE key = ?");
  if (!q.ok()) return q.error();
  q->bind(1, key);
  auto row = q->step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>{q->column_text(0)};
}

Status ArenaStore::set_meta(std::string_view key, std::string_view value) {
  auto q = db_.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!q.ok()) return q.error();
  return q->bind(1, key).bind(2, value).run();
}

Result<BlockNumber> ArenaStore::scan_cursor() {
  auto v = meta(kScanCursor);
  if (!v.ok()) return v.error();
  if (!v->has_value()) return BlockNumber{-1};
  try {
    return static_cast<BlockNumber>(std::stoll(**v));
  } catch (...) {
    return Error{"store_corrupt", "meta.scan_cursor is not a number: " + **v};
  }
}

}  // namespace cacheon::store

// Numbered schema migrations. Each runs in one transaction together with the version bump, so a
// crash mid-migration leaves the file at the previous version. Never edit a shipped migration:
// append a new one.
#include <array>
#include <string_view>

#include <fmt/format.h>

#include "store/arena_store.h"

namespace cacheon::store {
namespace {

constexpr std::string_view kV1 = R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE submissions (
  hotkey TEXT NOT NULL,
  commit_block INTEGER NOT NULL,
  image TEXT NOT NULL DEFAULT '',
  digest TEXT NOT NULL DEFAULT '',
  proof TEXT NOT NULL DEFAULT '',
  raw TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL CHECK (state IN ('seen', 'payment_ok', 'rejected', 'deferred',
                                       'duplicate', 'queued', 'evaluated')),
  reason TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  seen_block INTEGER NOT NULL,
  PRIMARY KEY (hotkey, commit_block)
);
CREATE INDEX submissions_by_state ON submissions (state, commit_block);
-- A payment proof pays for one submission only.
CREATE TABLE used_proofs (
  proof TEXT PRIMARY KEY,
  hotkey TEXT NOT NULL,
  commit_block INTEGER NOT NULL
);
CREATE TABLE rounds (
  id INTEGER PRIMARY KEY,
  block INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('planned', 'running', 'scored', 'weights_set', 'done'))
);
-- The job of a round: who runs, in which order, in which role.
CREATE TABLE participants (
  round_id INTEGER NOT NULL REFERENCES rounds (id),
  position INTEGER NOT NULL,
  hotkey TEXT NOT NULL,
  commit_block INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('leader', 'runner_up', 'challenger')),
  image TEXT NOT NULL,
  digest TEXT NOT NULL,
  PRIMARY KEY (round_id, position),
  UNIQUE (round_id, hotkey, commit_block)
);
CREATE TABLE evaluations (
  id INTEGER PRIMARY KEY,
  round_id INTEGER NOT NULL REFERENCES rounds (id),
  hotkey TEXT NOT NULL,
  commit_block INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done')),
  attempts INTEGER NOT NULL DEFAULT 0,
  decided INTEGER,
  passed INTEGER,
  score REAL,
  reason_code TEXT,
  message TEXT,
  blame TEXT,
  report_path TEXT,
  logs_path TEXT,
  UNIQUE (round_id, hotkey, commit_block),
  FOREIGN KEY (round_id, hotkey, commit_block)
    REFERENCES participants (round_id, hotkey, commit_block)
);
CREATE TABLE prompt_results (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations (id),
  prompt_index INTEGER NOT NULL,
  baseline_tokens INTEGER NOT NULL,
  candidate_tokens INTEGER NOT NULL,
  baseline_e2e_ms REAL,
  candidate_e2e_ms REAL,
  candidate_ttft_ms REAL,
  improvement REAL NOT NULL,
  gates_passed INTEGER NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (evaluation_id, prompt_index)
);
CREATE TABLE standings (
  id INTEGER PRIMARY KEY,
  round_id INTEGER UNIQUE REFERENCES rounds (id),
  block INTEGER NOT NULL,
  leader_hotkey TEXT,
  leader_commit_block INTEGER,
  leader_uid INTEGER,
  leader_score REAL,
  leader_crowned_block INTEGER,
  runner_up_hotkey TEXT,
  runner_up_commit_block INTEGER,
  runner_up_uid INTEGER,
  runner_up_score REAL,
  runner_up_crowned_block INTEGER,
  detail_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE weights (
  id INTEGER PRIMARY KEY,
  round_id INTEGER REFERENCES rounds (id),
  intent_block INTEGER NOT NULL,
  set_block INTEGER,
  state TEXT NOT NULL CHECK (state IN ('pending', 'set', 'failed')),
  vector_json TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT ''
);
-- At most one weights intent in flight.
CREATE UNIQUE INDEX one_pending_weights ON weights (state) WHERE state = 'pending';
)sql";

// v2: the content fingerprint the container runner takes of each evaluated server (copy rule).
constexpr std::string_view kV2 = R"sql(
ALTER TABLE evaluations ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
CREATE INDEX evaluations_fingerprint ON evaluations (fingerprint) WHERE fingerprint != '';
)sql";

// v3: wall-clock times for the dashboard (unix ms; NULL on rows written before v3).
constexpr std::string_view kV3 = R"sql(
ALTER TABLE evaluations ADD COLUMN started_ms INTEGER;
ALTER TABLE evaluations ADD COLUMN finished_ms INTEGER;
ALTER TABLE rounds ADD COLUMN created_ms INTEGER;
ALTER TABLE standings ADD COLUMN recorded_ms INTEGER;
CREATE INDEX evaluations_finished ON evaluations (finished_ms);
)sql";

constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {kV1, kV2, kV3};

Result<int> read_version(SqliteDb& db) {
  if (Status s = db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
      !s)
    return s.error();
  auto q = db.prepare("SELECT max(version) FROM schema_version");
  if (!q.ok()) return q.error();
  auto row = q->step();
  if (!row.ok()) return row.error();
  return *row && !q->column_is_null(0) ? static_cast<int>(q->column_int(0)) : 0;
}

}  // namespace

Result<int> migrate(SqliteDb& db) {
  auto version = read_version(db);
  if (!version.ok()) return version.error();
  if (*version > kSchemaVersion)
    return Error{"store_too_new",
                 fmt::format("the arena store has schema version {}, this build knows up to {}; "
                             "use a newer cacheon",
                             *version, kSchemaVersion)};
  for (int v = *version; v < kSchemaVersion; ++v) {
    auto tx = SqliteTx::begin(db);
    if (!tx.ok()) return tx.error();
    // Another process may have migrated between our read and our write lock.
    auto now = read_version(db);
    if (!now.ok()) return now.error();
    if (*now > v) continue;
    if (Status s = db.exec(kMigrations[static_cast<size_t>(v)]); !s)
      return Error{s.error().code, fmt::format("store migration to version {}: {}", v + 1,
                                               s.error().message)};
    auto ins = db.prepare("INSERT INTO schema_version (version) VALUES (?)");
    if (!ins.ok()) return ins.error();
    if (Status s = ins->bind(1, v + 1).run(); !s) return s.error();
    if (Status s = tx->commit(); !s) return s.error();
  }
  return kSchemaVersion;
}

}  // namespace cacheon::store

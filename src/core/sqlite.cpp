#include "core/sqlite.h"

#include <sqlite3.h>

#include <fmt/format.h>

namespace cacheon {
namespace {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  int primary = rc & 0xff;
  std::string code = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? "sqlite_busy"
                     : primary == SQLITE_CONSTRAINT                      ? "sqlite_constraint"
                                                                         : "sqlite_error";
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, fmt::format("{}: {}", what, msg)};
}

}  // namespace

Result<SqliteDb> SqliteDb::open(const std::string& path, Options options) {
  int flags = SQLITE_OPEN_NOMUTEX;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(raw, rc, fmt::format("opening {}", path));
    sqlite3_close(raw);
    return e;
  }
  SqliteDb db(raw);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  if (Status s = db.exec("PRAGMA foreign_keys = ON;"); !s) return s.error();
  if (options.wal && !options.read_only && path != ":memory:") {
    // WAL: readers never block the writer. synchronous=FULL: a committed transaction survives
    // power loss, which the validator's "durable before acting" rule relies on.
    if (Status s = db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"); !s)
      return s.error();
  }
  return db;
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = other.db_;
    other.db_ = nullptr;
  }
  return *this;
}

SqliteDb::~SqliteDb() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Status SqliteDb::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(db_, rc, "exec");
    if (err != nullptr) {
      e.message = fmt::format("exec: {}", err);
      sqlite3_free(err);
    }
    return e;
  }
  return Status::Ok();
}

Result<SqliteStmt> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, fmt::format("preparing '{}'", sql));
  return SqliteStmt(stmt, db_);
}

int64_t SqliteDb::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int64_t SqliteDb::changes() const { return sqlite3_changes(db_); }

SqliteStmt::SqliteStmt(SqliteStmt&& other) noexcept
    : stmt_(other.stmt_), db_(other.db_), bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

SqliteStmt& SqliteStmt::operator=(SqliteStmt&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    db_ = other.db_;
    bind_rc_ = other.bind_rc_;
    other.stmt_ = nullptr;
  }
  return *this;
}

SqliteStmt::~SqliteStmt() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

void SqliteStmt::note_bind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
}

SqliteStmt& SqliteStmt::bind(int index, int64_t value) {
  note_bind(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}
SqliteStmt& SqliteStmt::bind(int index, double value) {
  note_bind(sqlite3_bind_double(stmt_, index, value));
  return *this;
}
SqliteStmt& SqliteStmt::bind(int index, std::string_view text) {
  // A default-constructed view has a null data pointer, which SQLite would bind as NULL.
  const char* data = text.data() != nullptr ? text.data() : "";
  note_bind(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT,
                                SQLITE_UTF8));
  return *this;
}
SqliteStmt& SqliteStmt::bind_blob(int index, std::string_view bytes) {
  const char* data = bytes.data() != nullptr ? bytes.data() : "";  // empty blob, not NULL
  note_bind(sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_TRANSIENT));
  return *this;
}
SqliteStmt& SqliteStmt::bind_null(int index) {
  note_bind(sqlite3_bind_null(stmt_, index));
  return *this;
}
SqliteStmt& SqliteStmt::bind(int index, const std::optional<int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}
SqliteStmt& SqliteStmt::bind(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bind_null(index);
}

Result<bool> SqliteStmt::step() {
  if (bind_rc_ != 0) return sqlite_error(db_, bind_rc_, "binding a parameter");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, rc, fmt::format("running '{}'", sqlite3_sql(stmt_)));
}

Status SqliteStmt::run() {
  while (true) {
    Result<bool> r = step();
    if (!r) return r.error();
    if (!*r) return Status::Ok();
  }
}

void SqliteStmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = 0;
}

bool SqliteStmt::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}
int64_t SqliteStmt::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }
double SqliteStmt::column_double(int index) const { return sqlite3_column_double(stmt_, index); }
std::string SqliteStmt::column_text(int index) const {
  const unsigned char* p = sqlite3_column_text(stmt_, index);
  int n = sqlite3_column_bytes(stmt_, index);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}
std::string SqliteStmt::column_blob(int index) const {
  const void* p = sqlite3_column_blob(stmt_, index);
  int n = sqlite3_column_bytes(stmt_, index);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
}
std::optional<int64_t> SqliteStmt::column_opt_int(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_int(index);
}
std::optional<std::string> SqliteStmt::column_opt_text(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_text(index);
}

Result<SqliteTx> SqliteTx::begin(SqliteDb& db) {
  if (Status s = db.exec("BEGIN IMMEDIATE;"); !s) return s.error();
  return SqliteTx(&db);
}

SqliteTx::SqliteTx(SqliteTx&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }

SqliteTx::~SqliteTx() {
  if (db_ != nullptr) (void)db_->exec("ROLLBACK;");
}

Status SqliteTx::commit() {
  CACHEON_ASSERT(db_ != nullptr);
  Status s = db_->exec("COMMIT;");
  if (s) db_ = nullptr;
  return s;
}

}  // namespace cacheon

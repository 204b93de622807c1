// The one SQLite layer: a connection (WAL, foreign keys, busy timeout), prepared statements with
// typed binds and columns, and a transaction guard. Errors are values (code "sqlite_error" or
// "sqlite_busy"; "sqlite_constraint" for a violated UNIQUE/CHECK/FOREIGN KEY), never exceptions.
//
// One writer per database file: SQLite serializes writers anyway; the busy timeout turns a brief
// overlap (a reader CLI next to the validator) into a wait instead of an error.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cacheon {

class SqliteStmt;

class SqliteDb {
 public:
  struct Options {
    bool read_only = false;
    bool create = true;        // create the file when missing (ignored when read_only)
    int busy_timeout_ms = 5000;
    bool wal = true;  // journal_mode=WAL, synchronous=FULL (see sqlite.cpp)
  };

  // ":memory:" opens a private in-memory database.
  static Result<SqliteDb> open(const std::string& path, Options options);
  static Result<SqliteDb> open(const std::string& path) { return open(path, Options{}); }

  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  // Runs one or more statements without results (schema, pragmas).
  Status exec(std::string_view sql);
  Result<SqliteStmt> prepare(std::string_view sql);

  int64_t last_insert_rowid() const;
  int64_t changes() const;  // rows changed by the last statement
  sqlite3* raw() const { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

class SqliteStmt {
 public:
  SqliteStmt(SqliteStmt&& other) noexcept;
  SqliteStmt& operator=(SqliteStmt&& other) noexcept;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  ~SqliteStmt();

  // Parameters are 1-based, as in SQLite. Bind before the first step (or after reset()).
  SqliteStmt& bind(int index, int64_t value);
  SqliteStmt& bind(int index, double value);
  SqliteStmt& bind(int index, std::string_view text);  // copied (SQLITE_TRANSIENT)
  SqliteStmt& bind_blob(int index, std::string_view bytes);
  SqliteStmt& bind_null(int index);
  SqliteStmt& bind(int index, const std::optional<int64_t>& value);
  SqliteStmt& bind(int index, const std::optional<std::string>& value);
  SqliteStmt& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  SqliteStmt& bind(int index, const std::string& text) {
    return bind(index, std::string_view(text));
  }
  SqliteStmt& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }

  // true: a row is ready; false: done. A bind error is reported here (the first one).
  Result<bool> step();
  // Steps to completion, for INSERT/UPDATE/DELETE.
  Status run();
  void reset();  // clears the bindings too

  bool column_is_null(int index) const;  // columns are 0-based, as in SQLite
  int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  std::string column_blob(int index) const;
  std::optional<int64_t> column_opt_int(int index) const;
  std::optional<std::string> column_opt_text(int index) const;

 private:
  friend class SqliteDb;
  SqliteStmt(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  void note_bind(int rc);
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
  int bind_rc_ = 0;  // first failing bind's code
};

// BEGIN IMMEDIATE on construction (takes the write lock up front, so a transaction never fails
// half-way on a lock upgrade); ROLLBACK on destruction unless commit() succeeded.
class SqliteTx {
 public:
  static Result<SqliteTx> begin(SqliteDb& db);
  SqliteTx(SqliteTx&& other) noexcept;
  SqliteTx& operator=(SqliteTx&&) = delete;
  SqliteTx(const SqliteTx&) = delete;
  ~SqliteTx();
  Status commit();

 private:
  explicit SqliteTx(SqliteDb* db) : db_(db) {}
  SqliteDb* db_ = nullptr;  // null once committed or moved from
};

}  // namespace cacheon

// Internals shared by the store's .cpp files (not part of the store's API).
#pragma once
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/sqlite.h"
#include "store/arena_store.h"
#include "core/status.h"

namespace cacheon::store::detail {

// SqliteStmt::bind has string_view and optional<string> overloads: a std::string needs a pick.
inline std::string_view sv(const std::string& s) { return s; }

// An empty string_view may carry a null pointer, which SQLite binds as NULL: bind "" instead.
inline std::string_view text(std::string_view s) { return s.empty() ? std::string_view("") : s; }

inline Error stale(std::string_view what) {
  return Error{"stale_transition", std::string(what)};
}

// Evaluations joined with their participant rows (rounds.cpp): append "WHERE ..." and bind.
extern const std::string_view kEvalSelect;
// Reads kEvalSelect rows; prompt rows only when asked (lists do without them).
Result<std::vector<EvaluationRow>> read_evals(SqliteDb& db, SqliteStmt& q, bool with_prompts);

// Propagates an error from a Result/Status expression (functions returning Result or Status).
#define STORE_TRY(expr)                              \
  do {                                               \
    if (auto _st = (expr); !_st.ok()) return _st.error(); \
  } while (0)

}  // namespace cacheon::store::detail

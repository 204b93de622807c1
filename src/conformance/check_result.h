// The outcome of one contract check and of a whole conformance run, with the two renderings:
// a table for people (one line per check, the fix under every failure) and JSON for machines.
//
// Not in scope: running checks (conformance/conformance.h) or talking HTTP (conformance/probe.h).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cacheon::conformance {

enum class CheckStatus { pass, fail, skip };
std::string_view to_string(CheckStatus s);

// One contract item. `code` is "ok" on pass, a stable snake_case failure code on fail (listed in
// src/conformance/README.md) and "skipped" on skip. `expected`, `seen` and `fix` are one human
// line each (empty on pass, except `seen` which may say what was observed).
struct CheckResult {
  std::string id;  // e.g. "stream.usage"
  CheckStatus status = CheckStatus::skip;
  std::string code = "skipped";
  std::string expected;
  std::string seen;
  std::string fix;

  static CheckResult pass(std::string id, std::string seen = {});
  static CheckResult fail(std::string id, std::string code, std::string expected,
                          std::string seen, std::string fix);
  static CheckResult skip(std::string id, std::string why);
  bool passed() const { return status == CheckStatus::pass; }
  bool failed() const { return status == CheckStatus::fail; }
};

struct ConformanceReport {
  std::string server;  // base URL
  std::string model;   // the served model name that was expected
  std::vector<CheckResult> results;

  int count(CheckStatus s) const;
  // True when no check failed (skips only come from a failure upstream or a missing feature
  // that the contract does not require, so a skip with no failure is still conformant).
  bool passed() const { return count(CheckStatus::fail) == 0; }
  // The result of one check id, or nullptr.
  const CheckResult* find(std::string_view id) const;
};

nlohmann::json to_json(const CheckResult& r);
nlohmann::json to_json(const ConformanceReport& r);

// The table for people: a header line, one line per check ("PASS  stream.usage"), and under each
// failure three indented lines: expected, seen, fix. Ends with a summary line. Strings from the
// server are shown escaped and clipped, so a hostile server cannot paint the terminal.
std::string render_table(const ConformanceReport& r);
// One check as render_table shows it (one line, plus expected/seen/fix under a failure).
std::string render_line(const CheckResult& r);
// render_table's closing line.
std::string render_summary(const ConformanceReport& r);

// Printable, single-line, at most `max_chars` characters (an ellipsis marks a cut): control
// characters and invalid UTF-8 become escapes. For anything a server sent.
std::string printable(std::string_view text, size_t max_chars = 160);

}  // namespace cacheon::conformance

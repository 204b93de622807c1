// Internal to config.cpp: typed, range-checked reads from one TOML table that remember which
// keys were read, so anything left over is reported as unknown. The first error wins.
#pragma once
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace cacheon::validator::detail {

class ConfigErrors {
 public:
  void add(std::string message) {
    if (!first_) first_ = std::move(message);
  }
  bool any() const { return first_.has_value(); }
  const std::string& first() const { return *first_; }

 private:
  std::optional<std::string> first_;
};

class TableReader {
 public:
  // `prefix` is the table's dotted path ("" for the root).
  TableReader(const toml::table* table, std::string prefix, ConfigErrors& errors)
      : table_(table), prefix_(std::move(prefix)), errors_(errors) {}

  std::string name(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }
  ConfigErrors& errors() { return errors_; }
  const toml::node* node(std::string_view key) {
    seen_.insert(std::string(key));
    return table_ ? table_->get(key) : nullptr;
  }
  void fail(std::string_view key, std::string_view what) {
    errors_.add(fmt::format("{}: {}", name(key), what));
  }

  void integer(std::string_view key, int64_t& out, int64_t lo, int64_t hi) {
    const toml::node* n = node(key);
    if (!n) return;
    auto v = n->value<int64_t>();
    if (!n->is_integer() || !v || *v < lo || *v > hi)
      return fail(key, fmt::format("must be an integer in {}..{}", lo, hi));
    out = *v;
  }
  void integer(std::string_view key, int& out, int lo, int hi) {
    int64_t v = out;
    integer(key, v, lo, hi);
    out = static_cast<int>(v);
  }
  void number(std::string_view key, double& out, double lo, double hi) {
    const toml::node* n = node(key);
    if (!n) return;
    std::optional<double> v;
    if (n->is_floating_point() || n->is_integer()) v = n->value<double>();
    if (!v || !std::isfinite(*v) || *v < lo || *v > hi)
      return fail(key, fmt::format("must be a number in {}..{}", lo, hi));
    out = *v;
  }
  void seconds(std::string_view key, std::chrono::milliseconds& out, double lo, double hi) {
    double s = out.count() / 1000.0;
    const toml::node* n = table_ ? table_->get(key) : nullptr;
    number(key, s, lo, hi);
    if (n) out = std::chrono::milliseconds(static_cast<int64_t>(std::llround(s * 1000)));
  }
  void boolean(std::string_view key, bool& out) {
    const toml::node* n = node(key);
    if (!n) return;
    if (!n->is_boolean()) return fail(key, "must be true or false");
    out = *n->value<bool>();
  }
  // A string of 1..max_len bytes (allow_empty: 0 allowed).
  void string(std::string_view key, std::string& out, size_t max_len = 4096,
              bool allow_empty = false) {
    const toml::node* n = node(key);
    if (!n) return;
    if (!n->is_string()) return fail(key, "must be a string");
    std::string v = *n->value<std::string>();
    if ((v.empty() && !allow_empty) || v.size() > max_len)
      return fail(key, fmt::format("must be a string of {}..{} bytes", allow_empty ? 0 : 1,
                                   max_len));
    out = std::move(v);
  }
  const toml::table* table(std::string_view key) {
    const toml::node* n = node(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      fail(key, "must be a table");
      return nullptr;
    }
    return n->as_table();
  }
  // Every key not read is unknown.
  void finish() {
    if (!table_) return;
    for (const auto& [k, v] : *table_) {
      (void)v;
      if (!seen_.count(std::string(k.str())))
        errors_.add(fmt::format("{}: unknown key (check the spelling; see "
                                "config/validator.example.toml)",
                                name(k.str())));
    }
  }

 private:
  const toml::table* table_;
  std::string prefix_;
  ConfigErrors& errors_;
  std::set<std::string> seen_;
};

}  // namespace cacheon::validator::detail

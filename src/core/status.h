// Expected failures travel as values: a machine-readable code and a human message.
// Invariants use CACHEON_ASSERT, which stays on in every build type.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace cacheon {

struct Error {
  std::string code;     // stable, snake_case, e.g. "timeout_first_byte"
  std::string message;  // one human line
};

// A value or an Error. Small on purpose: no exceptions across module seams.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For operations that return nothing but may fail.
class Status {
 public:
  Status() = default;
  Status(Error e) : err_(std::move(e)) {}
  static Status Ok() { return {}; }
  bool ok() const { return !err_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *err_; }

 private:
  std::optional<Error> err_;
};

[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "CACHEON_ASSERT failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace cacheon

#define CACHEON_ASSERT(cond) \
  ((cond) ? (void)0 : ::cacheon::assert_fail(#cond, __FILE__, __LINE__))

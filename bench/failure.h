#pragma once
/// The driver's one exception: the server misbehaved (a protocol error, a failed job, a missed
/// deadline) or the machine refused a system call, so the run cannot go on. Thrown anywhere in a
/// scenario and caught only in main, which reports it and exits non-zero. A benchmark is a
/// straight-line script whose every failure means "stop and say why", so one exception caught at
/// the top reads better than threading a Result through each of thousands of calls.

#include <fmt/format.h>

#include <stdexcept>
#include <string_view>
#include <utility>

#include "base/result.h"

namespace bench {

class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void raise(fmt::format_string<Args...> format, Args&&... args) {
  throw Failure(fmt::format(format, std::forward<Args>(args)...));
}

template <class... Args>
void check(bool condition, fmt::format_string<Args...> format, Args&&... args) {
  if (!condition) raise(format, std::forward<Args>(args)...);
}

/// The value of `result`, or a Failure that says what was being done and what went wrong.
template <class T>
T unwrap(base::Result<T> result, std::string_view doing) {
  if (!result) raise("{}: {}", doing, result.error().message);
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

}  // namespace bench

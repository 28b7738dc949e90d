#pragma once
/// The result type used below the protocol layer: a value or an Error that says what failed.
/// One alias, so that a later switch to std::expected touches this file only.

#include <cerrno>
#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace base {

struct Error {
  std::string message;  // Written for the person (or model) who has to act on it.
  int sys_errno = 0;    // The errno behind it, when a system call failed; 0 otherwise.
  // For a refusal by the operator's policy: the setting (and pattern) that decided, e.g.
  // "denied_commands: rm\s+-rf". Empty for every other failure. The audit log records it.
  std::string rule;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(std::string message, int sys_errno = 0) {
  return tl::unexpected(Error{std::move(message), sys_errno});
}

/// For a refusal by policy: `rule` names the setting (and pattern) that decided.
inline tl::unexpected<Error> deny(std::string message, std::string rule) {
  return tl::unexpected(Error{std::move(message), 0, std::move(rule)});
}

/// For a failed system call: "<what>: <strerror(errno)>", keeping errno for callers that branch on
/// it.
tl::unexpected<Error> fail_errno(std::string_view what, int sys_errno = errno);

}  // namespace base

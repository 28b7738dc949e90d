#pragma once
/// posix_spawn's attribute and file-action objects, owned so that every path out destroys them,
/// and the check of a posix_spawn* call's return value. Header-only: the benchmark driver, which
/// links only base, starts its children with the same setup.

#include <spawn.h>

#include <string_view>

#include "base/result.h"

namespace sys {

// The posix_spawn* functions return an error number instead of setting errno.
inline base::Result<void> check_spawn_call(int rc, std::string_view what) {
  if (rc != 0) return base::fail_errno(what, rc);
  return {};
}

// Owns the attribute and file-action objects so every exit path destroys them.
class SpawnSetup {
 public:
  SpawnSetup() {
    ::posix_spawnattr_init(&attr_);
    ::posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

}  // namespace sys

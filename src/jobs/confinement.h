#pragma once
/// What confines jobs: the server's resource limits and sandbox, the tighter ones a job may ask
/// for, and the kernel objects behind them (Landlock rulesets, built once and reused; the
/// server's pids cgroup, made on first need). One per JobManager, used on the loop's thread.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sys/cgroup.h"
#include "sys/spawn.h"

namespace jobs {

/// Resource limits of a job, each 0 for none. The names are those of execute's `limits`.
struct ResourceLimits {
  uint64_t cpu_seconds = 0;          // CPU time of each process (RLIMIT_CPU).
  uint64_t memory_bytes = 0;         // Resident memory of all the job's processes, watched.
  uint64_t address_space_bytes = 0;  // Virtual memory of each process (RLIMIT_AS).
  int processes = 0;                 // Tasks of the job at once (pids cgroup).
  int open_files = 0;                // Per process (RLIMIT_NOFILE).
  uint64_t file_size_bytes = 0;      // Largest file a process may write (RLIMIT_FSIZE).
};

/// How one job is confined.
struct JobConfinement {
  ResourceLimits limits;
  bool sandbox = false;  // Landlock: writes only beneath the allowed roots and the temp dir.
  bool network = true;   // False: no TCP bind or connect (Landlock ABI 4).
};

/// The server's settings: every job gets at least this.
struct ConfinementSettings {
  JobConfinement defaults;
  // Writable under the sandbox, with the temp dir ($TMPDIR, else /tmp) and a few devices.
  std::vector<std::filesystem::path> allowed_roots;
};

/// What a job asks for on top of the server's settings (unset / 0: as the server).
struct ConfinementOverride {
  ResourceLimits limits;
  std::optional<bool> sandbox;
  std::optional<bool> network;
};

/// The kernel objects for one job about to start.
struct PreparedConfinement {
  // Unset when nothing needs doing in the child: the job starts through posix_spawn.
  std::optional<sys::SpawnConfinement> spawn;
  std::unique_ptr<sys::JobCgroup> cgroup;  // With a process limit, where a cgroup is used.
};

class Confinement {
 public:
  explicit Confinement(ConfinementSettings settings);

  const ConfinementSettings& settings() const { return settings_; }

  /// Checks that the server's own settings can be enforced here and prepares what they need
  /// (Landlock rulesets, the pids cgroup). For start-up: the message says what to change.
  base::Result<void> check();

  /// The server's settings tightened by `request`. A value that would loosen them is a policy
  /// refusal (base::deny) naming the argument, the setting and the server's value.
  base::Result<JobConfinement> effective(const ConfinementOverride& request) const;

  /// The server's directory of job cgroups, once one has been made (for the watchdog).
  std::optional<std::filesystem::path> cgroup_dir() const {
    if (!pids_) return std::nullopt;
    return pids_->dir();
  }

  /// What the job `job_id` needs to start confined as `confinement`.
  base::Result<PreparedConfinement> prepare(const std::string& job_id,
                                            const JobConfinement& confinement);

 private:
  base::Result<int> ruleset(bool sandbox, bool network);
  // How the process limit is enforced: a cgroup (parent returned), or RLIMIT_NPROC (null).
  base::Result<sys::PidsCgroupParent*> process_limit_mechanism();

  ConfinementSettings settings_;
  std::filesystem::path temp_dir_;
  std::map<std::pair<bool, bool>, base::UniqueFd> rulesets_;  // (sandbox, network) -> ruleset
  std::unique_ptr<sys::PidsCgroupParent> pids_;
  std::optional<base::Error> pids_error_;  // Why no cgroup could be made, once known.
  bool warned_nproc_ = false;
};

}  // namespace jobs

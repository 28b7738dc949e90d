#pragma once
/// Process-count limits for jobs through the kernel's pids cgroup controller: a directory for the
/// server beneath the cgroup it runs in, and one per job beneath that, whose pids.max bounds how
/// many tasks (processes and threads) the job may have at once. A job's processes join its cgroup
/// between fork and exec and cannot leave it by changing process group or session, so the cgroup
/// is also how every one of them is found again (to signal them, to sum their memory).
/// Used by jobs::Confinement (which owns the server's directory) and jobs::Job (a job's own).
///
/// cgroup v1 (a hierarchy with the pids controller) and v2 (when its pids controller is enabled
/// for the server's cgroup) are both supported. Creating directories there needs write access to
/// the server's cgroup: root, or a delegated subtree.

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sys {

/// One job's cgroup. Removed (rmdir) when destroyed if it is empty by then.
class PidsCgroupParent;

class JobCgroup {
 public:
  JobCgroup(std::filesystem::path dir, std::string relative, bool v2, base::UniqueFd procs);
  ~JobCgroup();
  JobCgroup(const JobCgroup&) = delete;
  JobCgroup& operator=(const JobCgroup&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

  /// cgroup.procs, open for writing: the child writes "0" to it to join (see SpawnConfinement).
  int join_fd() const { return procs_.get(); }
  /// Closes join_fd once the job's process has started; nothing else joins afterwards.
  void close_join_fd() { procs_.reset(); }

  /// The processes in the cgroup now (cgroup.procs); empty once all have exited.
  std::vector<pid_t> pids() const;

  /// Whether the process with this pid is in the cgroup now (/proc/<pid>/cgroup).
  bool contains(pid_t pid) const;

  /// Sends `sig` to every process in the cgroup, each through a pidfd after checking that it is
  /// still a member, so a recycled pid is never signalled. For SIGKILL, repeats until no member
  /// is left that could still be forking (a few rounds at most). Returns how many were signalled.
  int signal_all(int sig) const;

  /// rmdir. False while processes remain (EBUSY); true when the directory is gone.
  bool remove();

 private:
  friend class PidsCgroupParent;
  std::filesystem::path dir_;
  std::string relative_;  // The cgroup's path as /proc/<pid>/cgroup shows it.
  bool v2_;
  base::UniqueFd procs_;
  bool removed_ = false;
};

/// The server's directory in the pids hierarchy: <own cgroup>/mcp-background-job-<pid>.
class PidsCgroupParent {
 public:
  /// Finds the pids controller the server is under (cgroup v1 or v2) and creates the server's
  /// directory there, removing empty ones left by servers that no longer run. Fails with a
  /// message saying what is missing.
  static base::Result<std::unique_ptr<PidsCgroupParent>> create();
  /// Removes the server's directory (which must be empty by then; logs nothing, fails quietly).
  ~PidsCgroupParent();
  PidsCgroupParent(const PidsCgroupParent&) = delete;
  PidsCgroupParent& operator=(const PidsCgroupParent&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  bool v2() const { return v2_; }

  /// Creates <dir>/<name> with pids.max = `max_tasks`, ready for a child to join.
  base::Result<std::unique_ptr<JobCgroup>> create_job(const std::string& name, int max_tasks);

 private:
  PidsCgroupParent(std::filesystem::path dir, std::string relative, bool v2)
      : dir_(std::move(dir)), relative_(std::move(relative)), v2_(v2) {}
  std::filesystem::path dir_;
  std::string relative_;
  bool v2_;
};

}  // namespace sys

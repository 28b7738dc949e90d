#pragma once
/// Every process of one job that the server can find, and the signals that reach all of them.
/// A job's processes are its main process while it is unreaped, the orphans the server adopted
/// on the job's behalf (the server is every job's subreaper: a process whose parent exits comes
/// back to it, whatever session or group it moved to; JobManager attributes each to its job),
/// the members of the job's cgroup when it has one, and everything beneath those in /proc. They
/// are found by walking /proc when someone needs them (status, kill, the memory watch, the end
/// of the main process, shutdown), never polled while the main process runs. Owned by Job; used
/// on the loop's thread.

#include <sys/types.h>

#include <functional>
#include <vector>

#include "sys/cgroup.h"
#include "sys/proc_stats.h"

namespace jobs {

class JobProcesses {
 public:
  /// The main process started; its pid is also the id of the job's process group. `cgroup`, when
  /// the job has one, is searched too (not owned; forget_cgroup() before it goes).
  void started(pid_t main_pid, const sys::JobCgroup* cgroup);
  /// The main process has been reaped: its pid (and group id) may be reused from now on.
  void main_reaped();
  void forget_cgroup() { cgroup_ = nullptr; }

  /// An orphan the server adopted that belongs to this job: it and its tree are the job's. It
  /// counts as a member at once; the next refresh walks its tree.
  void adopt(const sys::ProcessInfo& orphan);

  /// Walks /proc from every root now. `stdin_inode` as for sys::walk_process_trees.
  sys::ProcessTreeStats refresh(ino_t stdin_inode);

  /// The live processes as of the last refresh, the main process among them while it runs.
  const std::vector<sys::ProcessInfo>& members() const { return members_; }
  bool contains(const sys::ProcessId& id) const;
  /// How many live processes other than the main one the last refresh found.
  int left() const;

  /// Sends `sig` once to every member of the last refresh: to the process group while the main
  /// process is unreaped (which also reaches members started since), and through a pidfd to each
  /// member outside it (all of them once the main process is gone: its group id proves nothing
  /// then), and to each member of the job's cgroup that neither reached (forked since the
  /// walk). One signal each, because some programs take a second TERM or INT as "force".
  void signal(int sig);

  /// Ends every process of the job: STOPs what each walk finds until a walk finds nothing new
  /// (a stopped process cannot fork, and its children stay where the next walk looks), then
  /// KILLs them all, the group, and the cgroup's members. `before_walk` runs before each walk
  /// (the server collects the orphans it adopted meanwhile). Returns how many were found.
  int kill_all(const std::function<void()>& before_walk);

 private:
  std::vector<sys::ProcessId> roots() const;

  pid_t main_ = -1;
  bool main_unreaped_ = false;
  const sys::JobCgroup* cgroup_ = nullptr;
  std::vector<sys::ProcessId> adopted_;
  std::vector<sys::ProcessInfo> members_;
};

}  // namespace jobs

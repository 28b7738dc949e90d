#pragma once
/// A guarantee that outlives the server: a small process, forked at start-up, that cleans up
/// after the server if it dies without doing so itself (SIGKILL, a crash, the OOM killer). The
/// server tells it, over a pipe, what belongs to its jobs: each job's process group and id (every
/// process of a job carries the id in its environment, kJobIdVariable), the processes the server
/// adopted that left their job's group, and the directory of its jobs' cgroups. When the
/// server's end of the pipe closes, the watchdog finds every process those name, and everything
/// beneath them, in /proc (the server's orphans were handed to init when it died: /proc is where
/// they are found again), sends TERM, KILL a second later to what remains (stopping each first,
/// so nothing forks past it), removes the cgroup directories, and exits. After a normal
/// shutdown nothing is registered and it exits at once.
///
/// One process per server rather than one supervisor per job, so starting a job costs one small
/// pipe write instead of an extra exec.

#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sys/proc_stats.h"

namespace sys {

/// The environment variable through which every process of a job carries the job's id (Job
/// sets it; children inherit it unless they clear their environment).
inline constexpr std::string_view kJobIdVariable = "MCP_BACKGROUND_JOB_ID";

class Watchdog {
 public:
  /// Forks the watchdog. Call while the process is single-threaded (first thing in main).
  static base::Result<Watchdog> start();

  Watchdog() = default;
  Watchdog(Watchdog&&) = default;
  Watchdog& operator=(Watchdog&&) = default;

  pid_t pid() const { return pid_; }

  /// Registers / unregisters a job: its process group and its id. Never blocks: the watchdog
  /// does nothing but read, and each record is a few bytes.
  void watch_job(pid_t pgid, std::string_view job_id);
  void release_job(pid_t pgid, std::string_view job_id);
  /// Registers / unregisters one process of a job that is neither in its group nor findable
  /// beneath another registered process once the server is gone (an orphan it adopted).
  void hold_process(const ProcessId& process);
  void release_process(const ProcessId& process);
  /// The directory beneath which the server makes its jobs' cgroups: what is in them is ended,
  /// and the directories removed.
  void watch_cgroups(const std::filesystem::path& dir);

 private:
  void send(char kind, pid_t pid, uint64_t start_ticks, std::string_view text);

  pid_t pid_ = -1;
  base::UniqueFd to_watchdog_;
};

}  // namespace sys

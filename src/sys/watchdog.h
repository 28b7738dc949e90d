#pragma once
/// A guarantee that outlives the server: a small process, forked at start-up, that cleans up
/// after the server if it dies without doing so itself (SIGKILL, a crash, the OOM killer). The
/// server tells it each job's process group as the job starts and once the group is known to be
/// gone; when the server's end of the pipe closes, the watchdog sends TERM to every group still
/// registered, KILL a second later to what remains, and exits. After a normal shutdown nothing is
/// registered and it exits at once.
///
/// One process per server rather than one supervisor per job, so starting a job costs one small
/// pipe write instead of an extra exec. Jobs that leave their process group (setsid) escape it.

#include <sys/types.h>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sys {

class Watchdog {
 public:
  /// Forks the watchdog. Call while the process is single-threaded (first thing in main).
  static base::Result<Watchdog> start();

  Watchdog() = default;
  Watchdog(Watchdog&&) = default;
  Watchdog& operator=(Watchdog&&) = default;

  pid_t pid() const { return pid_; }

  /// Registers / unregisters a job's process group. Never blocks: the watchdog does nothing but
  /// read, and each record is a few bytes.
  void watch_group(pid_t pgid);
  void release_group(pid_t pgid);

 private:
  void send(char kind, pid_t pgid);

  pid_t pid_ = -1;
  base::UniqueFd to_watchdog_;
};

}  // namespace sys

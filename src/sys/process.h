#pragma once
/// Signals and reaping for spawned processes. One wrapper per system call, each naming the call in
/// its error.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sys/proc_stats.h"

namespace sys {

/// How a reaped process ended: exactly one of the two is set.
struct ExitInfo {
  std::optional<int> exit_code;    // normal exit
  std::optional<int> term_signal;  // killed by this signal
};

/// Reaps the process behind `pidfd` if it has exited (waitid(P_PIDFD, WNOHANG)). Empty when it
/// is still running.
base::Result<std::optional<ExitInfo>> reap_exited(int pidfd);

/// Waits for our child `pid` to end and reaps it (waitid(P_PID, WEXITED), EINTR retried).
/// Blocks: never on the server's loop (which uses reap_exited); for programs that have no loop,
/// such as the bench driver.
base::Result<ExitInfo> wait_child(pid_t pid);

/// kill(-pgid, sig). ESRCH (the group is gone) is reported as `false`, not as an error.
base::Result<bool> signal_group(pid_t pgid, int sig);

/// Whether any process is in group `pgid` (kill(-pgid, 0); one we may not signal counts).
bool group_exists(pid_t pgid);

/// Whether a process with this pid exists (kill(pid, 0)), a zombie included.
bool process_exists(pid_t pid);

/// pidfd_open(pid): a descriptor (close-on-exec) that pins the process with this pid now.
base::Result<base::UniqueFd> open_pidfd(pid_t pid);

/// pidfd_send_signal. ESRCH (the process has exited) is reported as `false`, not as an error.
base::Result<bool> signal_pidfd(int pidfd, int sig);

/// Waits for our child `pid` to end and collects it (waitpid, EINTR retried). Blocks: only for a
/// child that has been killed or has reported that it is exiting, never for a running job.
void reap_ending_child(pid_t pid);

/// Sends `sig` to the process `id` names, through a pidfd opened and then checked against the
/// start time, so a recycled pid is never signalled. False when that process is gone (a zombie
/// counts as gone); an error only when the kernel refuses (EPERM).
base::Result<bool> signal_process(const ProcessId& id, int sig);

/// Adds `flags` (SA_RESTART, SA_NOCLDSTOP) to the handler already installed for `sig` (asio's
/// signal_set installs its own without them).
base::Result<void> add_signal_flags(int sig, int flags);

/// "TERM" / "SIGTERM" (any case) -> SIGTERM, for the signals a caller may send to a job.
std::optional<int> parse_signal_name(std::string_view name);

/// SIGTERM -> "SIGTERM"; unknown numbers as "SIG<n>".
std::string signal_name(int sig);

}  // namespace sys

namespace sys {

/// Marks every fd above stderr close-on-exec. The server may inherit stray fds from whatever
/// started it; without this, every job would inherit them too. Call once, first thing in main.
base::Result<void> mark_inherited_fds_cloexec();

}  // namespace sys

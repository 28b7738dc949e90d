#pragma once
/// This process as the subreaper of everything it starts (PR_SET_CHILD_SUBREAPER): a process
/// whose parent exits is handed by the kernel to its nearest subreaper ancestor, so whatever a
/// job leaves behind (a daemon that forked twice, `setsid cmd &`, `nohup cmd &` whose shell
/// exited) comes back to the server as its child, whatever session or group it moved to. Used
/// by jobs::JobManager, which attributes those children to their jobs and reaps them.

#include <sys/types.h>

#include <vector>

#include "base/result.h"

namespace sys {

/// prctl(PR_SET_CHILD_SUBREAPER, 1). Needs no privilege.
base::Result<void> become_child_subreaper();

/// The children of this process's main thread now, zombies included, in the order it got them
/// (fork order, then adoption order): /proc/self/task/<pid>/children. That is every orphan it
/// adopted (the kernel hands them to the first live thread, the main one), and every child the
/// main thread started; a child another thread started is listed under that thread.
std::vector<pid_t> own_children();

/// Reaps `pid`, a child of this process, if it has exited (waitid(P_PID, WNOHANG)); true when it
/// is reaped now or was not a child any more. Only for children nobody else waits for: a job's
/// main process is reaped through its pidfd.
bool reap_child_if_exited(pid_t pid);

}  // namespace sys

#include "sys/subreaper.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "sys/proc_stats.h"

namespace sys {

base::Result<void> become_child_subreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return base::fail_errno("prctl(PR_SET_CHILD_SUBREAPER)");
  }
  return {};
}

std::vector<pid_t> own_children() {
  // Read on every SIGCHLD: the path is made once (forked children of ours never call this).
  static const std::string path = "/proc/self/task/" + std::to_string(::getpid()) + "/children";
  std::vector<pid_t> children;
  append_children(path, children);
  return children;
}

bool reap_child_if_exited(pid_t pid) {
  siginfo_t info{};
  for (;;) {
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG) == 0) break;
    if (errno != EINTR) return errno == ECHILD;
  }
  return info.si_pid != 0;
}

}  // namespace sys

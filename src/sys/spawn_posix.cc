// Starting a child with posix_spawn: the fast path, for a job that needs no code of ours in the
// child (no confinement, no program descriptor).
#include <fcntl.h>
#include <spawn.h>

#include <csignal>
#include <utility>

#include "sys/posix_spawn_setup.h"
#include "sys/spawn_start.h"

namespace sys::spawn_detail {

base::Result<pid_t> start_with_posix_spawn(const SpawnRequest& request, ChildStdio& stdio,
                                           const ExecArgs& exec) {
  SpawnSetup setup;
  auto* actions = setup.actions();
  // Into the checked directory first, before the dup2s could reuse its descriptor's number.
  if (request.cwd_fd >= 0) {
    if (auto r = check_spawn_call(::posix_spawn_file_actions_addfchdir_np(actions, request.cwd_fd),
                                  "posix_spawn_file_actions_addfchdir_np");
        !r) {
      return tl::unexpected(r.error());
    }
  }
  if (stdio.terminal) {
    // The child is made a session leader first (POSIX_SPAWN_SETSID, applied before any file
    // action), and a session leader without a controlling terminal that opens a terminal without
    // O_NOCTTY acquires it (Linux). So the slave, opened by path as fd 0, becomes the job's
    // controlling terminal, and Ctrl-C typed into it reaches the job's process group.
    if (auto r = check_spawn_call(::posix_spawn_file_actions_addopen(
                                      actions, 0, stdio.terminal->slave_path.c_str(), O_RDWR, 0),
                                  "posix_spawn_file_actions_addopen");
        !r) {
      return tl::unexpected(r.error());
    }
    for (int target : {1, 2}) {
      if (auto r = check_spawn_call(::posix_spawn_file_actions_adddup2(actions, 0, target),
                                    "posix_spawn_file_actions_adddup2");
          !r) {
        return tl::unexpected(r.error());
      }
    }
  } else {
    // dup2 clears close-on-exec on the target, so only these three fds reach the program.
    for (auto [fd, target] :
         {std::pair{stdio.in.read_end.get(), 0}, std::pair{stdio.out.write_end.get(), 1},
          std::pair{stdio.stderr_write_end(), 2}}) {
      if (auto r = check_spawn_call(::posix_spawn_file_actions_adddup2(actions, fd, target),
                                    "posix_spawn_file_actions_adddup2");
          !r) {
        return tl::unexpected(r.error());
      }
    }
  }

  // Own process group, so a signal to -pid reaches everything the job starts. With a terminal,
  // own session instead (POSIX_SPAWN_SETSID): only a session leader can acquire a controlling
  // terminal, and setsid also makes a new process group whose id is the pid, so -pid works the
  // same. Not both: a session leader cannot setpgid, and posix_spawn would fail with EPERM.
  // Every signal back to its default (the server ignores SIGPIPE; `yes | head` needs it) and
  // nothing blocked.
  sigset_t all_signals, no_signals;
  sigfillset(&all_signals);
  sigemptyset(&no_signals);
  auto flags = static_cast<short>((stdio.terminal ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP) |
                                  POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  if (auto r = check_spawn_call(::posix_spawnattr_setflags(setup.attr(), flags),
                                "posix_spawnattr_setflags");
      !r) {
    return tl::unexpected(r.error());
  }
  ::posix_spawnattr_setpgroup(setup.attr(), 0);
  ::posix_spawnattr_setsigdefault(setup.attr(), &all_signals);
  ::posix_spawnattr_setsigmask(setup.attr(), &no_signals);

  if (request.cwd_fd < 0) {
    if (auto r =
            check_spawn_call(::posix_spawn_file_actions_addchdir_np(actions, request.cwd.c_str()),
                             "posix_spawn_file_actions_addchdir_np");
        !r) {
      return tl::unexpected(r.error());
    }
  }

  // glibc's posix_spawn reports a failed chdir or exec as its return value, so a job that cannot
  // start is an error here and never a zombie to collect later.
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, exec.program, actions, setup.attr(), exec.argv, exec.envp);
  if (rc != 0) return tl::unexpected(describe_start_failure(exec.program, request, rc));
  return pid;
}

}  // namespace sys::spawn_detail

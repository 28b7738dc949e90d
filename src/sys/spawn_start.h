#pragma once
/// The two ways spawn_process starts a child, and what they share; internal to sys/spawn*.cc.
/// posix_spawn (spawn_posix.cc) runs no code of ours in the child; clone and exec
/// (spawn_child.cc) lets the child confine itself before exec.

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sys/pty.h"
#include "sys/spawn.h"

namespace sys::spawn_detail {

struct Pipe {
  base::UniqueFd read_end;
  base::UniqueFd write_end;
};

// A pipe, both ends close-on-exec.
base::Result<Pipe> make_pipe();

// The job's ends and the server's ends of its standard streams: three pipes, or a terminal
// whose slave the child opens by path.
struct ChildStdio {
  Pipe in, out, err;  // `err` is empty when stdout and stderr share `out`.
  std::optional<PseudoTerminal> terminal;
  int stderr_write_end() const { return err.write_end ? err.write_end.get() : out.write_end.get(); }
};

struct ExecArgs {
  const char* program;
  char** argv;
  char** envp;
};

// Why a process could not start, from the errno of its chdir or exec: a missing cwd is told
// apart from a missing program.
base::Error describe_start_failure(const std::string& program, const SpawnRequest& request,
                                   int error);

// Starts the child with posix_spawn; its pid.
base::Result<pid_t> start_with_posix_spawn(const SpawnRequest& request, ChildStdio& stdio,
                                           const ExecArgs& exec);

// Starts the child with clone(CLONE_VM | CLONE_VFORK); it confines itself and execs. Its pid.
base::Result<pid_t> clone_and_exec(const SpawnRequest& request, ChildStdio& stdio,
                                   const ExecArgs& exec);

}  // namespace sys::spawn_detail

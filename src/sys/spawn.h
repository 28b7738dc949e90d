#pragma once
/// Starting a child process for a job: its own process group, default signal dispositions, and
/// either three pipes (stdin, stdout, stderr) or a pseudo-terminal, whose parent ends are returned
/// here, close-on-exec and non-blocking. Used only by jobs::Job.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "sys/pty.h"

struct sock_fprog;

namespace sys {

/// Per-process resource limits (setrlimit), each 0 for none. Soft and hard limits are set alike,
/// except the CPU limit, whose hard limit is one second above: SIGXCPU first, then SIGKILL.
/// A process with CAP_SYS_RESOURCE (root) can raise its own hard limits again.
struct ProcessLimits {
  uint64_t cpu_seconds = 0;          // RLIMIT_CPU: CPU time of each process.
  uint64_t address_space_bytes = 0;  // RLIMIT_AS: virtual memory of each process.
  uint64_t open_files = 0;           // RLIMIT_NOFILE: one more than the highest fd it may open.
  uint64_t file_size_bytes = 0;      // RLIMIT_FSIZE: largest file it may write (SIGXFSZ beyond).
  uint64_t processes = 0;            // RLIMIT_NPROC: processes of the *user* (not of the job).
};

/// What confines a process, applied by the child to itself between clone and exec, in this
/// order: join the cgroup, set the limits, install the seccomp filter, apply the Landlock
/// ruleset. The descriptors are not
/// owned here and must stay open until spawn_process returns.
struct SpawnConfinement {
  ProcessLimits limits;
  int landlock_ruleset_fd = -1;  // From build_landlock_ruleset; -1: none.
  int cgroup_procs_fd = -1;      // A cgroup's cgroup.procs, open for writing; -1: none.
  // A seccomp filter installed after no_new_privs (sys::metadata_filter); null: none.
  const sock_fprog* seccomp_filter = nullptr;
};

/// Where a child without a terminal writes stdout and stderr: one pipe for both (the order a
/// terminal shows, since one pipe keeps the order of the writes), or a pipe each (which stream
/// each byte came from is known, but not their order across the two).
enum class OutputStreams { kMerged, kSeparate };

struct SpawnRequest {
  // argv[0] is a path (absolute, or relative to cwd) or a bare name looked up on the PATH found in
  // `env` (falling back to the server's own PATH when `env` has none).
  std::vector<std::string> argv;
  std::filesystem::path cwd;
  std::vector<std::string> env;  // "NAME=value" entries: the child's whole environment.
  // Set: the child leads a new session on a new pseudo-terminal of this size, which is its
  // controlling terminal and its stdin, stdout and stderr. Unset: pipes, and a new process group.
  std::optional<TerminalSize> terminal;
  // Set (even if empty): the child is started with clone(CLONE_VM | CLONE_VFORK) and exec, and
  // confines itself before exec. Unset: posix_spawn, which is faster still but can run no code
  // of ours in the child.
  std::optional<SpawnConfinement> confinement;
  // Set: exec exactly this path, with no PATH lookup (argv[0] is still passed as given). The
  // policy sets it to the path it checked, so nothing in the job's environment can change what
  // runs between the check and the exec.
  std::string program;
  // Set (>= 0): the child changes into this directory (fchdir of an O_PATH descriptor the policy
  // opened and checked) rather than into `cwd` by name, which is then named in messages only.
  // Not owned; it must stay open until spawn_process returns.
  int cwd_fd = -1;
  // Set (>= 0): the child executes the file this descriptor refers to (execveat), the very file
  // the policy checked; `program` is its path, for messages. posix_spawn cannot execute a
  // descriptor, so such a child is started like a confined one (clone and exec). Not owned.
  int program_fd = -1;
  // Without a terminal: kMerged makes fds 1 and 2 the same pipe (stderr_fd stays empty).
  OutputStreams streams = OutputStreams::kSeparate;
};

struct SpawnedProcess {
  pid_t pid = -1;              // Also the id of its process group (and of its session, with a pty).
  base::UniqueFd pidfd;        // Readable once the process has exited; reap with reap_exited().
  base::UniqueFd stdin_fd;     // Write end of the child's stdin (pipes only).
  base::UniqueFd stdout_fd;    // Read end of the child's stdout (pipes only).
  base::UniqueFd stderr_fd;    // Read end of the child's stderr (separate pipes only).
  base::UniqueFd terminal_fd;  // The pseudo-terminal's master (terminal only): read and write.
};

/// Spawns the process, or says why it could not start ("program 'x' not found on PATH", "cwd ...",
/// "permission denied ..."). Nothing is left running or open on failure.
base::Result<SpawnedProcess> spawn_process(const SpawnRequest& request);

}  // namespace sys

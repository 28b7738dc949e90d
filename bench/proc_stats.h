#pragma once
/// What /proc says about a process: its threads, resident memory, CPU time, open fds, and its
/// zombie children. Read-only snapshots for the resource scenarios; any process may be inspected.

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "base/result.h"
#include "stats.h"

namespace bench {

struct ThreadsAndMemory {
  int threads = 0;              // "Threads:" in /proc/<pid>/status.
  uint64_t rss_bytes = 0;       // "VmRSS:" in /proc/<pid>/status.
  uint64_t peak_rss_bytes = 0;  // "VmHWM:": the most RSS the process has had so far.
};

base::Result<ThreadsAndMemory> read_threads_and_memory(pid_t pid);

/// User plus system CPU time the process has used (utime + stime of /proc/<pid>/stat), at the
/// kernel's clock-tick resolution (sysconf(_SC_CLK_TCK), usually 10 ms).
base::Result<Clock::duration> read_cpu_time(pid_t pid);

/// Entries of /proc/<pid>/fd.
base::Result<int> count_open_fds(pid_t pid);

/// The children of `pid`'s main thread (/proc/<pid>/task/<pid>/children).
base::Result<std::vector<pid_t>> read_children(pid_t pid);

/// Processes whose parent is `parent` and whose state is 'Z', found by scanning /proc/*/stat.
base::Result<int> count_zombie_children(pid_t parent);

}  // namespace bench

#pragma once
/// What /proc says about a job's process tree right now: memory, CPU time, and whether any of
/// its processes is blocked reading the job's stdin. Read on demand (status, list), never polled.

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace sys {

struct ProcessTreeStats {
  int processes = 0;       // Live processes in the tree (the root and its descendants).
  uint64_t rss_bytes = 0;  // Sum of resident set sizes (shared pages count once per process).
  double cpu_seconds = 0;  // User + system time, including reaped children of the tree.
  bool waiting_for_input = false;  // Some process is blocked reading the job's stdin.
  // With waiting_for_input: that process, and how many read system calls it has made so far
  // (/proc/<pid>/io). A change in either means it read something and came back for more.
  pid_t stdin_reader = 0;
  uint64_t stdin_reader_reads = 0;
};

/// Walks the tree rooted at `root` through /proc/<pid>/task/<tid>/children. `stdin_inode` is
/// the inode of the job's stdin (its pipe or terminal); a process blocked reading fd 0 counts as
/// waiting for input only if its fd 0 is that object. A tree that vanishes mid-walk simply
/// reports what was seen.
ProcessTreeStats process_tree_stats(pid_t root, ino_t stdin_inode);

/// The summed resident set sizes of `pids` (zombies and vanished ones count nothing).
uint64_t resident_bytes(const std::vector<pid_t>& pids);

}  // namespace sys

#pragma once
/// What /proc says about processes right now: who a process is (pid and start time, so a reused
/// pid is never taken for it), its parent, group and session, the trees beneath a set of roots
/// with their memory, CPU time and stdin state, and the environment a process started with.
/// Read on demand (status, list, kill, the memory watch), never polled.

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sys {

/// A process named so that a recycled pid cannot be mistaken for it: its pid and its start time
/// (clock ticks after boot, field 22 of /proc/<pid>/stat). A start of 0 means "not checked",
/// for a child that has not been reaped, whose pid cannot be reused yet.
struct ProcessId {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  friend bool operator==(const ProcessId&, const ProcessId&) = default;
  friend auto operator<=>(const ProcessId&, const ProcessId&) = default;
};

/// One process as /proc/<pid>/stat shows it.
struct ProcessInfo {
  ProcessId id;
  pid_t parent = 0;
  pid_t group = 0;
  pid_t session = 0;
  char state = '?';
  bool zombie() const { return state == 'Z' || state == 'X'; }
};

/// The process with this pid now, or nullopt if there is none.
std::optional<ProcessInfo> read_process(pid_t pid);

/// True while `id` names a live process: the pid exists, is not a zombie, and (unless
/// id.start_ticks is 0) started when `id` says.
bool process_alive(const ProcessId& id);

struct ProcessTreeStats {
  int processes = 0;       // Live processes in the trees (the roots and their descendants).
  uint64_t rss_bytes = 0;  // Sum of resident set sizes (shared pages count once per process).
  double cpu_seconds = 0;  // User + system time, including reaped children of the trees.
  bool waiting_for_input = false;  // Some process is blocked reading the job's stdin.
  // With waiting_for_input: that process, and how many read system calls it has made so far
  // (/proc/<pid>/io). A change in either means it read something and came back for more.
  pid_t stdin_reader = 0;
  uint64_t stdin_reader_reads = 0;
};

/// Every live process of the trees rooted at `roots`, each once, and their totals.
struct ProcessTree {
  std::vector<ProcessInfo> processes;
  ProcessTreeStats stats;
};

/// Appends the pids a /proc/<pid>/task/<tid>/children file lists (none if it cannot be read).
void append_children(const std::string& children_file, std::vector<pid_t>& children);

/// Walks the trees rooted at `roots` through /proc/<pid>/task/<tid>/children. A root that is gone
/// or whose start time differs (its pid was reused) is skipped. `stdin_inode` is the inode of the
/// job's stdin (its pipe or terminal); a process blocked reading fd 0 counts as waiting for input
/// only if its fd 0 is that object. A tree that changes mid-walk reports what was seen.
ProcessTree walk_process_trees(std::span<const ProcessId> roots, ino_t stdin_inode);

/// The totals of the tree rooted at `root` (a child not yet reaped).
ProcessTreeStats process_tree_stats(pid_t root, ino_t stdin_inode);

/// The value of `name` in the environment `pid` was started with (/proc/<pid>/environ), or
/// nullopt when it has none or it cannot be read (another user's process, a zombie).
std::optional<std::string> environment_variable(pid_t pid, std::string_view name);

/// The inode of what file descriptor `fd` of `pid` is open on; 0 when it cannot be seen.
ino_t open_file_inode(pid_t pid, int fd);

}  // namespace sys

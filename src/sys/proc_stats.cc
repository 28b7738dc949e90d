#include "sys/proc_stats.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "sys/small_file.h"

namespace sys {
namespace {

struct ProcStat {
  char state = '?';
  pid_t parent = 0, group = 0, session = 0;
  uint64_t utime = 0, stime = 0, cutime = 0, cstime = 0;
  int64_t threads = 0;
  uint64_t start_ticks = 0;
  int64_t rss_pages = 0;
};

// /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so the
// fields are counted from the last ')'. Split by hand: status calls this for every process of
// every job it reports, and a stream per call was a third of the cost of a status over HTTP.
bool read_stat(pid_t pid, ProcStat& out) {
  std::string text = read_small_file("/proc/" + std::to_string(pid) + "/stat");
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return false;
  std::string_view rest(text);
  rest.remove_prefix(close + 2);
  std::array<std::string_view, 22> values;  // values[0] is field 3 (state), values[21] field 24
  size_t count = 0;
  while (count < values.size() && !rest.empty()) {
    size_t end = rest.find(' ');
    values[count++] = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  }
  if (count < values.size() || values[0].empty()) return false;
  auto number = [](std::string_view field, auto& into) {
    std::from_chars(field.data(), field.data() + field.size(), into);
  };
  out.state = values[0][0];
  number(values[1], out.parent);
  number(values[2], out.group);
  number(values[3], out.session);
  number(values[11], out.utime);
  number(values[12], out.stime);
  number(values[13], out.cutime);
  number(values[14], out.cstime);
  number(values[17], out.threads);
  number(values[19], out.start_ticks);
  number(values[21], out.rss_pages);
  return true;
}

// Blocked in read(2)/readv(2)/pread64(2) on fd 0, or in select(2)/pselect6(2) for reading with
// nfds 1 (so fd 0 is the only descriptor it can be watching: GNU readline, Python's REPL), where
// fd 0 is the job's stdin.
bool blocked_reading_stdin(pid_t pid, ino_t stdin_inode) {
  std::string base = "/proc/" + std::to_string(pid);
  std::istringstream syscall_line(read_small_file(base + "/syscall"));
  long number = -1;
  std::string first_argument, second_argument;
  if (!(syscall_line >> number >> first_argument >> second_argument)) {
    return false;  // "running", or no access
  }
  uint64_t first = std::strtoull(first_argument.c_str(), nullptr, 16);
  uint64_t second = std::strtoull(second_argument.c_str(), nullptr, 16);
  if (number == SYS_read || number == SYS_readv || number == SYS_pread64) {
    if (first != 0) return false;
  } else if (number == SYS_select || number == SYS_pselect6) {
    if (first != 1 || second == 0) return false;  // nfds 1, a read set
  } else {
    return false;
  }
  struct stat st {};
  if (::stat((base + "/fd/0").c_str(), &st) != 0) return false;
  return stdin_inode == 0 || st.st_ino == stdin_inode;
}

// How many read system calls the process has made (syscr in /proc/<pid>/io); 0 if unreadable.
uint64_t read_calls(pid_t pid) {
  std::string io = read_small_file("/proc/" + std::to_string(pid) + "/io");
  size_t at = io.find("syscr:");
  if (at == std::string::npos) return 0;
  return std::strtoull(io.c_str() + at + 6, nullptr, 10);
}

// A process's children are listed per thread: a single-threaded one (most) has one list to read,
// and no directory to walk.
std::vector<pid_t> children_of(pid_t pid, int64_t threads) {
  std::vector<pid_t> children;
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  if (threads == 1) {
    append_children(tasks + "/" + std::to_string(pid) + "/children", children);
    return children;
  }
  std::error_code error;
  // Increment with an error code: a task that ends mid-walk must not throw.
  for (std::filesystem::directory_iterator it(tasks, error), end; !error && it != end;
       it.increment(error)) {
    append_children(it->path().string() + "/children", children);
  }
  return children;
}

ProcessInfo info_of(pid_t pid, const ProcStat& stat) {
  return ProcessInfo{.id = {pid, stat.start_ticks},
                     .parent = stat.parent,
                     .group = stat.group,
                     .session = stat.session,
                     .state = stat.state};
}

}  // namespace

void append_children(const std::string& children_file, std::vector<pid_t>& children) {
  std::string list = read_small_file(children_file);
  const char* at = list.data();
  const char* end = at + list.size();
  while (at < end) {
    pid_t child = 0;
    auto [next, error] = std::from_chars(at, end, child);
    if (error == std::errc()) children.push_back(child);
    at = next == at ? at + 1 : next;  // skip the separating space
  }
}

std::optional<ProcessInfo> read_process(pid_t pid) {
  ProcStat stat;
  if (pid <= 0 || !read_stat(pid, stat)) return std::nullopt;
  return info_of(pid, stat);
}

bool process_alive(const ProcessId& id) {
  auto info = read_process(id.pid);
  return info && !info->zombie() && (id.start_ticks == 0 || info->id == id);
}

ProcessTree walk_process_trees(std::span<const ProcessId> roots, ino_t stdin_inode) {
  static const long kTicksPerSecond = ::sysconf(_SC_CLK_TCK);
  static const long kPageSize = ::sysconf(_SC_PAGESIZE);
  ProcessTree tree;
  ProcessTreeStats& stats = tree.stats;
  std::unordered_set<pid_t> seen;
  std::vector<pid_t> pending;
  for (const ProcessId& root : roots) {
    ProcStat stat;
    // A root named by its start time is checked against it: its pid may have been reused.
    if (root.start_ticks != 0 &&
        (!read_stat(root.pid, stat) || stat.start_ticks != root.start_ticks)) {
      continue;
    }
    pending.push_back(root.pid);
  }
  // Bounded, in case /proc ever showed a cycle mid-change: a job tree is not this large.
  for (size_t visited = 0; !pending.empty() && visited < 100000; ++visited) {
    pid_t pid = pending.back();
    pending.pop_back();
    if (!seen.insert(pid).second) continue;  // roots may lie in each other's trees
    ProcStat stat;
    if (!read_stat(pid, stat) || stat.state == 'Z' || stat.state == 'X') continue;
    tree.processes.push_back(info_of(pid, stat));
    ++stats.processes;
    stats.rss_bytes += static_cast<uint64_t>(std::max<int64_t>(stat.rss_pages, 0) * kPageSize);
    stats.cpu_seconds += static_cast<double>(stat.utime + stat.stime + stat.cutime + stat.cstime) /
                         static_cast<double>(kTicksPerSecond);
    if (!stats.waiting_for_input && stat.state == 'S') {
      stats.waiting_for_input = blocked_reading_stdin(pid, stdin_inode);
      if (stats.waiting_for_input) {
        stats.stdin_reader = pid;
        stats.stdin_reader_reads = read_calls(pid);
      }
    }
    for (pid_t child : children_of(pid, stat.threads)) pending.push_back(child);
  }
  return tree;
}

ProcessTreeStats process_tree_stats(pid_t root, ino_t stdin_inode) {
  ProcessId only{root, 0};
  return walk_process_trees(std::span(&only, 1), stdin_inode).stats;
}

std::optional<std::string> environment_variable(pid_t pid, std::string_view name) {
  // NUL-separated "NAME=value" entries, as the process's exec left them.
  std::string environ = read_small_file("/proc/" + std::to_string(pid) + "/environ");
  std::string_view rest(environ);
  while (!rest.empty()) {
    size_t end = rest.find('\0');
    std::string_view entry = rest.substr(0, end);
    if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=') {
      return std::string(entry.substr(name.size() + 1));
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return std::nullopt;
}

ino_t open_file_inode(pid_t pid, int fd) {
  struct stat st {};
  std::string path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace sys

#include "sys/watchdog.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sys/process.h"
#include "sys/small_file.h"

namespace sys {
namespace {

namespace fs = std::filesystem;

// A record on the pipe: a fixed header, then `text_size` bytes of text (a job id, a path).
// Written whole by one write(2) of at most PIPE_BUF bytes, so records never interleave.
struct RecordHeader {
  char kind;  // 'J'/'j' watch/release a job, 'P'/'p' hold/release a process, 'C' a cgroup dir
  uint8_t unused = 0;
  uint16_t text_size = 0;
  pid_t pid = 0;
  uint64_t start_ticks = 0;
};
constexpr size_t kMaxText = 4000;  // with the header, under PIPE_BUF (4096)

constexpr auto kTermToKill = std::chrono::seconds(1);
constexpr auto kCgroupRemovalBound = std::chrono::seconds(2);
constexpr int kMaxStopRounds = 16;

// What the server registered.
struct Registry {
  std::map<pid_t, int> groups;  // group -> jobs registered with it (a pid is one group)
  std::set<std::string> job_ids;
  std::set<ProcessId> held;
  std::vector<fs::path> cgroup_dirs;
  bool empty() const { return groups.empty() && held.empty() && cgroup_dirs.empty(); }
};

bool read_exactly(int fd, void* into, size_t size) {
  auto* at = static_cast<char*>(into);
  while (size > 0) {
    ssize_t n = ::read(fd, at, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void apply(Registry& registry, const RecordHeader& header, const std::string& text) {
  switch (header.kind) {
    case 'J':
      ++registry.groups[header.pid];
      registry.job_ids.insert(text);
      break;
    case 'j':
      if (auto it = registry.groups.find(header.pid); it != registry.groups.end()) {
        if (--it->second <= 0) registry.groups.erase(it);
      }
      registry.job_ids.erase(text);
      break;
    case 'P':
      registry.held.insert({header.pid, header.start_ticks});
      break;
    case 'p':
      registry.held.erase({header.pid, header.start_ticks});
      break;
    case 'C':
      registry.cgroup_dirs.emplace_back(text);
      break;
    default:
      break;
  }
}

std::vector<pid_t> pids_in(const fs::path& procs_file) {
  std::vector<pid_t> pids;
  std::istringstream list(read_small_file(procs_file));
  pid_t pid;
  while (list >> pid) pids.push_back(pid);
  return pids;
}

// The job cgroups beneath a registered directory, deepest first (so they can be removed in
// order), and the directory itself last.
std::vector<fs::path> cgroups_beneath(const fs::path& dir) {
  std::vector<fs::path> found;
  std::error_code error;
  for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    if (it->is_directory(error)) found.push_back(it->path());
  }
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::distance(a.begin(), a.end()) > std::distance(b.begin(), b.end());
  });
  found.push_back(dir);
  return found;
}

// Every process of the server's jobs that can be found now: those in a registered group, held,
// found before, carrying a registered job id, or in a registered cgroup; then everything
// beneath them. The whole of /proc is read: this runs once, after the server has died.
std::set<ProcessId> find_victims(const Registry& registry, const std::set<ProcessId>& known) {
  std::map<pid_t, ProcessInfo> all;
  std::multimap<pid_t, pid_t> children;
  DIR* proc = ::opendir("/proc");
  if (proc != nullptr) {
    while (dirent* entry = ::readdir(proc)) {
      pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
      if (pid <= 1 || pid == ::getpid()) continue;
      auto info = read_process(pid);
      if (!info || info->zombie()) continue;
      all.emplace(pid, *info);
      children.emplace(info->parent, pid);
    }
    ::closedir(proc);
  }
  std::vector<pid_t> pending;
  for (const auto& [pid, info] : all) {
    bool ours = registry.groups.count(info.group) > 0 || registry.held.count(info.id) > 0 ||
                known.count(info.id) > 0;
    if (!ours && !registry.job_ids.empty()) {
      auto job = environment_variable(pid, kJobIdVariable);
      ours = job && registry.job_ids.count(*job) > 0;
    }
    if (ours) pending.push_back(pid);
  }
  for (const auto& dir : registry.cgroup_dirs) {
    for (const auto& cgroup : cgroups_beneath(dir)) {
      for (pid_t pid : pids_in(cgroup / "cgroup.procs")) {
        if (all.count(pid) > 0) pending.push_back(pid);
      }
    }
  }
  std::set<ProcessId> victims;
  while (!pending.empty()) {
    pid_t pid = pending.back();
    pending.pop_back();
    auto it = all.find(pid);
    if (it == all.end() || !victims.insert(it->second.id).second) continue;
    auto [first, last] = children.equal_range(pid);
    for (auto child = first; child != last; ++child) pending.push_back(child->second);
  }
  return victims;
}

void signal_groups(const Registry& registry, int sig) {
  for (const auto& [pgid, count] : registry.groups) {
    if (pgid > 1) (void)signal_group(pgid, sig);
  }
}

void signal_each(const std::set<ProcessId>& victims, int sig) {
  for (const auto& victim : victims) (void)signal_process(victim, sig);
}

bool any_alive(const Registry& registry, const std::set<ProcessId>& victims) {
  for (const auto& victim : victims) {
    if (process_alive(victim)) return true;
  }
  for (const auto& [pgid, count] : registry.groups) {
    if (group_exists(pgid)) return true;
  }
  return false;
}

void remove_cgroups(const Registry& registry) {
  auto deadline = std::chrono::steady_clock::now() + kCgroupRemovalBound;
  for (;;) {
    bool left = false;
    for (const auto& dir : registry.cgroup_dirs) {
      for (const auto& cgroup : cgroups_beneath(dir)) {
        if (::rmdir(cgroup.c_str()) != 0 && errno != ENOENT) left = true;
      }
    }
    // A killed process leaves its cgroup once its new parent (init) has reaped it.
    if (!left || std::chrono::steady_clock::now() >= deadline) return;
    ::poll(nullptr, 0, 20);
  }
}

[[noreturn]] void run_watchdog(int from_server) {
  Registry registry;
  for (;;) {
    RecordHeader header{};
    if (!read_exactly(from_server, &header, sizeof header)) break;  // EOF: the server is gone
    std::string text(header.text_size, '\0');
    if (!text.empty() && !read_exactly(from_server, text.data(), text.size())) break;
    apply(registry, header, text);
  }
  if (registry.empty()) _exit(0);

  // TERM: what can be found, each once (a second TERM reads as "force" to some programs).
  std::set<ProcessId> victims = find_victims(registry, {});
  signal_groups(registry, SIGTERM);
  for (const auto& victim : victims) {
    if (registry.groups.count(read_process(victim.pid).value_or(ProcessInfo{}).group) == 0) {
      (void)signal_process(victim, SIGTERM);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + kTermToKill;
  while (std::chrono::steady_clock::now() < deadline && any_alive(registry, victims)) {
    ::poll(nullptr, 0, 20);  // nothing to wait on but time: the victims are not our children
  }

  // KILL: stop whatever is found until a search finds nothing new (a stopped process cannot
  // fork), then kill them all. What the TERM phase found stays a victim even if it moved.
  signal_groups(registry, SIGSTOP);
  for (int round = 0; round < kMaxStopRounds; ++round) {
    auto found = find_victims(registry, victims);
    bool found_new = false;
    for (const auto& victim : found) {
      if (victims.insert(victim).second) found_new = true;
    }
    signal_each(found, SIGSTOP);
    if (!found_new && round > 0) break;
  }
  signal_groups(registry, SIGKILL);
  signal_each(victims, SIGKILL);
  remove_cgroups(registry);
  _exit(0);
}

}  // namespace

base::Result<Watchdog> Watchdog::start() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return base::fail_errno("pipe2");
  base::UniqueFd read_end(fds[0]), write_end(fds[1]);
  // Room for many records while the watchdog is not scheduled: a lost record is a job it would
  // not know. Unprivileged processes may ask for up to 1 MiB (fs.pipe-max-size); less is fine.
  ::fcntl(write_end.get(), F_SETPIPE_SZ, 1 << 20);
  pid_t pid = ::fork();
  if (pid < 0) return base::fail_errno("fork");
  if (pid == 0) {
    // The watchdog must hold none of the server's fds: a client waiting for the server's stdout
    // or stderr to close must not wait on us. Keep only the pipe, as fd 3.
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int target = 0; target <= 2; ++target) ::dup2(null, target);
    ::dup2(read_end.get(), 3);
    ::close_range(4, ~0U, 0);
    // Its own process group, so a signal to the server's group (Ctrl-C in a terminal) leaves it
    // to do its job; it ends on the pipe's EOF, not on signals.
    ::setpgid(0, 0);
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGPIPE, SIG_IGN);
    ::prctl(PR_SET_NAME, "mcp-bg-watchdog");
    run_watchdog(3);
  }
  ::fcntl(write_end.get(), F_SETFL, O_NONBLOCK);
  Watchdog watchdog;
  watchdog.pid_ = pid;
  watchdog.to_watchdog_ = std::move(write_end);
  return watchdog;
}

void Watchdog::send(char kind, pid_t pid, uint64_t start_ticks, std::string_view text) {
  if (!to_watchdog_) return;
  if (text.size() > kMaxText) text = text.substr(0, kMaxText);
  RecordHeader header{};  // zeroed padding: every byte written is defined
  header.kind = kind;
  header.text_size = static_cast<uint16_t>(text.size());
  header.pid = pid;
  header.start_ticks = start_ticks;
  char record[sizeof header + kMaxText];
  std::memcpy(record, &header, sizeof header);
  // An empty view may have a null data(), which memcpy must not be given even for 0 bytes.
  if (!text.empty()) std::memcpy(record + sizeof header, text.data(), text.size());
  // Records are smaller than PIPE_BUF, so each write is atomic; the watchdog only reads, so the
  // pipe does not fill. Should it ever be gone, the server carries on without it.
  (void)::write(to_watchdog_.get(), record, sizeof header + text.size());
}

void Watchdog::watch_job(pid_t pgid, std::string_view job_id) { send('J', pgid, 0, job_id); }
void Watchdog::release_job(pid_t pgid, std::string_view job_id) { send('j', pgid, 0, job_id); }
void Watchdog::hold_process(const ProcessId& process) {
  send('P', process.pid, process.start_ticks, {});
}
void Watchdog::release_process(const ProcessId& process) {
  send('p', process.pid, process.start_ticks, {});
}
void Watchdog::watch_cgroups(const std::filesystem::path& dir) { send('C', 0, 0, dir.string()); }

}  // namespace sys

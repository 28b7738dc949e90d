#include "sys/cgroup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <sstream>

#include "sys/process.h"
#include "sys/small_file.h"

namespace sys {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kServerDirPrefix = "mcp-background-job-";

base::Result<void> write_file(const fs::path& path, std::string_view text) {
  base::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return base::fail_errno("open " + path.string());
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return base::fail_errno(fmt::format("writing '{}' to {}", text, path.string()));
  }
  return {};
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// Where the server's own pids cgroup is: the hierarchy's mount point joined with the server's
// path in it, and that path as /proc/<pid>/cgroup shows it.
struct OwnCgroup {
  fs::path dir;
  std::string relative;
  bool v2 = false;
};

// The path of the server's cgroup in the hierarchy mounted at `mount` whose root is `root`.
fs::path join_mount(const std::string& mount, const std::string& root, const std::string& own) {
  std::string below = own;
  if (root != "/" && below.starts_with(root)) below = below.substr(root.size());
  return fs::path(mount) / fs::path(below).relative_path();
}

base::Result<OwnCgroup> find_own_pids_cgroup() {
  // "hierarchy-id:controllers:path"; cgroup v2 is the line "0::path".
  std::string v1_path, v2_path;
  bool has_v1 = false, has_v2 = false;
  std::istringstream cgroups(read_small_file("/proc/self/cgroup"));
  for (std::string line; std::getline(cgroups, line);) {
    auto fields = split(line, ':');
    if (fields.size() < 3) continue;
    std::string path = line.substr(fields[0].size() + fields[1].size() + 2);
    if (fields[0] == "0" && fields[1].empty()) {
      has_v2 = true;
      v2_path = path;
      continue;
    }
    for (const auto& controller : split(fields[1], ',')) {
      if (controller == "pids") {
        has_v1 = true;
        v1_path = path;
      }
    }
  }
  // mountinfo: "id parent major:minor root mount-point options [optional...] - type source super"
  std::string v1_mount, v1_root, v2_mount, v2_root;
  std::istringstream mounts(read_small_file("/proc/self/mountinfo"));
  for (std::string line; std::getline(mounts, line);) {
    auto fields = split(line, ' ');
    size_t dash = 0;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (fields.size() < 5 || dash + 3 >= fields.size()) continue;
    const std::string& type = fields[dash + 1];
    if (type == "cgroup") {
      for (const auto& option : split(fields[dash + 3], ',')) {
        if (option == "pids" && v1_mount.empty()) {
          v1_mount = fields[4];
          v1_root = fields[3];
        }
      }
    } else if (type == "cgroup2" && v2_mount.empty()) {
      v2_mount = fields[4];
      v2_root = fields[3];
    }
  }
  if (has_v1 && !v1_mount.empty()) {
    return OwnCgroup{join_mount(v1_mount, v1_root, v1_path), v1_path, false};
  }
  if (has_v2 && !v2_mount.empty()) {
    fs::path dir = join_mount(v2_mount, v2_root, v2_path);
    for (const auto& controller : split(read_small_file(dir / "cgroup.controllers"), ' ')) {
      std::string name = controller;
      if (!name.empty() && name.back() == '\n') name.pop_back();
      if (name == "pids") return OwnCgroup{dir, v2_path, true};
    }
    return base::fail(fmt::format(
        "the pids controller is not available in this process's cgroup v2 ({}: cgroup.controllers "
        "lacks pids; enable it in the parent's cgroup.subtree_control, or run under a delegated "
        "cgroup that has it)",
        dir.string()));
  }
  return base::fail(
      "no pids cgroup controller is mounted (neither a cgroup v1 hierarchy with pids nor cgroup "
      "v2 appears in /proc/self/mountinfo)");
}

// Directories left by servers that were killed before they could remove them: empty ones go.
// A server still running (its pid alive) keeps its own.
void remove_stale_server_dirs(const fs::path& own) {
  std::error_code error;
  for (fs::directory_iterator it(own, error), end; !error && it != end; it.increment(error)) {
    std::string name = it->path().filename().string();
    if (!name.starts_with(kServerDirPrefix) || !it->is_directory(error)) continue;
    pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + kServerDirPrefix.size()));
    if (pid <= 0 || pid == ::getpid() || process_exists(pid)) continue;
    std::error_code inner;
    for (fs::directory_iterator job(it->path(), inner), jobs_end; !inner && job != jobs_end;
         job.increment(inner)) {
      if (job->is_directory(inner)) ::rmdir(job->path().c_str());
    }
    ::rmdir(it->path().c_str());
  }
}

// Lets the children of `dir` (cgroup v2) have the pids controller.
base::Result<void> enable_pids_for_children(const fs::path& dir) {
  std::string enabled = read_small_file(dir / "cgroup.subtree_control");
  for (const auto& controller : split(enabled, ' ')) {
    if (controller == "pids" || controller == "pids\n") return {};
  }
  return write_file(dir / "cgroup.subtree_control", "+pids");
}

}  // namespace

JobCgroup::JobCgroup(fs::path dir, std::string relative, bool v2, base::UniqueFd procs)
    : dir_(std::move(dir)), relative_(std::move(relative)), v2_(v2), procs_(std::move(procs)) {}

JobCgroup::~JobCgroup() { remove(); }

std::vector<pid_t> JobCgroup::pids() const {
  std::vector<pid_t> pids;
  std::istringstream list(read_small_file(dir_ / "cgroup.procs"));
  pid_t pid;
  while (list >> pid) pids.push_back(pid);
  return pids;
}

int JobCgroup::signal_all(int sig) const {
  if (removed_) return 0;
  if (v2_ && sig == SIGKILL && ::access((dir_ / "cgroup.kill").c_str(), W_OK) == 0) {
    // cgroup v2 (Linux 5.14): the kernel kills every member at once, even one forking now.
    auto members = pids();
    if (write_file(dir_ / "cgroup.kill", "1")) return static_cast<int>(members.size());
  }
  // A member that forks between the read and the signal has a child the next round finds; after
  // KILL nothing forks any more, so a few rounds suffice.
  int rounds = sig == SIGKILL ? 8 : 1;
  int total = 0;
  for (int round = 0; round < rounds; ++round) {
    int sent = 0;
    for (pid_t pid : pids()) {
      auto pidfd = open_pidfd(pid);
      if (!pidfd) continue;  // exited meanwhile
      // The pidfd pins the process that had this pid when it was opened. If that process is
      // still alive now, /proc/<pid> is that process, and it must still be one of ours.
      bool member = contains(pid);
      if (!member) continue;
      if (auto delivered = signal_pidfd(pidfd->get(), sig); delivered && *delivered) ++sent;
    }
    total += sent;
    if (sent == 0) break;
  }
  return total;
}

bool JobCgroup::contains(pid_t pid) const {
  bool member = false;
  std::istringstream lines(read_small_file(fmt::format("/proc/{}/cgroup", pid)));
  for (std::string line; std::getline(lines, line);) {
    auto fields = split(line, ':');
    if (fields.size() < 3) continue;
    bool ours = v2_ ? (fields[0] == "0" && fields[1].empty())
                    : ("," + fields[1] + ",").find(",pids,") != std::string::npos;
    if (!ours) continue;
    std::string path = line.substr(fields[0].size() + fields[1].size() + 2);
    member = path == relative_ || path.starts_with(relative_ + "/");
  }
  return member;
}

bool JobCgroup::remove() {
  if (removed_) return true;
  if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) removed_ = true;
  return removed_;
}

base::Result<std::unique_ptr<PidsCgroupParent>> PidsCgroupParent::create() {
  auto own = find_own_pids_cgroup();
  if (!own) return tl::unexpected(own.error());
  remove_stale_server_dirs(own->dir);
  std::string name = fmt::format("{}{}", kServerDirPrefix, ::getpid());
  fs::path dir = own->dir / name;
  if (own->v2) {
    if (auto enabled = enable_pids_for_children(own->dir); !enabled) {
      return base::fail(fmt::format("cannot enable the pids controller below {}: {}",
                                    own->dir.string(), enabled.error().message));
    }
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return base::fail(fmt::format("cannot create the pids cgroup {}: {} (root or a delegated "
                                  "cgroup is needed)",
                                  dir.string(), std::strerror(errno)),
                      errno);
  }
  std::string relative = own->relative == "/" ? "/" + name : own->relative + "/" + name;
  std::unique_ptr<PidsCgroupParent> parent(new PidsCgroupParent(dir, relative, own->v2));
  if (own->v2) {
    if (auto enabled = enable_pids_for_children(dir); !enabled) {
      return base::fail(fmt::format("cannot enable the pids controller below {}: {}", dir.string(),
                                    enabled.error().message));
    }
  }
  return parent;
}

PidsCgroupParent::~PidsCgroupParent() { ::rmdir(dir_.c_str()); }

base::Result<std::unique_ptr<JobCgroup>> PidsCgroupParent::create_job(const std::string& name,
                                                                      int max_tasks) {
  fs::path dir = dir_ / name;
  if (::mkdir(dir.c_str(), 0755) != 0) {
    return base::fail_errno(fmt::format("cannot create the job's pids cgroup {}", dir.string()));
  }
  // From here the JobCgroup owns the directory: every failure below removes it.
  auto job = std::make_unique<JobCgroup>(dir, relative_ + "/" + name, v2_, base::UniqueFd());
  if (auto limited = write_file(dir / "pids.max", std::to_string(max_tasks)); !limited) {
    return tl::unexpected(limited.error());
  }
  base::UniqueFd procs(::open((dir / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  if (!procs) return base::fail_errno("open " + (dir / "cgroup.procs").string());
  job->procs_ = std::move(procs);
  return job;
}

}  // namespace sys

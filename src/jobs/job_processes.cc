#include "jobs/job_processes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <set>

#include "sys/process.h"

namespace jobs {
namespace {

// A walk finds what was forked before it; a stopped process forks no more. A job that keeps
// starting processes faster than they can be stopped is still bounded by this many walks.
constexpr int kMaxStopRounds = 16;

void signal_one(const sys::ProcessId& id, int sig) {
  if (auto sent = sys::signal_process(id, sig); !sent) {
    spdlog::warn("cannot signal process {}: {}", id.pid, sent.error().message);
  }
}

}  // namespace

void JobProcesses::started(pid_t main_pid, const sys::JobCgroup* cgroup) {
  main_ = main_pid;
  main_unreaped_ = true;
  cgroup_ = cgroup;
}

void JobProcesses::main_reaped() {
  main_unreaped_ = false;
  std::erase_if(members_, [&](const sys::ProcessInfo& member) { return member.id.pid == main_; });
}

void JobProcesses::adopt(const sys::ProcessInfo& orphan) {
  if (std::find(adopted_.begin(), adopted_.end(), orphan.id) == adopted_.end()) {
    adopted_.push_back(orphan.id);
  }
  if (!contains(orphan.id)) members_.push_back(orphan);
}

std::vector<sys::ProcessId> JobProcesses::roots() const {
  std::vector<sys::ProcessId> roots;
  // Unreaped, the main process's pid cannot have been reused: no start time to check.
  if (main_unreaped_) roots.push_back({main_, 0});
  roots.insert(roots.end(), adopted_.begin(), adopted_.end());
  if (cgroup_ != nullptr) {
    for (pid_t pid : cgroup_->pids()) roots.push_back({pid, 0});
  }
  return roots;
}

sys::ProcessTreeStats JobProcesses::refresh(ino_t stdin_inode) {
  auto tree = sys::walk_process_trees(roots(), stdin_inode);
  members_ = std::move(tree.processes);
  // An adopted orphan that is gone is forgotten: its pid may be reused.
  std::erase_if(adopted_, [&](const sys::ProcessId& orphan) { return !contains(orphan); });
  return tree.stats;
}

bool JobProcesses::contains(const sys::ProcessId& id) const {
  return std::any_of(members_.begin(), members_.end(),
                     [&](const sys::ProcessInfo& member) { return member.id == id; });
}

int JobProcesses::left() const {
  auto main = std::count_if(members_.begin(), members_.end(), [&](const sys::ProcessInfo& m) {
    return main_unreaped_ && m.id.pid == main_;
  });
  return static_cast<int>(members_.size() - static_cast<size_t>(main));
}

void JobProcesses::signal(int sig) {
  if (main_unreaped_) {
    if (auto sent = sys::signal_group(main_, sig); !sent) {
      spdlog::warn("cannot signal process group {}: {}", main_, sent.error().message);
    }
  }
  for (const auto& member : members_) {
    if (main_unreaped_ && member.group == main_) continue;  // the group signal reached it
    signal_one(member.id, sig);
  }
  if (cgroup_ == nullptr) return;
  // The cgroup also names what was forked since the walk; the rest has just been signalled.
  for (pid_t pid : cgroup_->pids()) {
    auto member = sys::read_process(pid);
    if (!member || member->zombie() || contains(member->id)) continue;
    if (main_unreaped_ && member->group == main_) continue;
    signal_one(member->id, sig);
  }
}

int JobProcesses::kill_all(const std::function<void()>& before_walk) {
  bool group = main_unreaped_;
  if (group) (void)sys::signal_group(main_, SIGSTOP);
  std::set<sys::ProcessId> stopped;
  for (int round = 0; round < kMaxStopRounds; ++round) {
    if (before_walk) before_walk();
    refresh(0);
    bool found_new = false;
    for (const auto& member : members_) {
      if (!stopped.insert(member.id).second) continue;
      found_new = true;
      signal_one(member.id, SIGSTOP);
    }
    if (!found_new) break;
  }
  // A stopped process dies of KILL at once.
  if (group) (void)sys::signal_group(main_, SIGKILL);
  for (const auto& id : stopped) signal_one(id, SIGKILL);
  if (cgroup_ != nullptr) cgroup_->signal_all(SIGKILL);
  return static_cast<int>(stopped.size());
}

}  // namespace jobs

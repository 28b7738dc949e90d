// The part of JobManager that looks after what jobs leave behind: the processes the subreaper
// adopts (which job each belongs to, reaping them), the jobs whose main process exited while
// processes of theirs still run, and the cgroups of finished jobs until they empty. The
// registry, queue, start and end of jobs are in job_manager.cc.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <unordered_set>
#include <vector>

#include "jobs/job_manager.h"
#include "sys/subreaper.h"

namespace jobs {
namespace {

// How often the processes a job left behind are looked for while any are left: processes that
// are not the server's children end without a word to it.
constexpr std::chrono::milliseconds kLingeringSweep{250};

}  // namespace

void JobManager::remove_empty_cgroups() {
  std::erase_if(leftover_cgroups_, [](const auto& cgroup) { return cgroup->remove(); });
  for (auto& [id, job] : jobs_) {
    if (!job->running() && !job->output_open()) job->remove_cgroup_if_empty();
  }
}

void JobManager::sweep_cgroups_soon() {
  if (cgroup_sweep_armed_ || shutting_down_) return;
  cgroup_sweep_armed_ = true;
  // A cgroup empties when its last process exits, which nothing announces on cgroup v1: look
  // twice a second while any finished job's cgroup still holds processes.
  cgroup_sweep_.expires_after(std::chrono::milliseconds(500));
  cgroup_sweep_.async_wait([this](boost::system::error_code ec) {
    // Cancelled: the manager may be gone (its destructor cancels the timer); touch nothing.
    if (ec) return;
    cgroup_sweep_armed_ = false;
    remove_empty_cgroups();
    bool left = !leftover_cgroups_.empty() ||
                std::any_of(jobs_.begin(), jobs_.end(), [](const auto& entry) {
                  return !entry.second->running() && entry.second->has_cgroup();
                });
    if (left) sweep_cgroups_soon();
  });
}

void JobManager::collect_orphans(std::chrono::milliseconds max_age) {
  auto now = std::chrono::steady_clock::now();
  if (max_age.count() > 0 && now - orphans_collected_ < max_age) return;
  orphans_collected_ = now;
  auto children = sys::own_children();
  std::unordered_set<pid_t> present(children.begin(), children.end());
  // Only we reap orphans: one no longer among our children was reaped here. (Kept for tidiness.)
  std::vector<pid_t> vanished;
  for (const auto& [pid, orphan] : orphans_) {
    if (present.count(pid) == 0) vanished.push_back(pid);
  }
  for (pid_t pid : vanished) forget_orphan(pid);
  bool reaped = false;
  for (pid_t pid : children) {
    if (keeper_pids_.count(pid) > 0) {
      if (sys::reap_child_if_exited(pid)) keeper_pids_.erase(pid);
      continue;
    }
    if (main_pids_.count(pid) > 0 || (watchdog_ != nullptr && pid == watchdog_->pid())) continue;
    if (orphans_.count(pid) == 0) {
      auto info = sys::read_process(pid);
      if (!info) continue;
      Orphan orphan{info->id, {}, false};
      if (!info->zombie()) {
        orphan.job_id = attribute(*info);
        auto job = orphan.job_id.empty() ? nullptr : find(orphan.job_id);
        if (job) {
          job->processes().adopt(*info);
          // A job already over holds processes again: look after it like any other.
          if (!job->running()) sweep_lingering_soon();
        } else {
          strays_.adopt(*info);
          spdlog::warn(
              "process {} was left behind by a job that cannot be told (it left the "
              "job's process group, carries no job id and holds none of its streams); "
              "it is stopped at shutdown",
              pid);
        }
        // Once the server is gone, the watchdog finds a job's group, and what carries its id;
        // anything else of it must be named.
        if (watchdog_ != nullptr && (!job || info->group != job->pid())) {
          watchdog_->hold_process(info->id);
          orphan.held_by_watchdog = true;
        }
      }
      orphans_.emplace(pid, std::move(orphan));
    }
    if (sys::reap_child_if_exited(pid)) {
      forget_orphan(pid);
      reaped = true;
    }
  }
  if (reaped) any_change_.cancel();
}

void JobManager::forget_orphan(pid_t pid) {
  auto it = orphans_.find(pid);
  if (it == orphans_.end()) return;
  if (it->second.held_by_watchdog && watchdog_ != nullptr) {
    watchdog_->release_process(it->second.id);
  }
  orphans_.erase(it);
}

std::string JobManager::attribute(const sys::ProcessInfo& orphan) const {
  // Found by an earlier walk beneath one of the job's processes: certain.
  for (const auto& [id, job] : jobs_) {
    if (job->has_started() && job->processes().contains(orphan.id)) return id;
  }
  // In the job's cgroup, which no process can leave: certain.
  for (const auto& [id, job] : jobs_) {
    if (job->has_cgroup() && job->cgroup_contains(orphan.id.pid)) return id;
  }
  // The job id every process of a job inherits, unless it cleared its environment.
  if (auto mark = sys::environment_variable(orphan.id.pid, sys::kJobIdVariable)) {
    if (auto job = find(*mark); job && job->has_started()) return *mark;
  }
  // Still in its job's process group (or a terminal job's session), while the group is provably
  // the job's (watched: it still holds something).
  for (const auto& [id, group] : watched_groups_) {
    if (orphan.group == group || orphan.session == group) return id;
  }
  // Holding one of its job's standard streams.
  for (int fd = 0; fd <= 2; ++fd) {
    ino_t inode = sys::open_file_inode(orphan.id.pid, fd);
    if (inode == 0) continue;
    for (const auto& [id, job] : jobs_) {
      if (job->owns_stream(inode)) return id;
    }
  }
  return {};
}

void JobManager::watch_child_exits() {
  // A signal already delivered is run even after the set is destroyed, with no error: the
  // handler checks that the manager is still there.
  child_exits_.async_wait(
      [this, alive = std::weak_ptr<void>(alive_)](boost::system::error_code ec, int) {
        if (ec || alive.expired()) return;
        collect_orphans();
        update_lingering();
        watch_child_exits();
      });
}

void JobManager::update_lingering() {
  bool left = false;
  std::vector<std::shared_ptr<Job>> over;
  for (const auto& [id, job] : jobs_) {
    if (job->running() || job->processes_left() == 0) continue;
    job->refresh_processes(kLingeringSweep / 5);  // one collection serves the whole sweep
    if (job->processes_left() > 0) {
      left = true;
    } else {
      over.push_back(job);
    }
  }
  for (const auto& job : over) {
    spdlog::info("job {}: nothing it started is left", job->id());
    job->notify_change();
    any_change_.cancel();
    release_group_if_gone(*job);
  }
  if (!over.empty()) evict_beyond_limit();
  if (left) sweep_lingering_soon();
}

void JobManager::sweep_lingering_soon() {
  if (lingering_sweep_armed_ || shutting_down_) return;
  lingering_sweep_armed_ = true;
  lingering_sweep_.expires_after(kLingeringSweep);
  lingering_sweep_.async_wait(
      [this, alive = std::weak_ptr<void>(alive_)](boost::system::error_code ec) {
        if (ec || alive.expired()) return;  // cancelled, or the manager is gone
        lingering_sweep_armed_ = false;
        update_lingering();
      });
}

}  // namespace jobs

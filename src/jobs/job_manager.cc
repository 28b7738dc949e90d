#include "jobs/job_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <csignal>
#include <system_error>

#include "sys/subreaper.h"

namespace jobs {
namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// After KILL, the kernel reaps within milliseconds; this bounds shutdown if it does not
// (a process stuck in uninterruptible sleep).
constexpr std::chrono::seconds kReapAfterKillBound{3};

// How often shutdown looks whether everything has ended: processes that are not the server's
// children end without a word to it.
constexpr std::chrono::milliseconds kShutdownLook{50};

bool is_shell_safe(const std::string& word) {
  if (word.empty()) return false;
  return std::all_of(word.begin(), word.end(), [](unsigned char c) {
    return std::isalnum(c) ||
           std::string_view("@%+=:,./-_").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

std::optional<std::string> find_nul_byte(const ExecuteRequest& request) {
  auto has_nul = [](std::string_view text) { return text.find('\0') != std::string_view::npos; };
  if (request.command && has_nul(*request.command)) return "'command'";
  for (size_t i = 0; i < request.argv.size(); ++i) {
    if (has_nul(request.argv[i])) return fmt::format("argv[{}]", i);
  }
  if (request.cwd && has_nul(*request.cwd)) return "'cwd'";
  for (const auto& [name, value] : request.env) {
    if (has_nul(name) || has_nul(value)) return fmt::format("env '{}'", name);
  }
  return std::nullopt;
}

}  // namespace

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& word : argv) {
    if (!out.empty()) out.push_back(' ');
    if (is_shell_safe(word)) {
      out += word;
      continue;
    }
    out.push_back('\'');
    for (char c : word) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out.push_back(c);
      }
    }
    out.push_back('\'');
  }
  return out;
}

JobManager::JobManager(const asio::any_io_executor& executor, EngineSettings settings,
                       sys::Watchdog* watchdog)
    : executor_(executor),
      settings_(std::move(settings)),
      starts_(settings_.max_starts_per_minute),
      inheritable_env_(
          policy::inheritable_environment(settings_.environment, policy::server_environment())),
      cleanup_timer_(executor),
      any_change_(executor, std::chrono::steady_clock::time_point::max()),
      confinement_(settings_.confinement),
      cgroup_sweep_(executor),
      watchdog_(watchdog),
      child_exits_(executor),
      lingering_sweep_(executor) {
  if (!settings_.policy) {
    settings_.policy = std::make_shared<policy::CommandPolicy>(
        policy::CommandPolicy::allow_all(settings_.working_dir));
  }
  // A loader variable in the server's own environment (LD_LIBRARY_PATH from a shell profile,
  // say) would reach every job as if the caller had set it: with allowed_programs set, only the
  // ones the operator named are inherited.
  std::string withheld;
  std::erase_if(inheritable_env_, [&](const std::string& entry) {
    std::string_view name = std::string_view(entry).substr(0, entry.find('='));
    if (settings_.policy->loader_variable_allowed(name)) return false;
    withheld += withheld.empty() ? "" : ", ";
    withheld += name;
    return true;
  });
  if (!withheld.empty()) {
    spdlog::warn(
        "jobs do not inherit {} from the server's environment: with allowed_programs "
        "set, loader variables reach jobs only when named in allowed_loader_env",
        withheld);
  }
  // Whatever a job leaves behind comes back to this process when its parent exits: found, and
  // reaped, here. Without it (it needs no privilege, so only a very old kernel refuses), orphans
  // go to init and only the job id they carry finds them again.
  if (auto subreaper = sys::become_child_subreaper(); !subreaper) {
    spdlog::warn(
        "{}: processes a job leaves behind are found only by the job id in their "
        "environment",
        subreaper.error().message);
  }
  boost::system::error_code ignored;
  child_exits_.add(SIGCHLD, ignored);
  // SIGCHLD arrives with every exit: it must not interrupt a system call elsewhere (SA_RESTART),
  // and the STOPs of kill_all need no answer (SA_NOCLDSTOP).
  (void)sys::add_signal_flags(SIGCHLD, SA_RESTART | SA_NOCLDSTOP);
  watch_child_exits();
  schedule_cleanup();
}

JobManager::~JobManager() {
  // Job cgroups go before the server's cgroup directory (in confinement_) can.
  for (auto& [id, job] : jobs_) {
    job->close();
    job->take_cgroup();
  }
  leftover_cgroups_.clear();
}

base::Result<std::shared_ptr<Job>> JobManager::execute(const ExecuteRequest& request) {
  if (shutting_down_) return base::fail("the server is shutting down; no new jobs are started");
  if (auto where = find_nul_byte(request)) {
    // exec cuts every string at a NUL: the job would run something other than what the policy
    // checked (and what the caller wrote).
    return base::fail(fmt::format(
        "{} contains a NUL byte (\\u0000), which no program can receive; remove it", *where));
  }
  if (request.env.count(std::string(sys::kJobIdVariable)) > 0) {
    // It is how the job's processes are told from other jobs' once they leave its group.
    return base::fail(fmt::format(
        "env sets {}, which the server gives every process of a job (the job's id: how it finds "
        "them again); remove it from env",
        sys::kJobIdVariable));
  }

  JobSpec spec;
  if (request.command) {
    spec.command = *request.command;
    spec.argv = {"/bin/sh", "-c", *request.command};
  } else {
    spec.command = shell_join(request.argv);
    spec.argv = request.argv;
  }
  // Built before the policy looks at the job: its program is looked up on the job's own PATH.
  spec.env = policy::job_environment(
      settings_.environment, inheritable_env_, request.env,
      request.terminal ? policy::Attachment::kTerminal : policy::Attachment::kPipes);

  // The operator's policy decides first: a refused job is refused whatever the load.
  std::optional<std::string_view> cwd;
  if (request.cwd) cwd = *request.cwd;
  std::optional<std::string_view> command;
  if (request.command) command = *request.command;
  auto approved = settings_.policy->check({.command = command,
                                           .argv = request.argv,
                                           .command_line = spec.command,
                                           .cwd = cwd,
                                           .env = spec.env});
  if (!approved) return tl::unexpected(approved.error());
  // The job's own limits may only tighten the server's.
  auto confinement = confinement_.effective(request.confinement);
  if (!confinement) return tl::unexpected(confinement.error());

  bool slot_free = running_ < settings_.max_jobs;
  if (!slot_free && !settings_.queue) {
    return base::fail(fmt::format(
        "{} jobs are already running, the limit (max_jobs = {}); wait for one to finish, or stop "
        "one with the kill tool, then try again",
        running_, settings_.max_jobs));
  }
  if (!slot_free && queue_.size() >= static_cast<size_t>(settings_.max_queued)) {
    return base::fail(fmt::format(
        "{} jobs are running (max_jobs = {}) and {} are queued, the most the queue holds "
        "(max_queued = {}); wait for jobs to finish, or cancel queued ones with the kill tool",
        running_, settings_.max_jobs, queue_.size(), settings_.max_queued));
  }

  spec.cwd = std::move(approved->cwd.real_path);
  spec.cwd_fd = std::move(approved->cwd.fd);
  spec.program = std::move(approved->program.path);
  spec.program_fd = std::move(approved->program.fd);
  spec.label = request.label;
  spec.terminal = request.terminal;
  spec.streams = request.streams;
  spec.owner = request.owner;

  // Counted last, so that a request refused for any other reason costs no start.
  if (auto wait = starts_.try_take()) {
    double seconds = std::chrono::duration<double>(*wait).count();
    return base::deny(
        fmt::format("too many jobs started: at most {} per minute (max_starts_per_minute); the "
                    "next start is possible in {:.1f} s",
                    starts_.per_minute(), seconds),
        "max_starts_per_minute");
  }

  Job::Events events{[this](Job& ended) { handle_exit(ended); },
                     [this](Job& job) {
                       any_change_.cancel();
                       release_group_if_gone(job);
                     },
                     [this](std::chrono::milliseconds max_age) { collect_orphans(max_age); }};
  auto job = Job::create_queued(executor_, std::move(spec), settings_.limits, std::move(events));
  if (slot_free) {
    if (auto launched = launch(*job, request.timeout, *confinement); !launched) {
      return tl::unexpected(launched.error());
    }
  } else {
    // Higher priority first; among equals, after everything already waiting.
    QueuedJob entry{request.priority, arrivals_++, job, request.timeout, *confinement};
    auto at = std::find_if(queue_.begin(), queue_.end(),
                           [&](const QueuedJob& other) { return other.priority < entry.priority; });
    queue_.insert(at, std::move(entry));
    spdlog::info("job {} queued (priority {}, {} waiting): {}", job->id(), request.priority,
                 queue_.size(), job->spec().command);
  }
  jobs_.emplace(job->id(), job);
  start_order_.push_back(job->id());
  for (const auto& observer : jobs_changed_observers_) observer(job->id());
  return job;
}

base::Result<void> JobManager::launch(Job& job, std::optional<std::chrono::milliseconds> timeout,
                                      const JobConfinement& confinement) {
  auto prepared = confinement_.prepare(job.id(), confinement);
  if (!prepared) {
    return base::fail("cannot confine the job as asked: " + prepared.error().message,
                      prepared.error().sys_errno);
  }
  if (auto launched = job.launch(prepared->spawn, std::move(prepared->cgroup)); !launched) {
    return launched;
  }
  auto limit = timeout.value_or(settings_.job_timeout);
  if (limit.count() > 0) job.set_time_limit(limit, settings_.timeout_grace);
  if (confinement.limits.memory_bytes > 0) {
    job.set_memory_limit(confinement.limits.memory_bytes, settings_.memory_check_interval);
  }
  if (watchdog_ != nullptr) {
    watchdog_->watch_job(job.pid(), job.id());
    if (!cgroups_reported_) {
      if (auto dir = confinement_.cgroup_dir()) {
        watchdog_->watch_cgroups(*dir);
        cgroups_reported_ = true;
      }
    }
  }
  watched_groups_.emplace(job.id(), job.pid());
  main_pids_.insert(job.pid());
  ++running_;
  ++totals_.started;
  spdlog::info("job {} started (pid {}): {}", job.id(), job.pid(),
               settings_.redactor != nullptr ? settings_.redactor->redact(job.spec().command)
                                             : job.spec().command);
  return {};
}

void JobManager::start_queued() {
  while (!shutting_down_ && running_ < settings_.max_jobs && !queue_.empty()) {
    QueuedJob next = std::move(queue_.front());
    queue_.erase(queue_.begin());
    if (auto launched = launch(*next.job, next.timeout, next.confinement); !launched) {
      spdlog::warn("queued job {} could not start: {}", next.job->id(), launched.error().message);
      next.job->fail_to_start(launched.error().message);
      record_finished(*next.job);
    }
    // Queue positions of the jobs behind it changed.
    for (const auto& observer : jobs_changed_observers_) observer(next.job->id());
  }
}

Job::Events JobManager::kept_job_events() {
  return Job::Events{[this](Job& ended) { record_finished(ended); },
                     [this](Job&) { any_change_.cancel(); },
                     [this](std::chrono::milliseconds max_age) { collect_orphans(max_age); }};
}

void JobManager::adopt_kept(std::shared_ptr<Job> job) {
  std::string id = job->id();
  spdlog::info("job {} (persisted, pid {}) is shown through its keeper", id, job->pid());
  jobs_.emplace(id, std::move(job));
  start_order_.push_back(id);
  for (const auto& observer : jobs_changed_observers_) observer(id);
}

bool JobManager::cancel_queued(const std::string& id) {
  auto it = std::find_if(queue_.begin(), queue_.end(),
                         [&](const QueuedJob& entry) { return entry.job->id() == id; });
  if (it == queue_.end()) return false;
  std::shared_ptr<Job> job = it->job;
  queue_.erase(it);
  job->cancel();
  spdlog::info("queued job {} cancelled", id);
  record_finished(*job);
  return true;
}

std::optional<int> JobManager::queue_position(const std::string& id) const {
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (queue_[i].job->id() == id) return static_cast<int>(i) + 1;
  }
  return std::nullopt;
}

void JobManager::handle_exit(Job& job) {
  --running_;
  main_pids_.erase(job.pid());
  spdlog::info("job {} {} (exit {}, signal {})", job.id(), to_string(job.status()),
               job.exit_code() ? std::to_string(*job.exit_code()) : "-",
               job.term_signal() ? sys::signal_name(*job.term_signal()) : "-");
  // What the main process left behind came back to us as it exited: it is still the job's.
  job.refresh_processes();
  if (job.processes_left() > 0) {
    spdlog::info("job {}: {} process(es) it started still run", job.id(), job.processes_left());
    sweep_lingering_soon();
  }
  release_group_if_gone(job);
  // The slot is free before anyone hears of the end, so a queued job starts first.
  start_queued();
  record_finished(job);
}

void JobManager::record_finished(Job& job) {
  ++totals_.ended[static_cast<size_t>(job.status())];
  finished_order_.push_back(job.id());
  any_change_.cancel();
  for (const auto& observer : job_end_observers_) observer(job);
  // Evicting here is safe even for `job` itself: its caller still holds it.
  evict_beyond_limit();
}

void JobManager::evict_beyond_limit() {
  if (shutting_down_) return;
  size_t excess = finished_order_.size() > static_cast<size_t>(settings_.max_finished)
                      ? finished_order_.size() - static_cast<size_t>(settings_.max_finished)
                      : 0;
  // Oldest first; a job that still holds processes is kept, or they would be no one's.
  std::vector<std::string> evictable;
  for (const auto& id : finished_order_) {
    if (evictable.size() == excess) break;
    auto it = jobs_.find(id);
    if (it == jobs_.end() || !it->second->holds_processes()) evictable.push_back(id);
  }
  for (auto& id : evictable) evict(std::move(id));
}

void JobManager::release_group_if_gone(Job& job) {
  if (job.holds_processes() || job.output_open()) return;
  // Processes that left the group may still be in the cgroup, or be on their way out.
  if (!job.remove_cgroup_if_empty()) sweep_cgroups_soon();
  auto it = watched_groups_.find(job.id());
  if (it == watched_groups_.end()) return;
  if (watchdog_ != nullptr) watchdog_->release_job(it->second, job.id());
  watched_groups_.erase(it);
}

// By value on purpose: callers pass an element of the containers this erases from.
void JobManager::evict(std::string id) {  // NOLINT(performance-unnecessary-value-param)
  auto it = jobs_.find(id);
  bool forgotten = it != jobs_.end();
  if (forgotten) {
    it->second->close();
    // Closed: its log grows no more. Its bytes stay in the totals.
    totals_.output_bytes += it->second->output().total_bytes();
    totals_.dropped_bytes += it->second->output().dropped_bytes();
    if (!it->second->remove_cgroup_if_empty()) {
      leftover_cgroups_.push_back(it->second->take_cgroup());
      sweep_cgroups_soon();
    }
    jobs_.erase(it);
  }
  if (auto group = watched_groups_.find(id); group != watched_groups_.end()) {
    if (watchdog_ != nullptr) watchdog_->release_job(group->second, id);
    watched_groups_.erase(group);
  }
  std::erase(start_order_, id);
  std::erase(finished_order_, id);
  if (forgotten) {
    forgotten_.push_back(id);
    forgotten_ids_.insert(id);
    if (forgotten_.size() > kForgottenKept) {
      forgotten_ids_.erase(forgotten_.front());
      forgotten_.pop_front();
    }
    for (const auto& observer : jobs_changed_observers_) observer(id);
  }
}

void JobManager::evict_expired() {
  auto now = std::chrono::steady_clock::now();
  std::vector<std::string> expired;
  for (const auto& id : finished_order_) {
    auto it = jobs_.find(id);
    if (it != jobs_.end() && now - it->second->ended_steady() < settings_.retention) break;
    // Kept while it holds processes, or they would be no one's.
    if (it == jobs_.end() || !it->second->holds_processes()) expired.push_back(id);
  }
  for (auto& id : expired) evict(std::move(id));
}

void JobManager::schedule_cleanup() {
  cleanup_timer_.expires_after(settings_.cleanup_interval);
  cleanup_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    evict_expired();
    schedule_cleanup();
  });
}

JobManager::Totals JobManager::totals() const {
  Totals totals = totals_;
  for (const auto& [id, job] : jobs_) {
    totals.output_bytes += job->output().total_bytes();
    totals.dropped_bytes += job->output().dropped_bytes();
  }
  return totals;
}

bool JobManager::forgot(std::string_view id) const {
  std::string key(id);
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return forgotten_ids_.contains(key);
}

std::shared_ptr<Job> JobManager::find(std::string_view id) const {
  // UUIDs compare without regard to case (RFC 9562); ours are made in lower case.
  std::string key(id);
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto it = jobs_.find(key);
  return it == jobs_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Job>> JobManager::jobs_newest_first() const {
  std::vector<std::shared_ptr<Job>> out;
  out.reserve(start_order_.size());
  for (auto it = start_order_.rbegin(); it != start_order_.rend(); ++it) {
    if (auto job = find(*it)) out.push_back(job);
  }
  return out;
}

asio::awaitable<void> JobManager::shutdown(std::chrono::milliseconds grace) {
  using namespace asio::experimental::awaitable_operators;
  shutting_down_ = true;
  cleanup_timer_.cancel();
  cgroup_sweep_.cancel();
  lingering_sweep_.cancel();
  lingering_sweep_armed_ = false;
  // Jobs that never started are simply not started.
  while (!queue_.empty()) cancel_queued(queue_.front().job->id());
  // Whether anything of any job is left, looked for now: processes that are not our children
  // end without a word to us.
  auto anything_left = [this] {
    collect_orphans();
    bool left = running_ > 0 || !orphans_.empty();
    for (const auto& [id, job] : jobs_) {
      if (!job->has_started() || job->is_kept()) continue;
      if (!job->running()) job->refresh_processes(kShutdownLook);
      left = left || job->holds_processes() || job->output_open();
    }
    strays_.refresh(0);
    return left || strays_.left() > 0;
  };
  auto wait_until = [&](auto deadline, auto done) -> asio::awaitable<void> {
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      asio::steady_timer look(executor_,
                              std::min(deadline, std::chrono::steady_clock::now() + kShutdownLook));
      co_await (any_change_.async_wait(kAsTuple) || look.async_wait(kAsTuple));
    }
  };

  // TERM first, so jobs can clean up: every process of every job, whether its main process still
  // runs or it left processes behind, and the orphans no job could be named for.
  collect_orphans();
  // Persisted jobs outlive the server: they are their keepers' to end.
  for (auto& [id, job] : jobs_) {
    if (!job->has_started() || job->is_kept()) continue;
    if (!job->running()) job->refresh_processes();
    if (job->holds_processes() || job->output_open()) job->kill(SIGTERM, grace);
  }
  strays_.refresh(0);
  strays_.signal(SIGTERM);
  co_await wait_until(std::chrono::steady_clock::now() + grace, [&] { return !anything_left(); });
  for (auto& [id, job] : jobs_) {
    if (!job->has_started() || job->is_kept()) continue;
    if (job->holds_processes() || job->output_open()) job->kill(SIGKILL, grace);
  }
  strays_.kill_all([this] { collect_orphans(); });
  co_await wait_until(std::chrono::steady_clock::now() + kReapAfterKillBound,
                      [&] { return !anything_left(); });
  if (running_ > 0) spdlog::error("{} job(s) could not be reaped at shutdown", running_);
  if (!orphans_.empty()) {
    spdlog::error("{} process(es) left behind by jobs could not be reaped at shutdown",
                  orphans_.size());
  }
  for (auto& [id, job] : jobs_) {
    job->close();
    // Everything was KILLed; only what is still there stays with the watchdog.
    release_group_if_gone(*job);
    if (!job->remove_cgroup_if_empty()) leftover_cgroups_.push_back(job->take_cgroup());
  }
  // What is left in cgroups left the jobs' groups (setsid) but is still theirs: it ends with the
  // server too, and the cgroups can go once the kernel has taken the processes out.
  for (const auto& cgroup : leftover_cgroups_) cgroup->signal_all(SIGKILL);
  auto cgroups_deadline = std::chrono::steady_clock::now() + kReapAfterKillBound;
  for (;;) {
    remove_empty_cgroups();
    if (leftover_cgroups_.empty() || std::chrono::steady_clock::now() >= cgroups_deadline) break;
    asio::steady_timer pause(executor_, std::chrono::milliseconds(20));  // no event to wait on
    co_await pause.async_wait(kAsTuple);
  }
  if (!leftover_cgroups_.empty()) {
    spdlog::error("{} job cgroup(s) still had processes at shutdown", leftover_cgroups_.size());
  }
}

}  // namespace jobs

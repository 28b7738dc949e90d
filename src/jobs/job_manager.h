#pragma once
/// The job engine: starts jobs, finds them by id, enforces the running-job limit, evicts finished
/// jobs by age and count, and stops everything at shutdown. It holds every process of its jobs:
/// it makes this process their subreaper (PR_SET_CHILD_SUBREAPER), so a process whose parent
/// exits comes back to it whatever session or group it moved to; it attributes each such orphan
/// to its job and reaps it when it exits. Knows nothing of MCP. One per server, used from the
/// io_context's thread only. Every child of this process other than its jobs' main processes
/// and the watchdog is taken for such an orphan.

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/result.h"
#include "jobs/confinement.h"
#include "jobs/job.h"
#include "policy/command_policy.h"
#include "policy/environment.h"
#include "policy/rate_limiter.h"
#include "policy/redactor.h"
#include "sys/watchdog.h"

namespace jobs {

struct EngineSettings {
  std::filesystem::path working_dir;  // Where jobs run when they name no cwd; absolute.
  int max_jobs = 10;                  // Running at once.
  int max_finished = 100;             // Finished jobs kept.
  std::chrono::milliseconds retention = std::chrono::hours(1);
  std::chrono::milliseconds cleanup_interval = std::chrono::minutes(1);
  // Default time limit of a job (zero: none), and the grace between TERM and KILL at the limit.
  std::chrono::milliseconds job_timeout{0};
  std::chrono::milliseconds timeout_grace = std::chrono::seconds(5);
  JobLimits limits;
  // What may run and where, checked before anything is spawned (or queued). Null: anything,
  // anywhere (the engine then uses CommandPolicy::allow_all).
  std::shared_ptr<const policy::CommandPolicy> policy;
  // What a job inherits from the server, and the defaults for how it runs (non_interactive).
  policy::EnvironmentRules environment;
  // Beyond max_jobs: queue (up to max_queued waiting jobs) or refuse.
  bool queue = true;
  int max_queued = 100;
  int max_starts_per_minute = 0;  // Accepted executes per minute; zero: no limit.
  // Resource limits and sandbox of every job (a job may ask for tighter ones).
  ConfinementSettings confinement;
  // How often the memory of a job with a memory limit is looked at.
  std::chrono::milliseconds memory_check_interval = std::chrono::milliseconds(200);
  // Redacts command lines in the server's own log (clients keep MCP servers' stderr in files);
  // null: logged as given.
  const policy::Redactor* redactor = nullptr;
};

struct ExecuteRequest {
  std::optional<std::string> command;  // Run through /bin/sh -c ...
  std::vector<std::string> argv;       // ... or run this program directly.
  std::optional<std::string> cwd;      // Relative paths are taken from working_dir.
  // Added to (or replacing in) the inherited environment; never removed by env_exclude.
  std::map<std::string, std::string> env;
  std::string label;
  std::optional<std::chrono::milliseconds> timeout;  // Overrides job_timeout; zero: none.
  std::optional<sys::TerminalSize> terminal;         // Run on a pseudo-terminal of this size.
  // Without a terminal: one pipe for stdout and stderr (their true order), or one each.
  sys::OutputStreams streams = sys::OutputStreams::kMerged;
  int priority = 0;  // In the queue: higher first, first come first served within a priority.
  ConfinementOverride confinement;  // Tighter limits or sandbox for this job.
  JobOwner owner;                   // Who asked (kept on the job, never checked here).
};

class JobManager {
 public:
  /// `watchdog` (may be null) is told of every job's process group, so that the groups are
  /// stopped even if this process dies without shutting down.
  JobManager(const asio::any_io_executor& executor, EngineSettings settings,
             sys::Watchdog* watchdog = nullptr);
  ~JobManager();
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  /// Starts a job, or queues it when max_jobs are running (status queued), or says why not
  /// (refused by the policy, queue full, rate limit, bad cwd, program that cannot start). A
  /// policy refusal is an Error with its `rule` set, and comes before any question of capacity.
  /// A job that fails to start is never registered; a queued job that later fails to start ends
  /// `failed` with start_error().
  base::Result<std::shared_ptr<Job>> execute(const ExecuteRequest& request);

  /// Shows and drives a persisted job, whose keeper (src/keeper/) runs it: registered like the
  /// server's own jobs (find, list, end observers) but holding no slot under max_jobs, and left
  /// running at shutdown. Its events come from kept_job_events().
  void adopt_kept(std::shared_ptr<Job> job);
  Job::Events kept_job_events();
  /// A child of this process that is a keeper (this server started it): reaped when it exits,
  /// never taken for a job's orphan.
  void hold_keeper(pid_t pid) { keeper_pids_.insert(pid); }

  /// Ends a queued job without running it (status cancelled). False if it is not queued.
  bool cancel_queued(const std::string& id);
  /// A queued job's place in the queue, 1 for the next to start; empty if it is not queued.
  std::optional<int> queue_position(const std::string& id) const;
  int queued_count() const { return static_cast<int>(queue_.size()); }

  /// The job with this id, in any case (ids are UUIDs), or null.
  std::shared_ptr<Job> find(std::string_view id) const;
  /// Whether this engine ran a job with this id and has forgotten it since (among the last
  /// kForgottenKept forgotten): an unknown id it did not forget was never one of its jobs.
  bool forgot(std::string_view id) const;
  static constexpr size_t kForgottenKept = 10000;
  /// When this engine started (for messages about ids from an earlier server).
  base::WallClock::time_point started_at() const { return started_at_; }
  std::vector<std::shared_ptr<Job>> jobs_newest_first() const;
  int running_count() const { return running_; }

  /// What the engine has done since it started, for metrics. Counting costs a few increments
  /// per job; output is summed from the jobs' logs when asked, so capture pays nothing.
  struct Totals {
    // Processes launched (a queued job once it runs).
    uint64_t started = 0;
    // Jobs that reached a final status, indexed by JobStatus.
    std::array<uint64_t, kJobStatusCount> ended{};
    // Bytes printed by every job, forgotten ones included, and of those, the bytes discarded
    // from the middle to stay within the bound.
    uint64_t output_bytes = 0;
    uint64_t dropped_bytes = 0;
  };
  Totals totals() const;
  const EngineSettings& settings() const { return settings_; }
  const asio::any_io_executor& executor() const { return executor_; }

  /// Checks that the confinement the settings ask for can be enforced here and prepares it
  /// (Landlock rulesets, the pids cgroup). main() calls it at start-up and fails on an error;
  /// without the call, the first job that needs it does the same work.
  base::Result<void> check_confinement() { return confinement_.check(); }

  /// Called once for every job that ends (after its status is final). Each call adds an observer.
  /// With an `owner`, the observer is no longer called once the owner is gone, and forgotten
  /// when the next observer is added (observers of HTTP sessions come and go).
  void on_job_end(std::function<void(const Job&)> observer, std::weak_ptr<const void> owner = {}) {
    add_observer(job_end_observers_, std::move(observer), std::move(owner));
  }
  /// Called with a job's id when the set of remembered jobs changes: after the job started, and
  /// after it was forgotten (evicted; find() no longer has it). Each call adds an observer.
  void on_jobs_changed(std::function<void(const std::string& id)> observer,
                       std::weak_ptr<const void> owner = {}) {
    add_observer(jobs_changed_observers_, std::move(observer), std::move(owner));
  }

  /// Evicts finished jobs older than the retention, now (the timer also does this periodically).
  void evict_expired();

  /// TERM to every process of every job (and to orphans no job could be named for), KILL to
  /// what remains after `grace`, and returns once everything is reaped (or a bounded time later,
  /// should the kernel not deliver). Then every fd is closed. execute() fails from the moment
  /// this starts.
  asio::awaitable<void> shutdown(std::chrono::milliseconds grace);

  /// Reads this process's children: each new orphan (a child that is not a job's main process
  /// nor the watchdog) is attributed to its job (JobProcesses::adopt), and those that exited are
  /// reaped, so no zombie stays. Runs on SIGCHLD and before any job's processes are walked;
  /// does nothing if it last ran less than `max_age` ago.
  void collect_orphans(std::chrono::milliseconds max_age = {});

 private:
  struct QueuedJob {
    int priority;
    uint64_t arrival;  // FIFO within a priority.
    std::shared_ptr<Job> job;
    std::optional<std::chrono::milliseconds> timeout;
    JobConfinement confinement;
  };

  // Starts a created (queued-state) job's process, confined as asked, and registers it as
  // running.
  base::Result<void> launch(Job& job, std::optional<std::chrono::milliseconds> timeout,
                            const JobConfinement& confinement);
  // Starts queued jobs while slots are free.
  void start_queued();
  // A job reached a final state (exited, cancelled, or could not start from the queue).
  void record_finished(Job& job);
  void handle_exit(Job& job);
  // Once the main process is reaped and the output pipes are closed, nothing proves the group
  // is still ours: stop watching it, so a recycled pid is never signalled.
  void release_group_if_gone(Job& job);
  void evict(std::string id);
  // Evicts the oldest finished jobs beyond max_finished, skipping those that still hold
  // processes (they stay known until nothing of them is left).
  void evict_beyond_limit();
  void schedule_cleanup();
  // What jobs leave behind (defined in job_manager_orphans.cc): orphans, lingering processes,
  // cgroups of finished jobs.
  // The job an orphan belongs to, from what it carries: a process a walk already found, its
  // job's cgroup, the job id in its environment, its job's group or session, one of its job's
  // streams. Empty when none tells.
  std::string attribute(const sys::ProcessInfo& orphan) const;
  void watch_child_exits();
  // Walks the jobs whose main process exited but left processes behind; those with nothing left
  // are over (released from the watchdog, evictable). Looks again a little later while any is
  // left: processes that are not our children end without a word to us.
  void update_lingering();
  void sweep_lingering_soon();
  // Removes the cgroups of finished jobs (and of forgotten ones) that have emptied; while some
  // still hold processes, looks again a little later.
  void remove_empty_cgroups();
  void sweep_cgroups_soon();

  asio::any_io_executor executor_;
  EngineSettings settings_;
  std::unordered_map<std::string, std::shared_ptr<Job>> jobs_;
  std::vector<std::string> start_order_;  // Ids, oldest first.
  std::deque<std::string> forgotten_;     // The last kForgottenKept evicted ids, oldest first.
  std::unordered_set<std::string> forgotten_ids_;
  base::WallClock::time_point started_at_ = base::WallClock::now();
  std::deque<std::string> finished_order_;  // Ids of finished jobs, in the order they ended.
  int running_ = 0;
  // Started and ended counts, and the output totals of jobs already forgotten (see totals()).
  Totals totals_;
  std::vector<QueuedJob> queue_;  // Next to start first.
  uint64_t arrivals_ = 0;
  policy::RateLimiter starts_;
  // What jobs inherit of the server's environment (filtered once: it does not change).
  std::vector<std::string> inheritable_env_;
  bool shutting_down_ = false;
  asio::steady_timer cleanup_timer_;
  asio::steady_timer any_change_;  // Never expires; cancelled when a job ends or its output closes.
  template <typename Arg>
  struct Observer {
    std::function<void(Arg)> call;
    std::weak_ptr<const void> owner;
    bool owned = false;  // false: lives as long as the manager
    void operator()(Arg arg) const {
      if (!owned || !owner.expired()) call(arg);
    }
  };
  // Adds one, and forgets those whose owner is gone (never during a notification: observers are
  // added by constructors, not from inside an observer).
  template <typename Arg>
  static void add_observer(std::vector<Observer<Arg>>& observers, std::function<void(Arg)> call,
                           std::weak_ptr<const void> owner) {
    std::erase_if(observers, [](const Observer<Arg>& o) { return o.owned && o.owner.expired(); });
    bool owned = !owner.expired();
    observers.push_back({std::move(call), std::move(owner), owned});
  }

  std::vector<Observer<const Job&>> job_end_observers_;
  std::vector<Observer<const std::string&>> jobs_changed_observers_;
  Confinement confinement_;
  // Cgroups of forgotten jobs that still had processes (which left the job's group).
  std::vector<std::unique_ptr<sys::JobCgroup>> leftover_cgroups_;
  asio::steady_timer cgroup_sweep_;
  bool cgroup_sweep_armed_ = false;
  sys::Watchdog* watchdog_;
  std::unordered_map<std::string, pid_t> watched_groups_;  // job id -> group, until released
  bool cgroups_reported_ = false;  // the watchdog knows the cgroup directory

  // The main processes of running jobs: children reaped through their pidfds, not orphans.
  std::unordered_set<pid_t> main_pids_;
  std::unordered_set<pid_t> keeper_pids_;  // See hold_keeper.
  // Orphans adopted and not yet reaped, with the job each was attributed to (empty: none).
  struct Orphan {
    sys::ProcessId id;
    std::string job_id;
    bool held_by_watchdog = false;  // registered with the watchdog (it left its job's group)
  };
  std::unordered_map<pid_t, Orphan> orphans_;
  std::chrono::steady_clock::time_point orphans_collected_;
  void forget_orphan(pid_t pid);
  // The orphans no job could be named for, and their trees: ended at shutdown.
  JobProcesses strays_;
  asio::signal_set child_exits_;  // SIGCHLD: an orphan (or a job) exited
  asio::steady_timer lingering_sweep_;
  bool lingering_sweep_armed_ = false;
  // Expires with the manager: handlers already queued when it goes see it and touch nothing.
  std::shared_ptr<void> alive_ = std::make_shared<int>(0);
};

/// Quotes argv for display the way a POSIX shell would read it back.
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace jobs

#pragma once
/// One background job: its processes (the main one, its process group, and every process it left
/// behind, however it detached: see JobProcesses), the pipes (or the pseudo-terminal) to and from
/// it, its output log and its state. Everything happens on the io_context's thread: output is read
/// when the pipes are readable, the exit is seen when the pidfd becomes readable, input is written
/// when stdin is writable. Nothing here blocks. Created and owned by JobManager; the tools read it
/// and call kill / write_stdin / wait_for_change.

#include <sys/types.h>

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "base/unique_fd.h"
#include "jobs/job_processes.h"
#include "jobs/output_log.h"
#include "sys/cgroup.h"
#include "sys/proc_stats.h"
#include "sys/process.h"
#include "sys/pty.h"
#include "sys/spawn.h"

namespace jobs {

namespace asio = boost::asio;

// A job is queued (waiting for a slot under max_jobs) or running until it reaches one of the
// final states; a queued job that is cancelled ends `cancelled` without ever having run. `lost`
// is only ever read from the history: a job whose server stopped without recording its end.
enum class JobStatus {
  kQueued,
  kRunning,
  kCompleted,
  kFailed,
  kKilled,
  kTimedOut,
  kCancelled,
  kLost
};
inline constexpr size_t kJobStatusCount = static_cast<size_t>(JobStatus::kLost) + 1;
std::string_view to_string(JobStatus status);

/// Who asked for a job, as the caller names itself: a client name (empty if it never said) and
/// the session it spoke in (empty when the request had none). The engine only keeps them, for
/// whoever lists jobs to show and filter by.
struct JobOwner {
  std::string client;
  std::string session;
};

struct JobSpec {
  std::string command;            // As shown to clients: the shell line, or the argv quoted.
  std::vector<std::string> argv;  // What runs; {"/bin/sh", "-c", command} for shell jobs.
  std::string program;  // Set: the exact path to exec (checked by policy); empty: look up argv[0].
  std::filesystem::path cwd;
  // What the policy checked, open until the job starts (then closed): the job changes into
  // `cwd_fd` and, when set, executes `program_fd`, never the names again (see sys::SpawnRequest).
  base::UniqueFd cwd_fd;
  base::UniqueFd program_fd;
  std::vector<std::string> env;  // The whole environment, "NAME=value".
  std::string label;
  // Set: the job runs on a pseudo-terminal of this size (stdin, stdout and stderr all the
  // terminal; its output is recorded as stdout). Unset: pipes.
  std::optional<sys::TerminalSize> terminal;
  // Without a terminal: stdout and stderr through one pipe (kMerged: their true order, all
  // recorded as stdout) or one each (kSeparate: each byte's stream known, not their order).
  sys::OutputStreams streams = sys::OutputStreams::kMerged;
  JobOwner owner;
};

/// Why a job ended, beyond its status, when the server ended it for a limit other than time, or
/// why its end is unknown: its server went away without recording it (read from the history),
/// or the keeper of a persisted job vanished (its processes were then ended).
enum class EndReason { kNone, kMemoryLimit, kServerGone, kKeeperGone };
std::string_view to_string(EndReason reason);

struct JobLimits {
  uint64_t max_output_size = 10ull << 20;
  uint64_t stdin_buffer_size = 1ull << 20;
};

/// How a server acts on a persisted job, whose processes are its keeper's children, not the
/// server's (see src/keeper/): every action goes to the keeper. Implemented by keeper::KeeperLink.
class KeeperControl {
 public:
  virtual ~KeeperControl() = default;
  virtual void signal(int sig, std::chrono::milliseconds grace) = 0;
  virtual base::Result<void> write_input(std::string_view bytes, bool close_after) = 0;
  /// Asks the keeper to read what the job wrote and send it, and waits (bounded) until it did:
  /// read_output_now() of a kept job. True when nothing more was waiting.
  virtual bool flush_output() = 0;
  /// Stops listening to the keeper (the job goes on).
  virtual void close() = 0;
};

class Job : public std::enable_shared_from_this<Job> {
  struct PrivateTag {};

 public:
  /// What the owner hears of a job, and what it does for it. `exited` runs once, when the main
  /// process has been reaped and the status is final; `output_closed` once both output pipes
  /// have reached EOF. `collect_orphans` runs before the job's processes are walked: the owner
  /// hands it (JobProcesses::adopt) the orphans the server adopted since it last looked, unless
  /// it looked less than `max_age` ago.
  struct Events {
    std::function<void(Job&)> exited;
    std::function<void(Job&)> output_closed;
    std::function<void(std::chrono::milliseconds max_age)> collect_orphans;
  };

  /// Spawns the process and starts watching it. On failure nothing is left running.
  static base::Result<std::shared_ptr<Job>> start(const asio::any_io_executor& executor,
                                                  JobSpec spec, JobLimits limits, Events events);

  /// What the history kept of a job that is not this server's (an earlier server's, or one
  /// this server forgot), to show it again.
  struct Recorded {
    std::string id;
    JobSpec spec;
    JobStatus status = JobStatus::kCompleted;
    std::optional<int> exit_code;
    std::optional<int> term_signal;
    EndReason end_reason = EndReason::kNone;
    std::string start_error;
    pid_t pid = -1;  // -1: it never started
    base::WallClock::time_point queued_at;
    base::WallClock::time_point started;
    std::optional<base::WallClock::time_point> ended;
    OutputLog output;
    bool persisted = false;
  };
  /// A finished job rebuilt from the history: it has no process, its output is what was kept,
  /// and nothing done to it reaches any process (kill finds it already ended).
  static std::shared_ptr<Job> from_history(const asio::any_io_executor& executor,
                                           Recorded recorded);
  bool from_history() const { return from_history_; }

  /// A persisted job as its keeper describes it (the job runs; its output arrives through
  /// kept_output): every action on it goes through `control`. From the history's and the
  /// keeper's point of view it is the keeper's job; this server only shows and drives it.
  struct Kept {
    std::string id;
    JobSpec spec;
    pid_t pid = -1;
    ino_t stdin_inode = 0;
    uint64_t max_output_bytes = 0;
    base::WallClock::time_point queued_at;
    base::WallClock::time_point started;
  };
  static std::shared_ptr<Job> kept(const asio::any_io_executor& executor, Kept kept,
                                   std::shared_ptr<KeeperControl> control, Events events);
  bool is_kept() const { return keeper_ != nullptr; }
  /// Started with persist (shown through its keeper now, or read from the history).
  bool persisted() const { return keeper_ != nullptr || persisted_; }
  /// From the keeper: output at absolute `offset` (bytes before what this log holds are
  /// skipped; a gap is what the keeper dropped from the middle).
  void kept_output(Stream stream, uint64_t offset, std::string_view bytes);
  /// From the keeper: the job's status is final.
  struct KeptEnd {
    JobStatus status = JobStatus::kFailed;
    std::optional<int> exit_code;
    std::optional<int> term_signal;
    EndReason reason = EndReason::kNone;
    base::WallClock::time_point ended;
  };
  void kept_ended(const KeptEnd& end);
  /// From the keeper: the job's output reached its end (nothing holds its pipes any more).
  void kept_output_closed();

  /// A job in the queued state: it has an id and a spec but no process until launch().
  static std::shared_ptr<Job> create_queued(const asio::any_io_executor& executor, JobSpec spec,
                                            JobLimits limits, Events events);
  /// Starts a queued job's process. On failure nothing is left running and the job is still
  /// queued; the caller decides (fail_to_start or retry). With `confinement`, the child confines
  /// itself before exec (see sys/spawn.h); `cgroup`, if given, is the pids cgroup it joins, so
  /// that kill() also reaches processes that left the process group and memory is summed over
  /// it.
  base::Result<void> launch(std::optional<sys::SpawnConfinement> confinement = std::nullopt,
                            std::unique_ptr<sys::JobCgroup> cgroup = nullptr);
  /// Ends a queued job without running it: status cancelled.
  void cancel();
  /// Ends a queued job whose process could not be started: status failed, with `why` kept.
  void fail_to_start(std::string why);

  Job(PrivateTag, const asio::any_io_executor& executor, JobSpec spec, JobLimits limits,
      Events events);

  const std::string& id() const { return id_; }
  const JobSpec& spec() const { return spec_; }
  pid_t pid() const { return pid_; }
  bool has_terminal() const { return spec_.terminal.has_value(); }
  /// Whether stdout and stderr were captured apart (and so can be told apart in the log).
  bool separate_streams() const {
    return !has_terminal() && spec_.streams == sys::OutputStreams::kSeparate;
  }
  JobStatus status() const { return status_; }
  /// True until the main process has been reaped; the status follows the main process even when
  /// processes it left behind still hold its output open.
  bool running() const { return status_ == JobStatus::kRunning; }
  bool queued() const { return status_ == JobStatus::kQueued; }
  /// Whether a kill was sent while it ran: it will end killed (tasks/get shows it cancelled).
  bool stop_requested() const { return stop_requested_; }
  /// True once the status is final (the job ran and ended, or never ran and never will).
  bool finished() const { return !running() && !queued(); }
  /// False while queued (and for a queued job that never ran): started() is then meaningless.
  bool has_started() const { return pid_ > 0; }
  base::WallClock::time_point queued_at() const { return queued_at_; }
  /// Why a queued job could not start; empty otherwise.
  const std::string& start_error() const { return start_error_; }
  std::optional<int> exit_code() const { return exit_.exit_code; }
  /// kMemoryLimit when the server ended it for using more than its memory limit (status failed).
  EndReason end_reason() const { return end_reason_; }
  std::optional<int> term_signal() const { return exit_.term_signal; }
  base::WallClock::time_point started() const { return started_; }
  std::optional<base::WallClock::time_point> ended() const { return ended_; }
  std::chrono::steady_clock::time_point ended_steady() const { return ended_steady_; }
  const OutputLog& output() const { return output_; }
  /// How far a client has been shown this job's output (the furthest next_offset a read
  /// returned): where "what the agent has not seen yet" begins. Reads call note_shown.
  uint64_t shown_to() const { return shown_to_; }
  void note_shown(uint64_t offset) { shown_to_ = std::max(shown_to_, offset); }
  /// True while some process still holds the stdout or stderr pipe open.
  bool output_open() const {
    return stdout_pipe_.is_open() || stderr_pipe_.is_open() || kept_output_open_;
  }
  /// Whether `inode` is one of the job's standard streams (a pipe, or its terminal): a process
  /// that has one of them open was started by the job.
  bool owns_stream(ino_t inode) const;
  /// What the job's processes have as fd 0 (a pipe or its terminal): one reading it waits for
  /// input.
  ino_t stdin_inode() const { return stdin_inode_; }

  /// Walks the job's processes now, after the owner collected its orphans (if it last did more
  /// than `orphans_max_age` ago: a reading for status may use a recent collection, a kill may
  /// not). Const as a reading of /proc is: it only refreshes what the job knows of the world.
  void refresh_processes(std::chrono::milliseconds orphans_max_age = {}) const;
  /// The job's processes as of the last walk (status, kill, the memory watch, the sweep of
  /// finished jobs that left processes behind).
  const JobProcesses& processes() const { return processes_; }
  JobProcesses& processes() { return processes_; }
  /// Processes of the job still running after its main process exited (started in the
  /// background, in a new session, or as daemons), as of the last walk; 0 while the main process
  /// runs.
  int processes_left() const { return running() ? 0 : processes_.left(); }
  /// True while the main process runs or processes it left behind still do: the job is over for
  /// kill, shutdown and the watchdog only once this is false.
  bool holds_processes() const { return running() || processes_.left() > 0; }
  bool stdin_open() const {
    return (stdin_pipe_.is_open() || (is_kept() && running())) && !stdin_close_requested_;
  }
  uint64_t stdin_pending_bytes() const { return pending_input_.size(); }

  /// Fifty clients asking status of the same jobs (the HTTP load benchmark) walked /proc
  /// thousands of times a second; a reading this fresh is as good as a new one.
  static constexpr std::chrono::milliseconds kStatsReuse{50};
  /// Memory, CPU and stdin state of the job's processes, read from /proc at most
  /// `max_age` ago (typing into the job forgets the last reading). Empty once the main process
  /// has exited and nothing it started is left.
  std::optional<sys::ProcessTreeStats> tree_stats(
      std::chrono::milliseconds max_age = kStatsReuse) const;
  /// Reads what the job has written and the server has not read yet, now, rather than when the
  /// pump next wakes. True when nothing was left (or the output has ended). On a terminal this
  /// is the only reliable test: bytes the job wrote reach the master through a kernel work
  /// queue, which a read flushes and FIONREAD does not.
  bool read_output_now();

  enum class SignalResult { kSignalled, kAlreadyTerminated };
  /// Sends `sig` once to every process of the job (its group, and each process outside it) and,
  /// unless it is SIGKILL, KILL to everything left after `grace`. Never waits. A job whose main
  /// process has exited answers kSignalled if processes it left behind were signalled (its status
  /// stays), kAlreadyTerminated if nothing of it was left.
  SignalResult kill(int sig, std::chrono::milliseconds grace);

  /// Ends the job (TERM, then KILL after `grace`) if it is still running `limit` from now; its
  /// status is then timed_out. Processes the main process left behind are ended at that time
  /// too (its status then stays).
  void set_time_limit(std::chrono::milliseconds limit, std::chrono::milliseconds grace);

  /// Watches the resident memory of the job's processes every `interval`, as long as it holds
  /// any (also after its main process exited); beyond `limit_bytes` every process of the job is
  /// KILLed at once and its end reason is memory_limit (its status failed, if the main process
  /// was among them).
  void set_memory_limit(uint64_t limit_bytes, std::chrono::milliseconds interval);

  /// Resident memory of every process of the job now.
  uint64_t memory_in_use() const;

  bool has_cgroup() const { return cgroup_ != nullptr; }
  /// Whether the process with this pid is in the job's cgroup now (false without one).
  bool cgroup_contains(pid_t pid) const { return cgroup_ && cgroup_->contains(pid); }
  /// Removes the job's cgroup if it has one and it is empty; true when none is left.
  bool remove_cgroup_if_empty();
  /// Hands over the job's cgroup (for one that still has processes when the job is forgotten).
  std::unique_ptr<sys::JobCgroup> take_cgroup() {
    processes_.forget_cgroup();
    return std::move(cgroup_);
  }
  /// Queues `bytes` for the job's stdin and starts writing them; `close_after` closes stdin once
  /// they are written. On a terminal, `close_after` instead types the terminal's EOF character
  /// (^D) after them: closing the master would hang the terminal up. Fails without queueing
  /// anything if the job has exited, its stdin is closed, or the queue would exceed the limit.
  base::Result<void> write_stdin(std::string_view bytes, bool close_after);

  /// What wakes a wait_for_change: the job's state alone (it started, exited, an output pipe
  /// closed, the job was closed), or also every batch of output read from it.
  enum class Wake { kOnStateChange, kOnOutputToo };
  /// Returns true when the job's state changes (or, with kOnOutputToo, output arrives), false at
  /// `deadline`. Costs no thread and no CPU while waiting; a waiter for state changes alone costs
  /// nothing per chunk of output either.
  asio::awaitable<bool> wait_for_change(std::chrono::steady_clock::time_point deadline,
                                        Wake wake = Wake::kOnStateChange);

  /// Stops watching and closes every fd (for eviction and shutdown). The process, if any, is
  /// not signalled here.
  void close();

  /// Wakes every waiter (wait_for_change): output arrived, the job's state changed, or, from the
  /// owner, the processes it left behind are gone.
  void notify_change() { changed_.cancel(); }

 private:
  struct ReadOutcome {
    enum Next { kMore, kWait, kEnd } next = kMore;  // more to read, none yet, or the end
    bool appended = false;
  };
  /// Up to `max_reads` non-blocking reads of `pipe` into the log; wakes output watchers.
  ReadOutcome read_available(asio::posix::stream_descriptor& pipe, Stream stream, int max_reads);
  static asio::awaitable<void> pump_output(std::shared_ptr<Job> self,
                                           asio::posix::stream_descriptor& pipe, Stream stream);
  static asio::awaitable<void> watch_exit(std::shared_ptr<Job> self);
  static asio::awaitable<void> drain_stdin(std::shared_ptr<Job> self);
  void on_exit(const sys::ExitInfo& exit);
  // STOPs and KILLs every process of the job (JobProcesses::kill_all).
  void kill_everything();
  void watch_memory(uint64_t limit_bytes, std::chrono::milliseconds interval);

  asio::any_io_executor executor_;
  std::string id_;
  JobSpec spec_;
  OutputLog output_;
  uint64_t stdin_limit_;
  Events events_;

  pid_t pid_ = -1;
  bool from_history_ = false;
  bool persisted_ = false;
  std::shared_ptr<KeeperControl> keeper_;  // Set for a persisted job: see kept().
  bool kept_output_open_ = false;
  JobStatus status_ = JobStatus::kQueued;
  base::WallClock::time_point queued_at_ = base::WallClock::now();
  std::string start_error_;
  bool stop_requested_ = false;
  bool timed_out_ = false;
  EndReason end_reason_ = EndReason::kNone;
  std::unique_ptr<sys::JobCgroup> cgroup_;
  sys::ExitInfo exit_;
  base::WallClock::time_point started_;
  std::optional<base::WallClock::time_point> ended_;
  std::chrono::steady_clock::time_point ended_steady_;

  asio::posix::stream_descriptor pidfd_;
  // With a terminal: stdout_pipe_ is its master, stdin_pipe_ a second descriptor for that same
  // master, and stderr_pipe_ is never opened.
  asio::posix::stream_descriptor stdout_pipe_;
  asio::posix::stream_descriptor stderr_pipe_;
  asio::posix::stream_descriptor stdin_pipe_;
  ino_t stdin_inode_ = 0;  // identifies the job's stdin in /proc/<pid>/fd/0
  mutable std::optional<sys::ProcessTreeStats> last_stats_;  // see tree_stats()
  mutable std::chrono::steady_clock::time_point last_stats_at_;
  uint64_t shown_to_ = 0;  // See shown_to().
  std::string pending_input_;
  bool stdin_writer_active_ = false;
  bool stdin_close_requested_ = false;

  asio::steady_timer escalation_;    // KILL after the grace of a kill().
  asio::steady_timer time_limit_;    // The job's own timeout_seconds.
  asio::steady_timer memory_watch_;  // Next look at the job's memory, with a memory limit.
  asio::steady_timer changed_;       // Never expires; cancelled to wake every waiter.
  mutable JobProcesses processes_;   // refreshed by readers too: see refresh_processes()
  // The output pipes (or the terminal), for owns_stream.
  ino_t stdout_inode_ = 0;
  ino_t stderr_inode_ = 0;
  // Never expires; cancelled after a batch of output when output_watchers_ > 0.
  asio::steady_timer output_arrived_;
  int output_watchers_ = 0;  // Waiters (Wake::kOnOutputToo) pending now.
};

}  // namespace jobs

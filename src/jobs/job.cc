#include "jobs/job.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>

#include "base/uuid.h"
#include "sys/process.h"
#include "sys/spawn.h"
#include "sys/watchdog.h"

namespace jobs {
namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// Every job's output passes through this one buffer: the loop is single-threaded and each read
// is appended to its log before the next await, so no job needs a buffer of its own.
std::array<char, size_t{256} * 1024> g_read_buffer;

// Reads per wake-up before yielding to other jobs, so one chatty job cannot starve the rest.
constexpr int kReadsPerWakeup = 4;

}  // namespace

std::string_view to_string(JobStatus status) {
  switch (status) {
    case JobStatus::kQueued:
      return "queued";
    case JobStatus::kRunning:
      return "running";
    case JobStatus::kCompleted:
      return "completed";
    case JobStatus::kFailed:
      return "failed";
    case JobStatus::kKilled:
      return "killed";
    case JobStatus::kTimedOut:
      return "timed_out";
    case JobStatus::kCancelled:
      return "cancelled";
    case JobStatus::kLost:
      return "lost";
  }
  return "unknown";
}

std::string_view to_string(EndReason reason) {
  switch (reason) {
    case EndReason::kNone:
      return "";
    case EndReason::kMemoryLimit:
      return "memory_limit";
    case EndReason::kServerGone:
      return "server_gone";
    case EndReason::kKeeperGone:
      return "keeper_gone";
  }
  return "";
}

Job::Job(PrivateTag, const asio::any_io_executor& executor, JobSpec spec, JobLimits limits,
         Events events)
    : executor_(executor),
      id_(base::new_uuid_v4()),
      spec_(std::move(spec)),
      output_(limits.max_output_size),
      stdin_limit_(limits.stdin_buffer_size),
      events_(std::move(events)),
      pidfd_(executor),
      stdout_pipe_(executor),
      stderr_pipe_(executor),
      stdin_pipe_(executor),
      escalation_(executor),
      time_limit_(executor),
      memory_watch_(executor),
      changed_(executor, std::chrono::steady_clock::time_point::max()),
      output_arrived_(executor, std::chrono::steady_clock::time_point::max()) {}

base::Result<std::shared_ptr<Job>> Job::start(const asio::any_io_executor& executor, JobSpec spec,
                                              JobLimits limits, Events events) {
  auto job = create_queued(executor, std::move(spec), limits, std::move(events));
  if (auto launched = job->launch(); !launched) return tl::unexpected(launched.error());
  return job;
}

std::shared_ptr<Job> Job::create_queued(const asio::any_io_executor& executor, JobSpec spec,
                                        JobLimits limits, Events events) {
  return std::make_shared<Job>(PrivateTag{}, executor, std::move(spec), limits, std::move(events));
}

std::shared_ptr<Job> Job::from_history(const asio::any_io_executor& executor, Recorded recorded) {
  auto job = std::make_shared<Job>(PrivateTag{}, executor, std::move(recorded.spec), JobLimits{},
                                   Events{});
  job->from_history_ = true;
  job->id_ = std::move(recorded.id);
  job->status_ = recorded.status;
  job->exit_.exit_code = recorded.exit_code;
  job->exit_.term_signal = recorded.term_signal;
  job->end_reason_ = recorded.end_reason;
  job->start_error_ = std::move(recorded.start_error);
  job->pid_ = recorded.pid;
  job->queued_at_ = recorded.queued_at;
  job->started_ = recorded.started;
  job->ended_ = recorded.ended;
  job->output_ = std::move(recorded.output);
  job->persisted_ = recorded.persisted;
  return job;
}

std::shared_ptr<Job> Job::kept(const asio::any_io_executor& executor, Kept kept,
                               std::shared_ptr<KeeperControl> control, Events events) {
  auto job =
      std::make_shared<Job>(PrivateTag{}, executor, std::move(kept.spec),
                            JobLimits{.max_output_size = kept.max_output_bytes}, std::move(events));
  job->id_ = std::move(kept.id);
  job->keeper_ = std::move(control);
  job->pid_ = kept.pid;
  job->status_ = JobStatus::kRunning;
  job->queued_at_ = kept.queued_at;
  job->started_ = kept.started;
  job->stdin_inode_ = kept.stdin_inode;
  job->kept_output_open_ = true;
  // Its processes are read from /proc like our own jobs' (status, memory, waiting for input);
  // they are never signalled from here.
  job->processes_.started(job->pid_, nullptr);
  return job;
}

void Job::kept_output(Stream stream, uint64_t offset, std::string_view bytes) {
  if (offset > output_.total_bytes()) output_.skip_to(offset);
  uint64_t known = output_.total_bytes() - offset;
  if (known >= bytes.size()) return;
  output_.append(stream, bytes.substr(known));
  if (output_watchers_ > 0) output_arrived_.cancel();
}

void Job::kept_ended(const KeptEnd& end) {
  if (!running()) return;
  status_ = end.status;
  exit_.exit_code = end.exit_code;
  exit_.term_signal = end.term_signal;
  end_reason_ = end.reason;
  ended_ = end.ended;
  ended_steady_ = std::chrono::steady_clock::now();
  processes_.main_reaped();
  notify_change();
  if (events_.exited) events_.exited(*this);
}

void Job::kept_output_closed() {
  if (!kept_output_open_) return;
  kept_output_open_ = false;
  notify_change();
  if (events_.output_closed) events_.output_closed(*this);
}

void Job::cancel() {
  if (!queued()) return;
  status_ = JobStatus::kCancelled;
  ended_ = base::WallClock::now();
  ended_steady_ = std::chrono::steady_clock::now();
  notify_change();
}

void Job::fail_to_start(std::string why) {
  if (!queued()) return;
  start_error_ = std::move(why);
  status_ = JobStatus::kFailed;
  ended_ = base::WallClock::now();
  ended_steady_ = std::chrono::steady_clock::now();
  notify_change();
}

base::Result<void> Job::launch(std::optional<sys::SpawnConfinement> confinement,
                               std::unique_ptr<sys::JobCgroup> cgroup) {
  if (!queued()) return base::fail("the job has already been started");
  // Every process of the job inherits its id (unless it clears its environment): how an orphan
  // of the job is told from another job's, and how the watchdog finds the job's processes should
  // the server die. Ours wins over any the job's env or the server's own environment carries.
  std::string mark = fmt::format("{}={}", sys::kJobIdVariable, id_);
  std::erase_if(spec_.env, [](const std::string& entry) {
    return entry.starts_with(sys::kJobIdVariable) && entry.size() > sys::kJobIdVariable.size() &&
           entry[sys::kJobIdVariable.size()] == '=';
  });
  spec_.env.push_back(std::move(mark));
  sys::SpawnRequest request{.argv = spec_.argv,
                            .cwd = spec_.cwd,
                            .env = spec_.env,
                            .terminal = spec_.terminal,
                            .confinement = confinement,
                            .program = spec_.program,
                            .cwd_fd = spec_.cwd_fd.get(),
                            .program_fd = spec_.program_fd.get(),
                            .streams = spec_.streams};
  auto process = sys::spawn_process(request);
  // Started (or failed for good): what the policy checked is no longer needed open.
  spec_.cwd_fd.reset();
  spec_.program_fd.reset();
  if (!process) return tl::unexpected(process.error());
  // Only the job's first process joins; the rest are its descendants, counted by the kernel.
  if (cgroup) cgroup->close_join_fd();
  // What the job's processes see as fd 0, to tell when one of them is blocked reading it.
  ino_t stdin_inode = 0;
  struct stat stdin_stat {};
  if (process->terminal_fd) {
    stdin_inode = sys::terminal_slave_inode(process->terminal_fd.get());
    stdout_inode_ = stdin_inode;
  } else {
    if (::fstat(process->stdin_fd.get(), &stdin_stat) == 0) stdin_inode = stdin_stat.st_ino;
    // A pipe's two ends are one inode: what the job writes to is what the server reads.
    struct stat out_stat {};
    if (::fstat(process->stdout_fd.get(), &out_stat) == 0) stdout_inode_ = out_stat.st_ino;
    if (::fstat(process->stderr_fd.get(), &out_stat) == 0) stderr_inode_ = out_stat.st_ino;
  }
  if (process->terminal_fd) {
    // One master serves both directions. The input side gets a descriptor of its own so that the
    // stdin code stays as it is for pipes: asio (epoll) can register a descriptor only once, and
    // this one can be waited on for writing, and closed when the job exits, independently of the
    // output side, without closing the terminal.
    auto input = sys::duplicate_fd(process->terminal_fd.get());
    if (!input) {
      // Without both directions the job cannot be driven; do not leave it running unwatched.
      // Not waited for here: its SIGCHLD has the manager reap it as an orphan (its pid was never
      // registered as a job's), so the server never blocks on it.
      (void)sys::signal_group(process->pid, SIGKILL);
      if (cgroup) cgroup->signal_all(SIGKILL);
      return tl::unexpected(input.error());
    }
    process->stdout_fd = std::move(process->terminal_fd);
    process->stdin_fd = std::move(*input);
  }

  pid_ = process->pid;
  status_ = JobStatus::kRunning;
  started_ = base::WallClock::now();
  pidfd_.assign(process->pidfd.release());
  stdout_pipe_.assign(process->stdout_fd.release());
  if (process->stderr_fd) stderr_pipe_.assign(process->stderr_fd.release());
  stdin_inode_ = stdin_inode;
  stdin_pipe_.assign(process->stdin_fd.release());
  cgroup_ = std::move(cgroup);
  processes_.started(pid_, cgroup_.get());

  auto self = shared_from_this();
  asio::co_spawn(executor_, watch_exit(self), asio::detached);
  asio::co_spawn(executor_, pump_output(self, stdout_pipe_, Stream::kStdout), asio::detached);
  if (stderr_pipe_.is_open()) {
    asio::co_spawn(executor_, pump_output(self, stderr_pipe_, Stream::kStderr), asio::detached);
  }
  notify_change();
  return {};
}

// asio's async_wait never tries the operation first and epoll runs edge-triggered, so an edge
// that fires before a wait is queued is lost (a fast job's EOF or exit). Hence the rule in these
// loops: wait only right after seeing "not ready yet" in the same handler, with no other handler
// (and so no epoll_wait) running in between.

Job::ReadOutcome Job::read_available(asio::posix::stream_descriptor& pipe, Stream stream,
                                     int max_reads) {
  ReadOutcome outcome;
  for (int i = 0; i < max_reads && pipe.is_open(); ++i) {
    ssize_t n = ::read(pipe.native_handle(), g_read_buffer.data(), g_read_buffer.size());
    if (n > 0) {
      output_.append(stream, std::string_view(g_read_buffer.data(), static_cast<size_t>(n)));
      outcome.appended = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // EOF: every process holding the write end has closed it; or a read error, which ends
    // the stream just the same. A terminal's master reports EOF as EIO, once the last
    // descriptor of its slave is closed; what the job wrote before that is read first.
    outcome.next = (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ? ReadOutcome::kWait
                                                                        : ReadOutcome::kEnd;
    break;
  }
  // Only the waiters that look at output are woken by it (a wait for the exit alone costs
  // nothing per chunk), and only if there are any: then this is one integer test per batch.
  if (outcome.appended && output_watchers_ > 0) output_arrived_.cancel();
  return outcome;
}

bool Job::read_output_now() {
  if (keeper_) return !running() || keeper_->flush_output();
  bool all_read = true;
  for (auto [pipe, stream] :
       {std::pair{&stdout_pipe_, Stream::kStdout}, std::pair{&stderr_pipe_, Stream::kStderr}}) {
    // An end of output is left to the pump, which sees it again (EOF and EIO stay).
    if (pipe->is_open() &&
        read_available(*pipe, stream, kReadsPerWakeup).next == ReadOutcome::kMore) {
      all_read = false;
    }
  }
  return all_read;
}

asio::awaitable<void> Job::pump_output(std::shared_ptr<Job> self,
                                       asio::posix::stream_descriptor& pipe, Stream stream) {
  for (;;) {
    auto next = self->read_available(pipe, stream, kReadsPerWakeup).next;
    if (!pipe.is_open()) co_return;  // closed by close(): the job is being discarded
    if (next == ReadOutcome::kEnd) {
      boost::system::error_code ignored;
      pipe.close(ignored);
      self->notify_change();
      if (!self->output_open() && self->events_.output_closed) self->events_.output_closed(*self);
      co_return;
    }
    if (next == ReadOutcome::kMore) {
      // More is waiting: let other jobs and requests run, then read again without waiting.
      co_await asio::post(self->executor_, asio::use_awaitable);
      continue;
    }
    auto [ec] = co_await pipe.async_wait(asio::posix::descriptor_base::wait_read, kAsTuple);
    if (ec) co_return;  // cancelled by close()
  }
}

asio::awaitable<void> Job::watch_exit(std::shared_ptr<Job> self) {
  // co_spawn runs a coroutine inline up to its first suspension, and a quick job may already
  // have exited: report the exit from a handler of its own, never from inside launch(), whose
  // caller has not yet registered the job (it would hear of the end before the start).
  co_await asio::post(self->executor_, asio::use_awaitable);
  for (;;) {
    if (!self->pidfd_.is_open()) co_return;
    auto reaped = sys::reap_exited(self->pidfd_.native_handle());
    if (!reaped) {
      // Someone else reaped it (which the server never does): record what we know and stop.
      spdlog::error("job {}: {}", self->id_, reaped.error().message);
      self->on_exit(sys::ExitInfo{});
      co_return;
    }
    if (*reaped) {
      self->on_exit(**reaped);
      co_return;
    }
    auto [ec] = co_await self->pidfd_.async_wait(asio::posix::descriptor_base::wait_read, kAsTuple);
    if (ec) co_return;  // cancelled by close()
  }
}

void Job::on_exit(const sys::ExitInfo& exit) {
  exit_ = exit;
  ended_ = base::WallClock::now();
  ended_steady_ = std::chrono::steady_clock::now();
  // The time limit and the memory watch stay: they go on for processes the job left behind,
  // and end by themselves once none is left.
  processes_.main_reaped();
  // The first cause wins: a job killed for its memory failed, whatever was asked of it later.
  bool over_memory = end_reason_ == EndReason::kMemoryLimit;
  if (timed_out_ && !over_memory) {
    status_ = JobStatus::kTimedOut;
  } else if (stop_requested_ && !over_memory) {
    status_ = JobStatus::kKilled;
  } else if (exit.exit_code == 0 && !over_memory) {
    status_ = JobStatus::kCompleted;
  } else {
    status_ = JobStatus::kFailed;
  }
  boost::system::error_code ignored;
  pidfd_.close(ignored);
  // Input is for the job's main process; once it is gone, queued input has nowhere to go.
  pending_input_.clear();
  stdin_pipe_.close(ignored);
  notify_change();
  if (events_.exited) events_.exited(*this);
}

Job::SignalResult Job::kill(int sig, std::chrono::milliseconds grace) {
  // No process, no group: never signal pid -1 or 0 (which would reach everything we may signal).
  // A job from the history has only the pid an earlier server saw, long since free for reuse.
  if (!has_started() || from_history_) return SignalResult::kAlreadyTerminated;
  if (keeper_) {
    // The keeper holds the job's processes: it signals them, escalates after the grace, and
    // reports the end.
    if (!running() && !output_open()) return SignalResult::kAlreadyTerminated;
    if (running()) stop_requested_ = true;
    keeper_->signal(sig, grace);
    return SignalResult::kSignalled;
  }
  refresh_processes();
  if (!running()) {
    // The main process is gone, but what it left behind is still the job's: each process found
    // is signalled by pidfd. Should no walk find the process holding its output open, that open
    // output still proves the group is the job's own.
    if (processes_.left() == 0) {
      if (output_open()) (void)sys::signal_group(pid_, sig);
      if (cgroup_) cgroup_->signal_all(sig);
      return SignalResult::kAlreadyTerminated;
    }
  } else {
    stop_requested_ = true;
  }
  escalation_.cancel();
  if (sig == SIGKILL) {
    kill_everything();
  } else {
    processes_.signal(sig);
    escalation_.expires_after(grace);
    escalation_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;  // re-armed by a later kill, or the job was discarded
      // While the main process is unreaped its pid is still our group's id; afterwards only open
      // output pipes prove that something of the group is left, beyond what a walk finds.
      if (!self->running() && self->output_open()) (void)sys::signal_group(self->pid_, SIGKILL);
      self->kill_everything();
    });
  }
  return SignalResult::kSignalled;
}

void Job::refresh_processes(std::chrono::milliseconds orphans_max_age) const {
  if (!has_started()) return;
  if (events_.collect_orphans) events_.collect_orphans(orphans_max_age);
  last_stats_ = processes_.refresh(stdin_inode_);
  if (!stdin_pipe_.is_open()) last_stats_->waiting_for_input = false;
  last_stats_at_ = std::chrono::steady_clock::now();
}

void Job::kill_everything() {
  int killed = processes_.kill_all([this] {
    if (events_.collect_orphans) events_.collect_orphans({});
  });
  if (killed > 0) spdlog::debug("job {}: KILLed {} process(es)", id_, killed);
  last_stats_.reset();
}

bool Job::owns_stream(ino_t inode) const {
  return inode != 0 && (inode == stdin_inode_ || inode == stdout_inode_ || inode == stderr_inode_);
}

uint64_t Job::memory_in_use() const {
  refresh_processes(kStatsReuse);
  return last_stats_ ? last_stats_->rss_bytes : 0;
}

void Job::set_memory_limit(uint64_t limit_bytes, std::chrono::milliseconds interval) {
  watch_memory(limit_bytes, interval);
}

void Job::watch_memory(uint64_t limit_bytes, std::chrono::milliseconds interval) {
  memory_watch_.expires_after(interval);
  memory_watch_.async_wait(
      [self = shared_from_this(), limit_bytes, interval](boost::system::error_code ec) {
        if (ec || !self->holds_processes()) return;
        uint64_t in_use = self->memory_in_use();
        if (in_use <= limit_bytes) {
          self->watch_memory(limit_bytes, interval);
          return;
        }
        // At once and with KILL: memory is what the machine runs out of while a job cleans up.
        spdlog::warn("job {}: {} bytes resident, over its memory limit of {}; killing it",
                     self->id_, in_use, limit_bytes);
        if (!self->stop_requested_ && !self->timed_out_)
          self->end_reason_ = EndReason::kMemoryLimit;
        self->escalation_.cancel();
        self->kill_everything();
      });
}

bool Job::remove_cgroup_if_empty() {
  if (!cgroup_) return true;
  if (!cgroup_->remove()) return false;
  processes_.forget_cgroup();
  cgroup_.reset();
  return true;
}

std::optional<sys::ProcessTreeStats> Job::tree_stats(std::chrono::milliseconds max_age) const {
  if (!holds_processes()) return std::nullopt;
  auto now = std::chrono::steady_clock::now();
  if (last_stats_ && now - last_stats_at_ < max_age) return last_stats_;
  refresh_processes(max_age);
  // Nothing is left of a job whose main process has exited: no figures, as before it started.
  if (!holds_processes()) return std::nullopt;
  return last_stats_;
}

void Job::set_time_limit(std::chrono::milliseconds limit, std::chrono::milliseconds grace) {
  time_limit_.expires_after(limit);
  time_limit_.async_wait([self = shared_from_this(), grace](boost::system::error_code ec) {
    if (ec || !self->holds_processes()) return;
    spdlog::info("job {}: time limit reached; stopping it", self->id_);
    // The status is final once the main process has exited: only what it left is stopped.
    if (self->running()) self->timed_out_ = true;
    self->kill(SIGTERM, grace);
  });
}

base::Result<void> Job::write_stdin(std::string_view bytes, bool close_after) {
  if (queued()) {
    return base::fail(
        "the job is still queued (waiting for a free slot under max_jobs); its "
        "stdin opens when it starts: wait for status running, then send input");
  }
  if (!running()) return base::fail("the job has exited");
  if (!stdin_open()) return base::fail("the job's stdin is closed");
  if (keeper_) {
    // On a terminal, end of input is a character the keeper types; the terminal stays open.
    if (close_after && !has_terminal()) stdin_close_requested_ = true;
    last_stats_.reset();
    return keeper_->write_input(bytes, close_after);
  }
  if (pending_input_.size() + bytes.size() > stdin_limit_) {
    return base::fail(
        fmt::format("the job is not reading its stdin fast enough: {} bytes are still queued, and "
                    "{} more would exceed the {}-byte stdin buffer",
                    pending_input_.size(), bytes.size(), stdin_limit_));
  }
  pending_input_.append(bytes);
  last_stats_.reset();  // whether it waits for input is about to change
  if (close_after && has_terminal()) {
    // End of input on a terminal is a character the line discipline turns into a zero-length
    // read (at the start of a line); the terminal itself stays open.
    pending_input_.push_back(sys::terminal_eof_char(stdin_pipe_.native_handle()));
  } else if (close_after) {
    stdin_close_requested_ = true;
  }
  if (!stdin_writer_active_) {
    stdin_writer_active_ = true;
    asio::co_spawn(executor_, drain_stdin(shared_from_this()), asio::detached);
  }
  return {};
}

asio::awaitable<void> Job::drain_stdin(std::shared_ptr<Job> self) {
  auto& pipe = self->stdin_pipe_;
  while (!self->pending_input_.empty() && pipe.is_open()) {
    ssize_t n =
        ::write(pipe.native_handle(), self->pending_input_.data(), self->pending_input_.size());
    if (n > 0) {
      self->pending_input_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto [ec] = co_await pipe.async_wait(asio::posix::descriptor_base::wait_write, kAsTuple);
      if (ec) break;
      continue;
    }
    // EPIPE: the job closed its stdin. What it did not read is dropped, as a terminal would.
    spdlog::debug("job {}: stdin write failed ({}); closing it", self->id_, errno);
    self->pending_input_.clear();
    self->stdin_close_requested_ = true;
  }
  if (self->stdin_close_requested_ && self->pending_input_.empty()) {
    boost::system::error_code ignored;
    pipe.close(ignored);
  }
  self->stdin_writer_active_ = false;
}

asio::awaitable<bool> Job::wait_for_change(std::chrono::steady_clock::time_point deadline,
                                           Wake wake) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(executor_, deadline);
  bool woken = false;
  if (wake == Wake::kOnOutputToo) {
    // Counted while waiting, so that the pump wakes anyone only when someone looks at output.
    ++output_watchers_;
    struct Uncount {
      int& count;
      ~Uncount() { --count; }
    } uncount{output_watchers_};
    auto outcome = co_await (changed_.async_wait(kAsTuple) ||
                             output_arrived_.async_wait(kAsTuple) || timer.async_wait(kAsTuple));
    woken = outcome.index() != 2;
  } else {
    auto outcome = co_await (changed_.async_wait(kAsTuple) || timer.async_wait(kAsTuple));
    woken = outcome.index() == 0;
  }
  // A cancelled request (notifications/cancelled) ends here too: let the caller unwind.
  auto state = co_await asio::this_coro::cancellation_state;
  if (state.cancelled() != asio::cancellation_type::none) {
    throw boost::system::system_error(asio::error::operation_aborted);
  }
  co_return woken;
}

void Job::close() {
  // Nothing is watched any more, and the owner may go before this job does.
  events_ = Events{};
  if (keeper_) keeper_->close();
  boost::system::error_code ignored;
  escalation_.cancel();
  time_limit_.cancel();
  memory_watch_.cancel();
  pidfd_.close(ignored);
  stdout_pipe_.close(ignored);
  stderr_pipe_.close(ignored);
  stdin_pipe_.close(ignored);
  pending_input_.clear();
  notify_change();
}

}  // namespace jobs

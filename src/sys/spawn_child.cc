// Starting a child with clone and exec: the child confines itself (cgroup, limits, seccomp,
// Landlock) between the two, reporting a failed step to the parent through a pipe.
#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstring>

#include "sys/landlock.h"
#include "sys/metadata_filter.h"
#include "sys/process.h"
#include "sys/spawn_start.h"

namespace sys::spawn_detail {
namespace {

// The steps of a confined child between clone and exec, in order. A failed step is reported to
// the parent as {step, errno} through a close-on-exec pipe; a successful exec closes the pipe.
enum class ChildStep : int {
  kNewSession,
  kNewGroup,
  kOpenTerminal,
  kControllingTerminal,
  kRedirect,
  kChdir,
  kJoinCgroup,
  kLimitCpu,
  kLimitAddressSpace,
  kLimitOpenFiles,
  kLimitFileSize,
  kLimitProcesses,
  kNoNewPrivileges,
  kSeccomp,
  kLandlock,
  kExec,
};

struct ChildReport {
  ChildStep step;
  int error;
};

std::string_view describe_step(ChildStep step) {
  switch (step) {
    case ChildStep::kNewSession:
      return "setsid";
    case ChildStep::kNewGroup:
      return "setpgid";
    case ChildStep::kOpenTerminal:
      return "opening its terminal";
    case ChildStep::kControllingTerminal:
      return "ioctl(TIOCSCTTY) on its terminal";
    case ChildStep::kRedirect:
      return "dup2 of its stdin, stdout and stderr";
    case ChildStep::kChdir:
      return "chdir";
    case ChildStep::kJoinCgroup:
      return "joining its pids cgroup";
    case ChildStep::kLimitCpu:
      return "setrlimit(RLIMIT_CPU)";
    case ChildStep::kLimitAddressSpace:
      return "setrlimit(RLIMIT_AS)";
    case ChildStep::kLimitOpenFiles:
      return "setrlimit(RLIMIT_NOFILE)";
    case ChildStep::kLimitFileSize:
      return "setrlimit(RLIMIT_FSIZE)";
    case ChildStep::kLimitProcesses:
      return "setrlimit(RLIMIT_NPROC)";
    case ChildStep::kNoNewPrivileges:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case ChildStep::kSeccomp:
      return "installing its seccomp filter";
    case ChildStep::kLandlock:
      return "landlock_restrict_self";
    case ChildStep::kExec:
      return "execve";
  }
  return "an unknown step";
}

// The child's stack: it calls a few system calls and nothing deeper.
constexpr size_t kChildStackSize = size_t{64} * 1024;

struct ChildLimit {
  int resource;
  ChildStep step;
  rlimit value;
};

[[noreturn]] void fail_in_child(int report_fd, ChildStep step, int error) {
  ChildReport report{step, error};
  ssize_t ignored = ::write(report_fd, &report, sizeof report);
  (void)ignored;
  ::_exit(127);
}

// fd becomes `target` without close-on-exec. dup2 to itself would leave the flag set.
bool move_fd(int fd, int target) {
  if (fd == target) return ::fcntl(fd, F_SETFD, 0) == 0;
  return ::dup2(fd, target) == target;
}

// What the child needs, prepared by the parent: after clone it may not allocate.
struct ChildPlan {
  const SpawnRequest* request;
  const SpawnConfinement* confinement;  // The request's, or none at all.
  const ChildStdio* stdio;
  const ExecArgs* exec;
  const ChildLimit* limits;
  size_t limit_count;
  int report_fd;
};

// Runs in the child, on its own stack in the server's memory (CLONE_VM | CLONE_VFORK): system
// calls only (async-signal-safe), nothing allocated, no memory of the server's written, and it
// never returns.
[[noreturn]] void run_child(const ChildPlan& plan) {
  const SpawnRequest& request = *plan.request;
  const ChildStdio& stdio = *plan.stdio;
  const ExecArgs& exec = *plan.exec;
  const ChildLimit* limits = plan.limits;
  size_t limit_count = plan.limit_count;
  int report_fd = plan.report_fd;
  const SpawnConfinement& confinement = *plan.confinement;
  if (stdio.terminal) {
    // A session leader (new session, new group whose id is the pid) takes the terminal as its
    // controlling terminal; see start_with_posix_spawn.
    if (::setsid() < 0) fail_in_child(report_fd, ChildStep::kNewSession, errno);
    int slave = ::open(stdio.terminal->slave_path.c_str(), O_RDWR | O_CLOEXEC);
    if (slave < 0) fail_in_child(report_fd, ChildStep::kOpenTerminal, errno);
    if (::ioctl(slave, TIOCSCTTY, 0) != 0) {
      fail_in_child(report_fd, ChildStep::kControllingTerminal, errno);
    }
    if (!move_fd(slave, 0) || !move_fd(0, 1) || !move_fd(0, 2)) {
      fail_in_child(report_fd, ChildStep::kRedirect, errno);
    }
  } else {
    if (::setpgid(0, 0) != 0) fail_in_child(report_fd, ChildStep::kNewGroup, errno);
    if (!move_fd(stdio.in.read_end.get(), 0) || !move_fd(stdio.out.write_end.get(), 1) ||
        !move_fd(stdio.stderr_write_end(), 2)) {
      fail_in_child(report_fd, ChildStep::kRedirect, errno);
    }
  }
  if ((request.cwd_fd >= 0 ? ::fchdir(request.cwd_fd) : ::chdir(request.cwd.c_str())) != 0) {
    fail_in_child(report_fd, ChildStep::kChdir, errno);
  }
  // Before anything else runs: from here on, every process the job makes is counted.
  if (confinement.cgroup_procs_fd >= 0 && ::write(confinement.cgroup_procs_fd, "0", 1) != 1) {
    fail_in_child(report_fd, ChildStep::kJoinCgroup, errno);
  }
  for (size_t i = 0; i < limit_count; ++i) {
    if (::setrlimit(static_cast<__rlimit_resource_t>(limits[i].resource), &limits[i].value) != 0) {
      fail_in_child(report_fd, limits[i].step, errno);
    }
  }
  if (confinement.landlock_ruleset_fd >= 0 || confinement.seccomp_filter != nullptr) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      fail_in_child(report_fd, ChildStep::kNoNewPrivileges, errno);
    }
  }
  if (confinement.seccomp_filter != nullptr) {
    if (int error = install_seccomp_filter_raw(*confinement.seccomp_filter); error != 0) {
      fail_in_child(report_fd, ChildStep::kSeccomp, error);
    }
  }
  if (confinement.landlock_ruleset_fd >= 0) {
    if (int error = landlock_restrict_self_raw(confinement.landlock_ruleset_fd); error != 0) {
      fail_in_child(report_fd, ChildStep::kLandlock, error);
    }
  }
  // As posix_spawn does with SETSIGDEF and SETSIGMASK: every signal at its default (the server
  // ignores SIGPIPE, and its handlers mean nothing here), then nothing blocked.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &default_action, nullptr);
  }
  sigset_t no_signals;
  sigemptyset(&no_signals);
  ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
  if (request.program_fd >= 0) {
    ::execveat(request.program_fd, "", exec.argv, exec.envp, AT_EMPTY_PATH);
  } else {
    ::execve(exec.program, exec.argv, exec.envp);
  }
  fail_in_child(report_fd, ChildStep::kExec, errno);
}

}  // namespace

base::Result<pid_t> clone_and_exec(const SpawnRequest& request, ChildStdio& stdio,
                                   const ExecArgs& exec) {
  // Everything the child needs is prepared here: after clone it may not allocate.
  static const SpawnConfinement kNone;
  const SpawnConfinement& confinement = request.confinement ? *request.confinement : kNone;
  const ProcessLimits& wanted = confinement.limits;
  std::array<ChildLimit, 5> limits{};
  size_t limit_count = 0;
  auto add_limit = [&](int resource, ChildStep step, uint64_t value, uint64_t hard_extra) {
    if (value == 0) return;
    limits[limit_count++] = {
        resource, step,
        rlimit{static_cast<rlim_t>(value), static_cast<rlim_t>(value + hard_extra)}};
  };
  add_limit(RLIMIT_CPU, ChildStep::kLimitCpu, wanted.cpu_seconds, 1);
  add_limit(RLIMIT_AS, ChildStep::kLimitAddressSpace, wanted.address_space_bytes, 0);
  add_limit(RLIMIT_NOFILE, ChildStep::kLimitOpenFiles, wanted.open_files, 0);
  add_limit(RLIMIT_FSIZE, ChildStep::kLimitFileSize, wanted.file_size_bytes, 0);
  add_limit(RLIMIT_NPROC, ChildStep::kLimitProcesses, wanted.processes, 0);

  auto report = make_pipe();
  if (!report) return tl::unexpected(report.error());

  ChildPlan plan{.request = &request,
                 .confinement = &confinement,
                 .stdio = &stdio,
                 .exec = &exec,
                 .limits = limits.data(),
                 .limit_count = limit_count,
                 .report_fd = report->write_end.get()};
  // The child shares the server's memory until it execs, as glibc's posix_spawn does: a fork
  // would copy the page tables of everything the server holds (job output included), which
  // costs milliseconds per job once the server is large. It runs on a stack of its own, and the
  // server is suspended until it has exec'd or exited (CLONE_VFORK). Its signal handlers are
  // its own copy (no CLONE_SIGHAND), so resetting them does not touch the server's.
  // No signal may run a server handler in the child before its dispositions are reset (asio's
  // handler would write to the server's own signal pipe): everything is blocked across clone,
  // and the child unblocks only right before exec.
  sigset_t all_signals, previous;
  sigfillset(&all_signals);
  ::pthread_sigmask(SIG_SETMASK, &all_signals, &previous);
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer cannot follow code that runs on a stack it did not make, in memory it
  // shares (it reports stack overflows that are not there): sanitized builds run the very same
  // child code after a fork instead.
  pid_t pid = ::fork();
  if (pid == 0) run_child(plan);
  int clone_error = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) return base::fail_errno("fork", clone_error);
#else
  void* stack = ::mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    int mmap_error = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return base::fail_errno("mmap (the child's stack)", mmap_error);
  }
  pid_t pid =
      ::clone([](void* arg) -> int { run_child(*static_cast<const ChildPlan*>(arg)); },
              static_cast<char*>(stack) + kChildStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
  int clone_error = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::munmap(stack, kChildStackSize);
  if (pid < 0) return base::fail_errno("clone", clone_error);
#endif

  // The child held the only other write end, and has exec'd or exited by now: EOF means exec
  // succeeded (the pipe was close-on-exec), a report means a step failed and the child exited.
  report->write_end.reset();
  ChildReport failure{};
  size_t got = 0;
  while (got < sizeof failure) {
    ssize_t n = ::read(report->read_end.get(), reinterpret_cast<char*>(&failure) + got,
                       sizeof failure - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got == 0) return pid;
  // It exits at once: collect it now so that no zombie is left.
  reap_ending_child(pid);
  if (got != sizeof failure) {
    return base::fail("the job's process failed before exec without saying why");
  }
  if (failure.step == ChildStep::kExec || failure.step == ChildStep::kChdir) {
    return tl::unexpected(describe_start_failure(exec.program, request, failure.error));
  }
  return base::fail(fmt::format("the job's process could not be set up: {} failed: {}",
                                describe_step(failure.step), std::strerror(failure.error)),
                    failure.error);
}

}  // namespace sys::spawn_detail

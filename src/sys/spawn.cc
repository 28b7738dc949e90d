#include "sys/spawn.h"

#include <fcntl.h>
#include <spawn.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "sys/landlock.h"
#include "sys/metadata_filter.h"

namespace sys {
namespace {

struct Pipe {
  base::UniqueFd read_end;
  base::UniqueFd write_end;
};

base::Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return base::fail_errno("pipe2");
  return Pipe{base::UniqueFd(fds[0]), base::UniqueFd(fds[1])};
}

// The posix_spawn* functions return an error number instead of setting errno.
base::Result<void> check_spawn_call(int rc, std::string_view what) {
  if (rc != 0) return base::fail_errno(what, rc);
  return {};
}

// Owns the attribute and file-action objects so every exit path destroys them.
class SpawnSetup {
 public:
  SpawnSetup() {
    ::posix_spawnattr_init(&attr_);
    ::posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

std::string describe_exec_failure(const std::string& program, int error) {
  switch (error) {
    case ENOENT:
      return fmt::format("program '{}' does not exist", program);
    case EACCES:
      return fmt::format("permission denied: '{}' is not executable (or a directory on its path "
                         "is not searchable)",
                         program);
    case ENOEXEC:
      return fmt::format("'{}' is not in an executable format", program);
    case ENOTDIR:
      return fmt::format("a component of the path '{}' is not a directory", program);
    default:
      return fmt::format("cannot execute '{}': {}", program, std::strerror(error));
  }
}

std::string_view find_path_value(const std::vector<std::string>& env) {
  for (const auto& entry : env) {
    if (entry.starts_with("PATH=")) return std::string_view(entry).substr(5);
  }
  const char* own = ::getenv("PATH");
  return own != nullptr ? own : "/usr/local/bin:/usr/bin:/bin";
}

// The job's ends and the server's ends of its standard streams: three pipes, or a terminal
// whose slave the child opens by path.
struct ChildStdio {
  Pipe in, out, err;  // `err` is empty when stdout and stderr share `out`.
  std::optional<PseudoTerminal> terminal;
  int stderr_write_end() const { return err.write_end ? err.write_end.get() : out.write_end.get(); }
};

base::Result<ChildStdio> make_stdio(const SpawnRequest& request) {
  ChildStdio stdio;
  if (request.terminal) {
    auto opened = open_pseudo_terminal(*request.terminal);
    if (!opened) return tl::unexpected(opened.error());
    stdio.terminal = std::move(*opened);
    return stdio;
  }
  auto made_in = make_pipe();
  if (!made_in) return tl::unexpected(made_in.error());
  auto made_out = make_pipe();
  if (!made_out) return tl::unexpected(made_out.error());
  stdio.in = std::move(*made_in);
  stdio.out = std::move(*made_out);
  if (request.streams == OutputStreams::kSeparate) {
    auto made_err = make_pipe();
    if (!made_err) return tl::unexpected(made_err.error());
    stdio.err = std::move(*made_err);
  }
  return stdio;
}

struct ExecArgs {
  const char* program;
  char** argv;
  char** envp;
};

// Why a process could not start, from the errno of its chdir or exec: a missing cwd is told
// apart from a missing program.
base::Error describe_start_failure(const std::string& program, const SpawnRequest& request,
                                   int error) {
  // A checked directory is entered by descriptor: its name is beside the point then.
  if ((error == ENOENT || error == ENOTDIR) && request.cwd_fd < 0) {
    struct stat st{};
    if (::stat(request.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return base::Error{
          fmt::format("cwd '{}' is not an existing directory", request.cwd.string()), error};
    }
  }
  if (error == ENOMEM && request.confinement &&
      request.confinement->limits.address_space_bytes != 0) {
    return base::Error{
        fmt::format("cannot execute '{}': its address-space limit ({} bytes) is too small for it "
                    "to start; raise the limit or leave it out",
                    program, request.confinement->limits.address_space_bytes),
        error};
  }
  return base::Error{describe_exec_failure(program, error), error};
}

base::Result<pid_t> start_with_posix_spawn(const SpawnRequest& request, ChildStdio& stdio,
                                           const ExecArgs& exec) {
  SpawnSetup setup;
  auto* actions = setup.actions();
  // Into the checked directory first, before the dup2s could reuse its descriptor's number.
  if (request.cwd_fd >= 0) {
    if (auto r = check_spawn_call(::posix_spawn_file_actions_addfchdir_np(actions, request.cwd_fd),
                                  "posix_spawn_file_actions_addfchdir_np");
        !r) {
      return tl::unexpected(r.error());
    }
  }
  if (stdio.terminal) {
    // The child is made a session leader first (POSIX_SPAWN_SETSID, applied before any file
    // action), and a session leader without a controlling terminal that opens a terminal without
    // O_NOCTTY acquires it (Linux). So the slave, opened by path as fd 0, becomes the job's
    // controlling terminal, and Ctrl-C typed into it reaches the job's process group.
    if (auto r = check_spawn_call(::posix_spawn_file_actions_addopen(
                                      actions, 0, stdio.terminal->slave_path.c_str(), O_RDWR, 0),
                                  "posix_spawn_file_actions_addopen");
        !r) {
      return tl::unexpected(r.error());
    }
    for (int target : {1, 2}) {
      if (auto r = check_spawn_call(::posix_spawn_file_actions_adddup2(actions, 0, target),
                                    "posix_spawn_file_actions_adddup2");
          !r) {
        return tl::unexpected(r.error());
      }
    }
  } else {
    // dup2 clears close-on-exec on the target, so only these three fds reach the program.
    for (auto [fd, target] :
         {std::pair{stdio.in.read_end.get(), 0}, std::pair{stdio.out.write_end.get(), 1},
          std::pair{stdio.stderr_write_end(), 2}}) {
      if (auto r = check_spawn_call(::posix_spawn_file_actions_adddup2(actions, fd, target),
                                    "posix_spawn_file_actions_adddup2");
          !r) {
        return tl::unexpected(r.error());
      }
    }
  }

  // Own process group, so a signal to -pid reaches everything the job starts. With a terminal,
  // own session instead (POSIX_SPAWN_SETSID): only a session leader can acquire a controlling
  // terminal, and setsid also makes a new process group whose id is the pid, so -pid works the
  // same. Not both: a session leader cannot setpgid, and posix_spawn would fail with EPERM.
  // Every signal back to its default (the server ignores SIGPIPE; `yes | head` needs it) and
  // nothing blocked.
  sigset_t all_signals, no_signals;
  sigfillset(&all_signals);
  sigemptyset(&no_signals);
  auto flags = static_cast<short>((stdio.terminal ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP) |
                                  POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  if (auto r = check_spawn_call(::posix_spawnattr_setflags(setup.attr(), flags),
                                "posix_spawnattr_setflags");
      !r) {
    return tl::unexpected(r.error());
  }
  ::posix_spawnattr_setpgroup(setup.attr(), 0);
  ::posix_spawnattr_setsigdefault(setup.attr(), &all_signals);
  ::posix_spawnattr_setsigmask(setup.attr(), &no_signals);

  if (request.cwd_fd < 0) {
    if (auto r =
            check_spawn_call(::posix_spawn_file_actions_addchdir_np(actions, request.cwd.c_str()),
                             "posix_spawn_file_actions_addchdir_np");
        !r) {
      return tl::unexpected(r.error());
    }
  }

  // glibc's posix_spawn reports a failed chdir or exec as its return value, so a job that cannot
  // start is an error here and never a zombie to collect later.
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, exec.program, actions, setup.attr(), exec.argv, exec.envp);
  if (rc != 0) return tl::unexpected(describe_start_failure(exec.program, request, rc));
  return pid;
}

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
  pid_t pid = ::clone(
      [](void* arg) -> int { run_child(*static_cast<const ChildPlan*>(arg)); },
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
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
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

}  // namespace

base::Result<std::string> resolve_program(const std::string& name, std::string_view path_value,
                                          const std::filesystem::path& relative_to) {
  if (name.empty()) return base::fail("the program name is empty");
  auto from_base = [&](std::string path) {
    if (relative_to.empty() || path.starts_with('/')) return path;
    return (relative_to / path).string();
  };
  if (name.find('/') != std::string::npos) return from_base(name);
  size_t start = 0;
  while (start <= path_value.size()) {
    size_t end = path_value.find(':', start);
    if (end == std::string_view::npos) end = path_value.size();
    std::string_view dir = path_value.substr(start, end - start);
    // An empty PATH entry means the current directory.
    std::string candidate = from_base(fmt::format("{}/{}", dir.empty() ? "." : dir, name));
    struct stat st{};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return base::fail(fmt::format("program '{}' not found on PATH ({})", name, path_value), ENOENT);
}

base::Result<SpawnedProcess> spawn_process(const SpawnRequest& request) {
  if (request.argv.empty()) return base::fail("nothing to run: argv is empty");
  auto program = request.program.empty()
                     ? resolve_program(request.argv[0], find_path_value(request.env))
                     : base::Result<std::string>(request.program);
  if (!program) return tl::unexpected(program.error());

  // Either three pipes or a terminal; the parent's ends of whichever it is are kept here.
  auto made = make_stdio(request);
  if (!made) return tl::unexpected(made.error());
  ChildStdio& stdio = *made;

  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  for (const auto& arg : request.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(request.env.size() + 1);
  for (const auto& entry : request.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  ExecArgs exec{program->c_str(), argv.data(), envp.data()};
  // posix_spawn runs no code of ours in the child and cannot execute a descriptor.
  bool own_child = request.confinement || request.program_fd >= 0;
  auto started = own_child ? clone_and_exec(request, stdio, exec)
                           : start_with_posix_spawn(request, stdio, exec);
  if (!started) return tl::unexpected(started.error());
  pid_t pid = *started;

  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));  // always close-on-exec
  if (pidfd < 0) {
    // Without a pidfd we cannot watch the process; do not leave it running unwatched.
    int saved = errno;
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return base::fail_errno("pidfd_open", saved);
  }

  SpawnedProcess process;
  process.pid = pid;
  process.pidfd = base::UniqueFd(pidfd);
  if (stdio.terminal) {
    int master = stdio.terminal->master.get();
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
    process.terminal_fd = std::move(stdio.terminal->master);
    return process;
  }

  // Larger pipes mean fewer wake-ups for chatty jobs. Best effort: an unprivileged user may be over
  // the pipe-buffer quota, and the default size still works.
  for (const Pipe* output : {&stdio.out, &stdio.err}) {
    if (output->read_end) ::fcntl(output->read_end.get(), F_SETPIPE_SZ, 1 << 20);
  }
  for (int fd : {stdio.in.write_end.get(), stdio.out.read_end.get(), stdio.err.read_end.get()}) {
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  process.stdin_fd = std::move(stdio.in.write_end);
  process.stdout_fd = std::move(stdio.out.read_end);
  process.stderr_fd = std::move(stdio.err.read_end);
  return process;
}

}  // namespace sys

#include "sys/spawn.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <optional>

#include <fmt/format.h>

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

  SpawnSetup setup;
  auto* actions = setup.actions();
  // Either three pipes or a terminal; the parent's ends of whichever it is are kept here.
  Pipe in, out, err;
  std::optional<PseudoTerminal> terminal;
  if (request.terminal) {
    auto opened = open_pseudo_terminal(*request.terminal);
    if (!opened) return tl::unexpected(opened.error());
    terminal = std::move(*opened);
    // The child is made a session leader first (POSIX_SPAWN_SETSID, applied before any file
    // action), and a session leader without a controlling terminal that opens a terminal without
    // O_NOCTTY acquires it (Linux). So the slave, opened by path as fd 0, becomes the job's
    // controlling terminal, and Ctrl-C typed into it reaches the job's process group.
    if (auto r = check_spawn_call(::posix_spawn_file_actions_addopen(
                                      actions, 0, terminal->slave_path.c_str(), O_RDWR, 0),
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
    auto made_in = make_pipe();
    if (!made_in) return tl::unexpected(made_in.error());
    auto made_out = make_pipe();
    if (!made_out) return tl::unexpected(made_out.error());
    auto made_err = make_pipe();
    if (!made_err) return tl::unexpected(made_err.error());
    in = std::move(*made_in);
    out = std::move(*made_out);
    err = std::move(*made_err);
    // dup2 clears close-on-exec on the target, so only these three fds reach the program.
    for (auto [fd, target] : {std::pair{in.read_end.get(), 0}, std::pair{out.write_end.get(), 1},
                              std::pair{err.write_end.get(), 2}}) {
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
  auto flags = static_cast<short>((terminal ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP) |
                                  POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  if (auto r = check_spawn_call(::posix_spawnattr_setflags(setup.attr(), flags), "posix_spawnattr_setflags"); !r) return tl::unexpected(r.error());
  ::posix_spawnattr_setpgroup(setup.attr(), 0);
  ::posix_spawnattr_setsigdefault(setup.attr(), &all_signals);
  ::posix_spawnattr_setsigmask(setup.attr(), &no_signals);

  if (auto r = check_spawn_call(
          ::posix_spawn_file_actions_addchdir_np(actions, request.cwd.c_str()),
          "posix_spawn_file_actions_addchdir_np");
      !r) {
    return tl::unexpected(r.error());
  }

  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  for (const auto& arg : request.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(request.env.size() + 1);
  for (const auto& entry : request.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  // glibc's posix_spawn reports a failed chdir or exec as its return value, so a job that cannot
  // start is an error here and never a zombie to collect later.
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program->c_str(), actions, setup.attr(), argv.data(), envp.data());
  if (rc != 0) {
    if (rc == ENOENT || rc == ENOTDIR) {
      struct stat st{};
      if (::stat(request.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return base::fail(fmt::format("cwd '{}' is not an existing directory", request.cwd.string()), rc);
      }
    }
    return base::fail(describe_exec_failure(*program, rc), rc);
  }

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
  if (terminal) {
    ::fcntl(terminal->master.get(), F_SETFL, ::fcntl(terminal->master.get(), F_GETFL) | O_NONBLOCK);
    process.terminal_fd = std::move(terminal->master);
    return process;
  }

  // Larger pipes mean fewer wake-ups for chatty jobs. Best effort: an unprivileged user may be over
  // the pipe-buffer quota, and the default size still works.
  ::fcntl(out.read_end.get(), F_SETPIPE_SZ, 1 << 20);
  ::fcntl(err.read_end.get(), F_SETPIPE_SZ, 1 << 20);
  for (int fd : {in.write_end.get(), out.read_end.get(), err.read_end.get()}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  process.stdin_fd = std::move(in.write_end);
  process.stdout_fd = std::move(out.read_end);
  process.stderr_fd = std::move(err.read_end);
  return process;
}

}  // namespace sys

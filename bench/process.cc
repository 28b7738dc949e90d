#include "process.h"

#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <utility>

#include "base/unique_fd.h"
#include "fds.h"
#include "sys/posix_spawn_setup.h"

extern char** environ;

namespace bench {
namespace {

using sys::check_spawn_call;
using sys::SpawnSetup;

base::Result<base::UniqueFd> open_pidfd(pid_t pid) {
  // glibc 2.36's <sys/pidfd.h> cannot be included from C++, hence the raw system call.
  base::UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!fd) return base::fail_errno(fmt::format("pidfd_open {}", pid));
  return fd;
}

std::vector<char*> pointers_to(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

Child::Child(Child&& other) noexcept : pid_(std::exchange(other.pid_, -1)), group_(other.group_) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    group_ = other.group_;
  }
  return *this;
}

Child::~Child() { kill_and_reap(); }

void Child::kill_and_reap() {
  if (pid_ < 0) return;
  ::kill(group_ == ProcessGroup::kOwn ? -pid_ : pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

base::Result<int> Child::wait() {
  if (pid_ < 0) return base::fail("wait: the child was already reaped");
  int status = 0;
  for (;;) {
    if (::waitpid(pid_, &status, 0) >= 0) break;
    if (errno != EINTR) return base::fail_errno(fmt::format("waitpid {}", pid_));
  }
  pid_ = -1;
  return status;
}

base::Result<std::optional<int>> Child::wait_until(Clock::time_point deadline) {
  if (pid_ < 0) return base::fail("wait: the child was already reaped");
  // A pidfd turns "has it exited?" into a readable fd, so the wait can honour a deadline
  // without polling waitpid in a loop.
  auto pidfd = open_pidfd(pid_);
  if (!pidfd) return tl::unexpected(pidfd.error());
  auto ready = wait_readable(pidfd->get(), deadline);
  if (!ready) return tl::unexpected(ready.error());
  if (*ready == Readiness::kTimedOut) return std::nullopt;
  return wait();
}

base::Result<void> Child::signal(int sig) {
  if (pid_ < 0) return base::fail("kill: the child was already reaped");
  if (::kill(group_ == ProcessGroup::kOwn ? -pid_ : pid_, sig) != 0) {
    return base::fail_errno(fmt::format("kill {}", pid_));
  }
  return {};
}

base::Result<Child> spawn(const SpawnRequest& request) {
  if (request.argv.empty()) return base::fail("spawn: empty argv");
  SpawnSetup setup;
  short flags = POSIX_SPAWN_SETSIGDEF;
  if (request.group == ProcessGroup::kOwn) flags |= POSIX_SPAWN_SETPGROUP;
  if (auto r = check_spawn_call(::posix_spawnattr_setflags(setup.attr(), flags),
                                "posix_spawnattr_setflags");
      !r) {
    return tl::unexpected(r.error());
  }
  // The driver ignores SIGPIPE; an ignored disposition survives exec, so undo it in the child.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  if (auto r = check_spawn_call(::posix_spawnattr_setsigdefault(setup.attr(), &defaults),
                                "posix_spawnattr_setsigdefault");
      !r) {
    return tl::unexpected(r.error());
  }
  const int targets[] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
  const int sources[] = {request.stdin_fd, request.stdout_fd, request.stderr_fd};
  for (int i = 0; i < 3; ++i) {
    if (sources[i] < 0) continue;
    if (auto r = check_spawn_call(
            ::posix_spawn_file_actions_adddup2(setup.actions(), sources[i], targets[i]),
            "posix_spawn_file_actions_adddup2");
        !r) {
      return tl::unexpected(r.error());
    }
  }
  auto argv = pointers_to(request.argv);
  auto envp = pointers_to(request.env);
  pid_t pid = -1;
  if (auto r = check_spawn_call(
          ::posix_spawn(&pid, argv[0], setup.actions(), setup.attr(), argv.data(), envp.data()),
          fmt::format("posix_spawn {}", request.argv[0]));
      !r) {
    return tl::unexpected(r.error());
  }
  return Child(pid, request.group);
}

std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) env.emplace_back(*entry);
  return env;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return fmt::format("wait status {:#x}", status);
}

}  // namespace bench

#include "process.h"

#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
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

std::vector<char*> pointers_to(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)), group_(other.group_) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    group_ = other.group_;
  }
  return *this;
}

Child::~Child() { kill_and_reap(); }

void Child::kill_and_reap() {
  if (pid_ < 0) return;
  (void)signal(SIGKILL);
  sys::reap_ending_child(pid_);
  pid_ = -1;
  pidfd_.reset();
}

base::Result<sys::ExitInfo> Child::wait() {
  if (pid_ < 0) return base::fail("wait: the child was already reaped");
  auto exit = sys::wait_child(pid_);
  if (!exit) return base::fail(fmt::format("waiting for {}: {}", pid_, exit.error().message));
  pid_ = -1;
  pidfd_.reset();
  return exit;
}

base::Result<int> Child::pidfd() {
  if (!pidfd_) {
    // Unreaped, the child still holds its pid: the pidfd cannot name another process.
    auto opened = sys::open_pidfd(pid_);
    if (!opened) return tl::unexpected(opened.error());
    pidfd_ = std::move(*opened);
  }
  return pidfd_.get();
}

base::Result<std::optional<sys::ExitInfo>> Child::wait_until(Clock::time_point deadline) {
  if (pid_ < 0) return base::fail("wait: the child was already reaped");
  // A pidfd turns "has it exited?" into a readable fd, so the wait can honour a deadline
  // without polling in a loop.
  auto pidfd = this->pidfd();
  if (!pidfd) return tl::unexpected(pidfd.error());
  auto ready = wait_readable(*pidfd, deadline);
  if (!ready) return tl::unexpected(ready.error());
  if (*ready == Readiness::kTimedOut) return std::nullopt;
  return wait();
}

base::Result<void> Child::signal(int sig) {
  if (pid_ < 0) return base::fail("kill: the child was already reaped");
  base::Result<bool> sent = false;
  if (group_ == ProcessGroup::kOwn) {
    sent = sys::signal_group(pid_, sig);
  } else if (auto pidfd = this->pidfd()) {
    sent = sys::signal_pidfd(*pidfd, sig);
  } else {
    sent = tl::unexpected(pidfd.error());
  }
  if (!sent) return base::fail(fmt::format("signalling {}: {}", pid_, sent.error().message));
  // Unreaped, the child (a zombie at least) and the group it leads are still there.
  if (!*sent) return base::fail(fmt::format("signalling {}: it is gone", pid_));
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

std::string describe_exit(const sys::ExitInfo& exit) {
  if (exit.exit_code) return fmt::format("exit code {}", *exit.exit_code);
  return fmt::format("killed by {}", sys::signal_name(exit.term_signal.value_or(0)));
}

}  // namespace bench

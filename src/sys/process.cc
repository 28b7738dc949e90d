#include "sys/process.h"

#include <fmt/format.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <csignal>
#include <cstring>

#include "base/unique_fd.h"

namespace sys {
namespace {

struct NamedSignal {
  std::string_view name;
  int number;
};

constexpr std::array<NamedSignal, 7> kSendableSignals{{{"TERM", SIGTERM},
                                                       {"INT", SIGINT},
                                                       {"HUP", SIGHUP},
                                                       {"QUIT", SIGQUIT},
                                                       {"KILL", SIGKILL},
                                                       {"USR1", SIGUSR1},
                                                       {"USR2", SIGUSR2}}};

// waitid(`type`, `id`) with `options` (WEXITED, and WNOHANG or not), EINTR retried. Empty when
// the process is still running (WNOHANG only).
base::Result<std::optional<ExitInfo>> wait_for(idtype_t type, id_t id, int options,
                                               const char* call) {
  siginfo_t info{};
  for (;;) {
    if (::waitid(type, id, &info, options) == 0) break;
    if (errno != EINTR) return base::fail_errno(call);
  }
  if (info.si_pid == 0) return std::optional<ExitInfo>{};  // still running
  ExitInfo exit;
  if (info.si_code == CLD_EXITED) {
    exit.exit_code = info.si_status;
  } else {
    exit.term_signal = info.si_status;  // CLD_KILLED or CLD_DUMPED
  }
  return std::optional<ExitInfo>{exit};
}

}  // namespace

base::Result<std::optional<ExitInfo>> reap_exited(int pidfd) {
  return wait_for(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), WEXITED | WNOHANG,
                  "waitid(P_PIDFD)");
}

base::Result<ExitInfo> wait_child(pid_t pid) {
  auto exit = wait_for(P_PID, static_cast<id_t>(pid), WEXITED, "waitid(P_PID)");
  if (!exit) return tl::unexpected(exit.error());
  return **exit;  // without WNOHANG, waitid returns only once the child has ended
}

base::Result<bool> signal_group(pid_t pgid, int sig) {
  if (pgid <= 1) return base::fail("refusing to signal a process group id <= 1");
  if (::kill(-pgid, sig) == 0) return true;
  if (errno == ESRCH) return false;
  return base::fail_errno("kill");
}

bool group_exists(pid_t pgid) { return ::kill(-pgid, 0) == 0 || errno == EPERM; }

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

base::Result<base::UniqueFd> open_pidfd(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));  // always close-on-exec
  if (fd < 0) return base::fail_errno(fmt::format("pidfd_open({})", pid));
  return base::UniqueFd(fd);
}

base::Result<bool> signal_pidfd(int pidfd, int sig) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0) return true;
  if (errno == ESRCH) return false;
  return base::fail_errno("pidfd_send_signal");
}

void reap_ending_child(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

base::Result<bool> signal_process(const ProcessId& id, int sig) {
  if (id.pid <= 1) return base::fail("refusing to signal a process id <= 1");
  auto pidfd = open_pidfd(id.pid);
  if (!pidfd) return false;  // gone
  // The pidfd pins whichever process had the pid when it was opened. If the process with that
  // pid is still the one `id` names now, it was that one then too (it has not exited since).
  auto now = read_process(id.pid);
  if (!now || now->zombie() || (id.start_ticks != 0 && now->id.start_ticks != id.start_ticks)) {
    return false;
  }
  auto sent = signal_pidfd(pidfd->get(), sig);
  if (!sent) {
    return base::fail_errno(fmt::format("pidfd_send_signal({})", id.pid), sent.error().sys_errno);
  }
  return sent;
}

base::Result<void> add_signal_flags(int sig, int flags) {
  struct sigaction action {};
  if (::sigaction(sig, nullptr, &action) != 0) return base::fail_errno("sigaction");
  action.sa_flags |= flags;
  if (::sigaction(sig, &action, nullptr) != 0) return base::fail_errno("sigaction");
  return {};
}

std::optional<int> parse_signal_name(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::string_view bare = upper;
  if (bare.starts_with("SIG")) bare.remove_prefix(3);
  for (const auto& s : kSendableSignals) {
    if (s.name == bare) return s.number;
  }
  return std::nullopt;
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  if (abbrev != nullptr) return fmt::format("SIG{}", abbrev);
  return fmt::format("SIG{}", sig);
}

}  // namespace sys

namespace sys {

base::Result<void> mark_inherited_fds_cloexec() {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) return base::fail_errno("close_range");
  return {};
}

}  // namespace sys

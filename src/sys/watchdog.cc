#include "sys/watchdog.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <set>

namespace sys {
namespace {

// A record on the pipe: 'W' (watch) or 'R' (release), then the group id.
struct Record {
  char kind;
  pid_t pgid;
};

constexpr auto kTermToKill = std::chrono::seconds(1);

bool group_alive(pid_t pgid) { return ::kill(-pgid, 0) == 0 || errno == EPERM; }

[[noreturn]] void run_watchdog(int from_server) {
  std::set<pid_t> groups;
  Record record{};
  for (;;) {
    ssize_t n = ::read(from_server, &record, sizeof record);
    if (n == static_cast<ssize_t>(sizeof record)) {
      if (record.kind == 'W') groups.insert(record.pgid);
      if (record.kind == 'R') groups.erase(record.pgid);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EOF: the server is gone, however it went
  }
  for (pid_t pgid : groups) ::kill(-pgid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + kTermToKill;
  while (std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    for (pid_t pgid : groups) any = any || group_alive(pgid);
    if (!any) _exit(0);
    ::poll(nullptr, 0, 20);  // nothing to wait on but time: the groups are not our children
  }
  for (pid_t pgid : groups) ::kill(-pgid, SIGKILL);
  _exit(0);
}

}  // namespace

base::Result<Watchdog> Watchdog::start() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return base::fail_errno("pipe2");
  base::UniqueFd read_end(fds[0]), write_end(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return base::fail_errno("fork");
  if (pid == 0) {
    // The watchdog must hold none of the server's fds: a client waiting for the server's stdout
    // or stderr to close must not wait on us. Keep only the pipe, as fd 3.
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int target = 0; target <= 2; ++target) ::dup2(null, target);
    ::dup2(read_end.get(), 3);
    ::close_range(4, ~0U, 0);
    // Its own process group, so a signal to the server's group (Ctrl-C in a terminal) leaves it
    // to do its job; it ends on the pipe's EOF, not on signals.
    ::setpgid(0, 0);
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGPIPE, SIG_IGN);
    ::prctl(PR_SET_NAME, "mcp-bg-watchdog");
    run_watchdog(3);
  }
  ::fcntl(write_end.get(), F_SETFL, O_NONBLOCK);
  Watchdog watchdog;
  watchdog.pid_ = pid;
  watchdog.to_watchdog_ = std::move(write_end);
  return watchdog;
}

void Watchdog::send(char kind, pid_t pgid) {
  if (!to_watchdog_) return;
  Record record{};  // zeroed padding: every byte written is defined
  record.kind = kind;
  record.pgid = pgid;
  // Records are smaller than PIPE_BUF, so each write is atomic; the watchdog only reads, so the
  // pipe does not fill. Should it ever be gone, the server carries on without it.
  (void)::write(to_watchdog_.get(), &record, sizeof record);
}

void Watchdog::watch_group(pid_t pgid) { send('W', pgid); }
void Watchdog::release_group(pid_t pgid) { send('R', pgid); }

}  // namespace sys

#include "sys/detached_spawn.h"

#include <fcntl.h>
#include <spawn.h>

#include <csignal>

#include "sys/process.h"

namespace sys {
namespace {

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

base::Result<DetachedProcess> spawn_detached(const std::string& program,
                                             const std::vector<std::string>& argv,
                                             const std::vector<std::string>& env, int fd3) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  // dup2 clears close-on-exec on the copy; the original stays close-on-exec.
  posix_spawn_file_actions_adddup2(&actions, fd3, 3);
  // Default dispositions and an empty mask: the keeper must hear SIGTERM, and SIGPIPE is its to
  // decide.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  auto args = c_strings(argv);
  auto environment = c_strings(env);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, args.data(), environment.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return base::fail_errno("cannot start " + program, rc);
  DetachedProcess process{.pid = pid};
  auto pidfd = open_pidfd(pid);
  if (pidfd) process.pidfd = std::move(*pidfd);
  return process;
}

}  // namespace sys

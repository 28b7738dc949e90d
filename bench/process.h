#pragma once
/// Child processes the driver starts: the server under test and the reference commands it is
/// measured against. A Child owns its process until it is reaped; destroying an unreaped Child
/// sends SIGKILL (to its whole process group when it leads one) and reaps it, so a run that stops
/// early leaves nothing behind. Signals and waits go through the sys/process wrappers (a pidfd,
/// opened when first needed, for a deadline or a signal to the child alone). Single-threaded;
/// nothing else in the driver reaps children.

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "stats.h"
#include "sys/process.h"

namespace bench {

/// Whether the child leads a process group of its own, as the server makes every job do.
enum class ProcessGroup { kInherit, kOwn };

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0] is a path: nothing is looked up on PATH.
  std::vector<std::string> env;   // The whole environment, "NAME=value".
  ProcessGroup group = ProcessGroup::kInherit;
  // Descriptors to install as the child's 0, 1 and 2; -1 leaves the driver's own in place.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

class Child {
 public:
  Child() = default;
  explicit Child(pid_t pid, ProcessGroup group) : pid_(pid), group_(group) {}
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  bool reaped() const { return pid_ < 0; }

  /// Blocks until the child exits and reaps it; returns how it ended.
  base::Result<sys::ExitInfo> wait();
  /// As wait(), but returns nullopt at `deadline`, leaving the child running and owned.
  base::Result<std::optional<sys::ExitInfo>> wait_until(Clock::time_point deadline);
  /// Sends `sig` to the child, or to its whole group when it leads one.
  base::Result<void> signal(int sig);

 private:
  void kill_and_reap();
  // The child's pidfd, opened on first use.
  base::Result<int> pidfd();

  pid_t pid_ = -1;
  base::UniqueFd pidfd_;
  ProcessGroup group_ = ProcessGroup::kInherit;
};

/// Starts `request.argv` with posix_spawn. Signals the driver ignores (SIGPIPE) are reset to
/// their defaults in the child, as the server does for its jobs.
base::Result<Child> spawn(const SpawnRequest& request);

/// The driver's own environment as "NAME=value" strings.
std::vector<std::string> current_environment();

/// "exit code 3", "killed by SIGKILL": for messages.
std::string describe_exit(const sys::ExitInfo& exit);

}  // namespace bench

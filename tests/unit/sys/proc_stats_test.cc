#include "sys/proc_stats.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "sys/process.h"

namespace sys {
namespace {

// /bin/sleep in its own process group, started with `environment`; killed and reaped when the
// test ends, whatever happens.
class Sleeper {
 public:
  explicit Sleeper(const char* environment = "A=1") {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      char* argv[] = {const_cast<char*>("sleep"), const_cast<char*>("1000"), nullptr};
      char* envp[] = {const_cast<char*>(environment), nullptr};
      ::execve("/bin/sleep", argv, envp);
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);  // also here: whichever runs first, the group exists on return
  }
  ~Sleeper() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

TEST(ProcStats, ReadsWhoAProcessIs) {
  Sleeper sleeper;
  auto info = read_process(sleeper.pid());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->id.pid, sleeper.pid());
  EXPECT_GT(info->id.start_ticks, 0u);
  EXPECT_EQ(info->parent, ::getpid());
  EXPECT_EQ(info->group, sleeper.pid());
  EXPECT_FALSE(info->zombie());
  EXPECT_TRUE(process_alive(info->id));
  EXPECT_FALSE(read_process(0).has_value());
}

TEST(ProcStats, AnIdentityWithAnotherStartTimeIsNeitherWalkedNorSignalled) {
  Sleeper sleeper;
  auto info = read_process(sleeper.pid());
  ASSERT_TRUE(info);
  // The same pid with another start time is another process: what a reused pid looks like.
  ProcessId stranger{sleeper.pid(), info->id.start_ticks + 1};
  EXPECT_FALSE(process_alive(stranger));
  EXPECT_TRUE(walk_process_trees(std::span(&stranger, 1), 0).processes.empty());
  EXPECT_EQ(signal_process(stranger, SIGKILL).value_or(true), false);
  EXPECT_TRUE(process_alive(info->id)) << "the stranger's signal reached it";
  auto tree = walk_process_trees(std::span(&info->id, 1), 0);
  ASSERT_EQ(tree.processes.size(), 1u);
  EXPECT_EQ(tree.processes[0].id, info->id);
  EXPECT_EQ(tree.processes[0].group, sleeper.pid());
  EXPECT_EQ(signal_process(info->id, SIGKILL).value_or(false), true);
}

TEST(ProcStats, ReadsTheEnvironmentAProcessStartedWith) {
  Sleeper sleeper("MCPBG_PROC_STATS_TEST=a value");
  // What exec left in /proc/<pid>/environ: wait until it is sleep's, not the forked copy's.
  for (int i = 0;
       i < 2000 && environment_variable(sleeper.pid(), "MCPBG_PROC_STATS_TEST") != "a value"; ++i) {
    ::usleep(1000);  // re-check interval, bounded above
  }
  EXPECT_EQ(environment_variable(sleeper.pid(), "MCPBG_PROC_STATS_TEST"), "a value");
  EXPECT_EQ(environment_variable(sleeper.pid(), "MCPBG_PROC_STATS"), std::nullopt);
}

}  // namespace
}  // namespace sys

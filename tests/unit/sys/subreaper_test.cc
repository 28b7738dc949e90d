#include "sys/subreaper.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <thread>

#include "sys/proc_stats.h"
#include "sys/process.h"

namespace sys {
namespace {

using namespace std::chrono_literals;

// Waits, with a deadline, for a condition about another process.
template <class Condition>
bool eventually(Condition condition) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);  // re-check interval under the deadline
  }
  return true;
}

bool has_child(pid_t pid) {
  auto children = own_children();
  return std::find(children.begin(), children.end(), pid) != children.end();
}

class Subreaper : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(become_child_subreaper()); }
  // The rest of the test binary expects orphans to go to init, as usual.
  void TearDown() override { ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0); }
};

TEST_F(Subreaper, AnOrphanInANewSessionComesBackAndIsReapedWhenItExits) {
  int to_parent[2];
  ASSERT_EQ(::pipe2(to_parent, O_CLOEXEC), 0);
  pid_t middle = ::fork();
  if (middle == 0) {
    // A daemon's double fork: the grandchild leaves the session, and its parent exits.
    if (::fork() == 0) {
      ::setsid();
      pid_t self = ::getpid();
      (void)!::write(to_parent[1], &self, sizeof self);  // once it is in its own session
      ::pause();
      ::_exit(0);
    }
    ::_exit(0);
  }
  ::close(to_parent[1]);
  pid_t orphan = 0;
  ASSERT_EQ(::read(to_parent[0], &orphan, sizeof orphan), static_cast<ssize_t>(sizeof orphan));
  ::close(to_parent[0]);
  ASSERT_EQ(::waitpid(middle, nullptr, 0), middle);
  // Its parent is gone: the kernel handed it to us, the nearest subreaper.
  ASSERT_TRUE(eventually([&] { return has_child(orphan); }));
  EXPECT_FALSE(reap_child_if_exited(orphan));  // still running
  auto info = read_process(orphan);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->session, orphan);
  ASSERT_TRUE(signal_process(info->id, SIGKILL).value_or(false));
  ASSERT_TRUE(eventually([&] { return reap_child_if_exited(orphan); }));
  EXPECT_FALSE(has_child(orphan));  // no zombie left
}

}  // namespace
}  // namespace sys

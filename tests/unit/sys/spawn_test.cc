#include "sys/spawn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "helpers/fd_leak_check.h"
#include "helpers/scratch_dir.h"
#include "sys/process.h"
#include "sys/small_file.h"

namespace sys {
namespace {

using base::Result;

std::string read_to_end(int fd) {
  std::string out;
  char buffer[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;  // deadline: a test failure, not a hang
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

// Every spawn test runs twice: through posix_spawn (jobs without confinement) and through
// clone + exec (confined jobs, here with nothing to confine), which must behave the same.
class Spawn : public ::testing::TestWithParam<bool> {
 protected:
  Result<SpawnedProcess> spawn(SpawnRequest request) {
    if (GetParam()) request.confinement = SpawnConfinement{};
    return spawn_process(request);
  }
};

INSTANTIATE_TEST_SUITE_P(BothPaths, Spawn, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "CloneExec" : "PosixSpawn";
                         });

ExitInfo wait_exit(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 10000), 1);
  auto reaped = reap_exited(pidfd);
  EXPECT_TRUE(reaped.has_value());
  EXPECT_TRUE(reaped->has_value());
  return reaped->value_or(ExitInfo{});
}

// The blocking wait of programs without a loop (the bench driver): how the child ended.
TEST_P(Spawn, WaitChildTellsTheExitCodeOrTheSignal) {
  auto exits = spawn({{"/bin/sh", "-c", "exit 3"}, "/", {"PATH=/usr/bin:/bin"}});
  ASSERT_TRUE(exits.has_value()) << exits.error().message;
  auto exited = wait_child(exits->pid);
  ASSERT_TRUE(exited.has_value()) << exited.error().message;
  EXPECT_EQ(exited->exit_code, 3);
  EXPECT_FALSE(exited->term_signal.has_value());

  auto killed = spawn({{"/bin/sh", "-c", "kill -TERM $$"}, "/", {"PATH=/usr/bin:/bin"}});
  ASSERT_TRUE(killed.has_value()) << killed.error().message;
  auto signalled = wait_child(killed->pid);
  ASSERT_TRUE(signalled.has_value()) << signalled.error().message;
  EXPECT_EQ(signalled->term_signal, SIGTERM);
  EXPECT_FALSE(signalled->exit_code.has_value());
  // Reaped: nothing is left to wait for.
  EXPECT_FALSE(wait_child(killed->pid).has_value());
}

TEST_P(Spawn, RunsInItsOwnProcessGroupWithPipes) {
  size_t fds_before = test::open_fd_count();
  {
    auto process = spawn({{"/bin/sh", "-c", "echo $$ $(ps -o pgid= $$); echo err >&2"},
                          "/",
                          {"PATH=/usr/bin:/bin"}});
    ASSERT_TRUE(process.has_value()) << process.error().message;
    std::string out = read_to_end(process->stdout_fd.get());
    EXPECT_EQ(read_to_end(process->stderr_fd.get()), "err\n");
    ExitInfo exit = wait_exit(process->pidfd.get());
    EXPECT_EQ(exit.exit_code, 0);
    // pid == pgid: the job leads its own group, so kill(-pid) reaches all it starts.
    std::string pid = std::to_string(process->pid);
    EXPECT_EQ(out.substr(0, out.find(' ')), pid);
    EXPECT_NE(out.find(" " + pid), std::string::npos) << out;
  }
  EXPECT_EQ(test::open_fd_count(), fds_before);
}

TEST_P(Spawn, ChildGetsDefaultSignalDispositions) {
  // The server (and this test binary) ignores SIGPIPE; a job must not inherit that.
  auto process = spawn({{"/bin/sh", "-c", "yes | head -n 1"}, "/", {"PATH=/usr/bin:/bin"}});
  ASSERT_TRUE(process.has_value());
  EXPECT_EQ(read_to_end(process->stdout_fd.get()), "y\n");
  EXPECT_EQ(wait_exit(process->pidfd.get()).exit_code, 0);
}

TEST_P(Spawn, ChildStartsWithNothingBlockedOrIgnored) {
  // This test binary ignores SIGPIPE, as the server does; the job must see neither that nor any
  // blocked signal (the confined path blocks every signal around clone).
  auto process = spawn({{"/bin/cat", "/proc/self/status"}, "/", {}});
  ASSERT_TRUE(process.has_value()) << process.error().message;
  std::string status = read_to_end(process->stdout_fd.get());
  EXPECT_NE(status.find("SigBlk:\t0000000000000000\n"), std::string::npos) << status;
  // Signals 32 and 33 are glibc's own (thread cancellation, setxid), which posix_spawn leaves
  // ignored; the standard ones are what matters.
  auto ignored = status.find("SigIgn:\t");
  ASSERT_NE(ignored, std::string::npos);
  EXPECT_EQ(std::stoull(status.substr(ignored + 8, 16), nullptr, 16) & 0x7fffffffu, 0u) << status;
  EXPECT_EQ(wait_exit(process->pidfd.get()).exit_code, 0);
}

TEST_P(Spawn, ReportsAProgramThatIsNotExecutable) {
  char path[] = "/tmp/mcpbg-not-executable-XXXXXX";
  int fd = ::mkstemp(path);  // mode 0600: no execute bit, so even root may not exec it
  ASSERT_GE(fd, 0);
  ::close(fd);
  size_t fds_before = test::open_fd_count();
  auto denied = spawn({{path}, "/", {}});
  ::unlink(path);
  ASSERT_FALSE(denied.has_value());
  EXPECT_NE(denied.error().message.find("permission denied"), std::string::npos)
      << denied.error().message;
  EXPECT_EQ(denied.error().sys_errno, EACCES);
  EXPECT_EQ(test::open_fd_count(), fds_before);
}

TEST_P(Spawn, ReportsWhyAProgramCannotStart) {
  size_t fds_before = test::open_fd_count();
  auto missing = spawn({{"no-such-program-abc"}, "/", {"PATH=/usr/bin:/bin"}});
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("not found on PATH"), std::string::npos);
  auto bad_path = spawn({{"/nonexistent/prog"}, "/", {}});
  ASSERT_FALSE(bad_path.has_value());
  EXPECT_NE(bad_path.error().message.find("does not exist"), std::string::npos);
  auto bad_cwd = spawn({{"/bin/true"}, "/nonexistent-dir", {}});
  ASSERT_FALSE(bad_cwd.has_value());
  EXPECT_NE(bad_cwd.error().message.find("cwd"), std::string::npos);
  EXPECT_EQ(test::open_fd_count(), fds_before);
}

TEST_P(Spawn, AGivenProgramIsExecutedWithoutLookingArgvZeroUp) {
  // argv[0] names nothing on PATH, and PATH is empty: only `program` can make this run. The
  // program still sees argv[0] as given.
  SpawnRequest request{.argv = {"no-such-name", "-c", "echo \"$0\""},
                       .cwd = "/",
                       .env = {"PATH=/nonexistent"},
                       .program = "/bin/sh"};
  auto process = spawn(request);
  ASSERT_TRUE(process.has_value()) << process.error().message;
  EXPECT_EQ(read_to_end(process->stdout_fd.get()), "no-such-name\n");
  EXPECT_EQ(wait_exit(process->pidfd.get()).exit_code, 0);
}

TEST_P(Spawn, ReportsDeathBySignal) {
  auto process = spawn({{"/bin/sh", "-c", "kill -TERM $$"}, "/", {}});
  ASSERT_TRUE(process.has_value());
  ExitInfo exit = wait_exit(process->pidfd.get());
  EXPECT_FALSE(exit.exit_code.has_value());
  EXPECT_EQ(exit.term_signal, SIGTERM);
}

TEST_P(Spawn, OnATerminalTheChildLeadsASessionWithItAsControllingTerminal) {
  size_t fds_before = test::open_fd_count();
  {
    // /proc/PID/stat: pid (comm) state ppid pgrp session tty_nr ...; sh's comm has no spaces.
    auto process =
        spawn({{"/bin/sh", "-c",
                "read -r pid comm state ppid pgrp sid tty rest < /proc/$$/stat; "
                "echo \"pid=$pid pgrp=$pgrp sid=$sid\"; [ \"$tty\" != 0 ] && echo has-ctty; "
                "test -t 0 && test -t 1 && test -t 2 && echo all-tty; stty size; echo err >&2"},
               "/",
               {"PATH=/usr/bin:/bin"},
               TerminalSize{.cols = 91, .rows = 17}});
    ASSERT_TRUE(process.has_value()) << process.error().message;
    EXPECT_FALSE(process->stdin_fd.valid());
    EXPECT_FALSE(process->stdout_fd.valid());
    EXPECT_FALSE(process->stderr_fd.valid());
    ASSERT_TRUE(process->terminal_fd.valid());
    EXPECT_NE(::fcntl(process->terminal_fd.get(), F_GETFD) & FD_CLOEXEC, 0);
    // Read until the last slave descriptor closes: the master then reports EIO, not 0.
    std::string out = read_to_end(process->terminal_fd.get());
    EXPECT_EQ(::read(process->terminal_fd.get(), out.data(), 1), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(wait_exit(process->pidfd.get()).exit_code, 0);
    std::string pid = std::to_string(process->pid);
    // Its own session and group (kill(-pid) reaches it), stdout and stderr merged, \r\n line ends.
    EXPECT_EQ(out, "pid=" + pid + " pgrp=" + pid + " sid=" + pid +
                       "\r\nhas-ctty\r\nall-tty\r\n17 91\r\nerr\r\n");
  }
  EXPECT_EQ(test::open_fd_count(), fds_before);
}

TEST_P(Spawn, ATerminalThatCannotStartLeavesNothingOpen) {
  size_t fds_before = test::open_fd_count();
  auto missing = spawn({{"/nonexistent/prog"}, "/", {}, TerminalSize{}});
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
  EXPECT_EQ(test::open_fd_count(), fds_before);
}

TEST_P(Spawn, ADirectoryAndAProgramGivenAsDescriptorsAreWhatIsUsedWhateverTheirNamesBecome) {
  test::ScratchDir scratch("mcpbg-spawn-fd");
  const std::filesystem::path& dir = scratch.path();
  std::filesystem::create_directory(dir / "checked");
  base::UniqueFd cwd(::open((dir / "checked").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  base::UniqueFd program(::open("/bin/sh", O_PATH | O_CLOEXEC));
  ASSERT_TRUE(cwd && program);
  // Both names now lead elsewhere: the directory moved, a link to / in its place, and the
  // program path given for messages names nothing at all.
  std::filesystem::rename(dir / "checked", dir / "moved");
  std::filesystem::create_directory_symlink("/", dir / "checked");
  size_t fds_before = test::open_fd_count();
  {
    auto process = spawn({.argv = {"sh", "-c", "pwd -P; echo \"$0\""},
                          .cwd = dir / "checked",
                          .env = {"PATH=/usr/bin:/bin"},
                          .program = "/nonexistent/sh",
                          .cwd_fd = cwd.get(),
                          .program_fd = program.get()});
    ASSERT_TRUE(process.has_value()) << process.error().message;
    EXPECT_EQ(read_to_end(process->stdout_fd.get()), (dir / "moved").string() + "\nsh\n");
    EXPECT_EQ(wait_exit(process->pidfd.get()).exit_code, 0);
  }
  EXPECT_EQ(test::open_fd_count(), fds_before);
}

TEST(SpawnByDescriptor, TheProcessIsNamedAfterItsProgram) {
  base::UniqueFd program(::open("/bin/sleep", O_PATH | O_CLOEXEC));
  auto process = spawn_process({.argv = {"sleep", "5"},
                                .cwd = "/",
                                .env = {},
                                .program = "/bin/sleep",
                                .program_fd = program.get()});
  ASSERT_TRUE(process.has_value()) << process.error().message;
  std::string comm = read_small_file(fmt::format("/proc/{}/comm", process->pid));
  EXPECT_EQ(comm, "sleep\n");
  ::kill(process->pid, SIGKILL);
  wait_exit(process->pidfd.get());
}

}  // namespace
}  // namespace sys

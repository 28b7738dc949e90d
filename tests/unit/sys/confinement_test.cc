// Confined spawns: rlimits, Landlock and the pids cgroup, applied by the child between clone and
// exec, and the errors of that path.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "helpers/fd_leak_check.h"
#include "helpers/scratch_dir.h"
#include "sys/cgroup.h"
#include "sys/landlock.h"
#include "sys/metadata_filter.h"
#include "sys/process.h"
#include "sys/spawn.h"

namespace sys {
namespace {

namespace fs = std::filesystem;

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

ExitInfo wait_exit(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 20000), 1);
  auto reaped = reap_exited(pidfd);
  EXPECT_TRUE(reaped.has_value());
  EXPECT_TRUE(reaped->has_value());
  return reaped->value_or(ExitInfo{});
}

struct Finished {
  std::string out, err;
  ExitInfo exit;
};

// Runs a shell line confined as asked, to the end.
Finished run_confined(const std::string& script, SpawnConfinement confinement,
                      const fs::path& cwd = "/") {
  auto process = spawn_process(
      {{"/bin/sh", "-c", script}, cwd, {"PATH=/usr/bin:/bin"}, std::nullopt, confinement});
  EXPECT_TRUE(process.has_value()) << process.error().message;
  if (!process) return {};
  Finished run;
  run.out = read_to_end(process->stdout_fd.get());
  run.err = read_to_end(process->stderr_fd.get());
  run.exit = wait_exit(process->pidfd.get());
  return run;
}

using test::ScratchDir;

// Rlimits ---------------------------------------------------------------------------------------

TEST(ConfinedSpawn, TheChildRunsUnderTheLimits) {
  SpawnConfinement confinement;
  confinement.limits = {.cpu_seconds = 7,
                        .address_space_bytes = uint64_t{2} << 30,
                        .open_files = 64,
                        .file_size_bytes = uint64_t{1} << 20};
  Finished run = run_confined("cat /proc/self/limits", confinement);
  EXPECT_EQ(run.exit.exit_code, 0) << run.err;
  // "Max cpu time   7   8   seconds": soft, then hard one second above (SIGXCPU, then KILL).
  EXPECT_TRUE(std::regex_search(run.out, std::regex(R"(Max cpu time\s+7\s+8\s+seconds)")))
      << run.out;
  EXPECT_TRUE(std::regex_search(run.out, std::regex(R"(Max open files\s+64\s+64\s)"))) << run.out;
  EXPECT_TRUE(std::regex_search(run.out, std::regex(R"(Max file size\s+1048576\s+1048576\s)")))
      << run.out;
  EXPECT_TRUE(
      std::regex_search(run.out, std::regex(R"(Max address space\s+2147483648\s+2147483648\s)")))
      << run.out;
}

TEST(ConfinedSpawn, TheFileSizeLimitStopsABigWrite) {
  ScratchDir dir;
  SpawnConfinement confinement;
  confinement.limits.file_size_bytes = uint64_t{64} * 1024;
  Finished run = run_confined("head -c 1000000 /dev/zero > big", confinement, dir.path());
  // head dies of SIGXFSZ; the shell reports it as 128 + 25.
  EXPECT_EQ(run.exit.exit_code, 128 + SIGXFSZ) << run.err;
  EXPECT_EQ(fs::file_size(dir.path() / "big"), 64u * 1024);
}

TEST(ConfinedSpawn, TheCpuLimitEndsABusyLoop) {
  SpawnConfinement confinement;
  confinement.limits.cpu_seconds = 1;
  auto started = std::chrono::steady_clock::now();
  auto process =
      spawn_process({{"/bin/sh", "-c", "while :; do :; done"}, "/", {}, std::nullopt, confinement});
  ASSERT_TRUE(process.has_value()) << process.error().message;
  ExitInfo exit = wait_exit(process->pidfd.get());
  EXPECT_EQ(exit.term_signal, SIGXCPU);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
}

// Errors through the confined path ------------------------------------------------------------

TEST(ConfinedSpawn, SaysWhichStepFailed) {
  size_t fds_before = test::open_fd_count();
  {
    // A descriptor that is not a Landlock ruleset: the child's landlock_restrict_self fails.
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    SpawnConfinement confinement;
    confinement.landlock_ruleset_fd = fds[0];
    auto failed = spawn_process({{"/bin/true"}, "/", {}, std::nullopt, confinement});
    ASSERT_FALSE(failed.has_value());
    EXPECT_NE(failed.error().message.find("landlock_restrict_self failed"), std::string::npos)
        << failed.error().message;
    EXPECT_NE(failed.error().sys_errno, 0);

    // A cgroup.procs that cannot be written: joining fails.
    SpawnConfinement join;
    join.cgroup_procs_fd = fds[0];  // the read end of a pipe
    failed = spawn_process({{"/bin/true"}, "/", {}, std::nullopt, join});
    ASSERT_FALSE(failed.has_value());
    EXPECT_NE(failed.error().message.find("joining its pids cgroup failed"), std::string::npos)
        << failed.error().message;
    ::close(fds[0]);
    ::close(fds[1]);
  }
  // No zombie was left behind: every child was collected by spawn_process.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_EQ(test::open_fd_count(), fds_before);
}

TEST(ConfinedSpawn, TheAddressSpaceLimitFailsABigAllocation) {
#if defined(__SANITIZE_ADDRESS__)
  // The allocating child is itself built with AddressSanitizer, whose shadow memory reserves
  // terabytes of address space at start: under any address-space limit it cannot even start.
  GTEST_SKIP() << "test_child is sanitized and cannot run under an address-space limit";
#endif
  SpawnConfinement confinement;
  confinement.limits.address_space_bytes = uint64_t{256} << 20;
  auto process =
      spawn_process({{TEST_CHILD_PATH, "alloc", "512"}, "/", {}, std::nullopt, confinement});
  ASSERT_TRUE(process.has_value()) << process.error().message;
  EXPECT_NE(read_to_end(process->stdout_fd.get()).find("allocation failed after"),
            std::string::npos);
  EXPECT_EQ(wait_exit(process->pidfd.get()).exit_code, 1);
}

// Landlock ----------------------------------------------------------------------------------------

class LandlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    abi_ = landlock_abi_version(&why);
    if (abi_ == 0) GTEST_SKIP() << "this kernel lacks Landlock: " << why;
  }
  int abi_ = 0;
};

TEST_F(LandlockTest, WritesOnlyBeneathTheRootsReadsEverywhere) {
  ScratchDir allowed, outside;
  std::ofstream(outside.path() / "existing") << "before\n";
  auto ruleset = build_landlock_ruleset({.writable = {allowed.path()}});
  ASSERT_TRUE(ruleset.has_value()) << ruleset.error().message;
  SpawnConfinement confinement;
  confinement.landlock_ruleset_fd = ruleset->get();
  std::string in = allowed.path().string(), out = outside.path().string();
  Finished run =
      run_confined("echo a > " + in + "/new && mkdir " + in + "/sub && mv " + in + "/new " + in +
                       "/sub/moved && echo inside-ok; "
                       "echo b > " +
                       out +
                       "/new 2>/dev/null || echo create-denied; "
                       "echo c >> " +
                       out +
                       "/existing 2>/dev/null || echo append-denied; "
                       "true > " +
                       out +
                       "/existing 2>/dev/null || echo truncate-denied; "
                       "rm -f " +
                       out +
                       "/existing 2>/dev/null || echo remove-denied; "
                       "mkdir " +
                       out +
                       "/d 2>/dev/null || echo mkdir-denied; "
                       "cat " +
                       out +
                       "/existing; head -c 4 /etc/passwd; echo; "
                       "echo quiet > /dev/null && echo devnull-ok",
                   confinement);
  EXPECT_EQ(run.out,
            "inside-ok\ncreate-denied\nappend-denied\ntruncate-denied\nremove-denied\n"
            "mkdir-denied\nbefore\nroot\ndevnull-ok\n")
      << run.err;
  EXPECT_TRUE(fs::exists(allowed.path() / "sub" / "moved"));
  EXPECT_FALSE(fs::exists(outside.path() / "new"));
  EXPECT_FALSE(fs::exists(outside.path() / "d"));
}

TEST_F(LandlockTest, DeviceNodesAreMadeNowhereFifosInsideTheRoots) {
  ScratchDir allowed;
  auto ruleset = build_landlock_ruleset({.writable = {allowed.path()}});
  ASSERT_TRUE(ruleset.has_value()) << ruleset.error().message;
  SpawnConfinement confinement;
  confinement.landlock_ruleset_fd = ruleset->get();
  std::string in = allowed.path().string();
  Finished run = run_confined("mknod " + in + "/c c 1 3 2>/dev/null || echo char-denied; " +
                                  "mknod " + in + "/b b 7 0 2>/dev/null || echo block-denied; " +
                                  "mkfifo " + in + "/p && echo fifo-ok",
                              confinement);
  EXPECT_EQ(run.out, "char-denied\nblock-denied\nfifo-ok\n") << run.err;
}

TEST(MetadataFilter, ExtendedAttributesAndIoUringAreRefusedOtherMetadataIsNot) {
  ScratchDir dir;
  std::string file = (dir.path() / "f").string();
  std::ofstream(file) << "x\n";
  SpawnConfinement confinement;
  confinement.seccomp_filter = &metadata_filter();
  auto process = spawn_process(
      {{TEST_CHILD_PATH, "metadata", "setxattr", file}, "/", {}, std::nullopt, confinement});
  ASSERT_TRUE(process.has_value()) << process.error().message;
  EXPECT_EQ(read_to_end(process->stdout_fd.get()), "setxattr: Operation not supported\n");
  wait_exit(process->pidfd.get());
  // Nor through io_uring, which the filter cannot look into: no ring at all.
  auto uring = spawn_process(
      {{TEST_CHILD_PATH, "metadata", "uring-setxattr", file}, "/", {}, std::nullopt, confinement});
  ASSERT_TRUE(uring.has_value()) << uring.error().message;
  EXPECT_EQ(read_to_end(uring->stdout_fd.get()), "uring-setxattr: Function not implemented\n");
  wait_exit(uring->pidfd.get());
  Finished chmod =
      run_confined("chmod 600 " + file + " && touch " + file + " && echo ok", confinement);
  EXPECT_EQ(chmod.out, "ok\n") << chmod.err;
}

TEST_F(LandlockTest, TheDeniedWriteFailsWithEacces) {
  ScratchDir allowed, outside;
  auto ruleset = build_landlock_ruleset({.writable = {allowed.path()}});
  ASSERT_TRUE(ruleset.has_value()) << ruleset.error().message;
  SpawnConfinement confinement;
  confinement.landlock_ruleset_fd = ruleset->get();
  // test_child is not needed: the errno is visible in the shell's own message.
  Finished run = run_confined("echo x > " + outside.path().string() + "/f", confinement);
  EXPECT_NE(run.exit.exit_code, 0);
  EXPECT_NE(run.err.find("Permission denied"), std::string::npos) << run.err;
}

TEST_F(LandlockTest, NetworkFalseDeniesTcpConnectAndBind) {
  if (abi_ < 4) GTEST_SKIP() << "Landlock ABI " << abi_ << " cannot restrict TCP (needs 4)";
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::string port = std::to_string(ntohs(address.sin_port));
  std::string connect = "exec 3<>/dev/tcp/127.0.0.1/" + port + " && echo connected";

  auto no_network = build_landlock_ruleset({.restrict_writes = false, .network = false});
  ASSERT_TRUE(no_network.has_value()) << no_network.error().message;
  SpawnConfinement confinement;
  confinement.landlock_ruleset_fd = no_network->get();
  auto denied = spawn_process({{"/bin/bash", "-c", connect}, "/", {}, std::nullopt, confinement});
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(read_to_end(denied->stdout_fd.get()), "");
  EXPECT_NE(read_to_end(denied->stderr_fd.get()).find("Permission denied"), std::string::npos);
  EXPECT_NE(wait_exit(denied->pidfd.get()).exit_code, 0);

  // The same job without the ruleset connects.
  auto allowed =
      spawn_process({{"/bin/bash", "-c", connect}, "/", {}, std::nullopt, SpawnConfinement{}});
  ASSERT_TRUE(allowed.has_value());
  EXPECT_EQ(read_to_end(allowed->stdout_fd.get()), "connected\n");
  EXPECT_EQ(wait_exit(allowed->pidfd.get()).exit_code, 0);
  ::close(listener);
}

TEST_F(LandlockTest, AJobOnATerminalStillWorks) {
  ScratchDir allowed;
  auto ruleset = build_landlock_ruleset({.writable = {allowed.path()}});
  ASSERT_TRUE(ruleset.has_value()) << ruleset.error().message;
  SpawnConfinement confinement;
  confinement.landlock_ruleset_fd = ruleset->get();
  // stty is an ioctl on the terminal; /dev/tty is reopened by path (IOCTL_DEV and WRITE_FILE).
  auto process = spawn_process({{"/bin/sh", "-c", "stty size; echo via-tty > /dev/tty"},
                                "/",
                                {"PATH=/usr/bin:/bin"},
                                TerminalSize{.cols = 80, .rows = 24},
                                confinement});
  ASSERT_TRUE(process.has_value()) << process.error().message;
  std::string out = read_to_end(process->terminal_fd.get());
  EXPECT_EQ(out, "24 80\r\nvia-tty\r\n");
  EXPECT_EQ(wait_exit(process->pidfd.get()).exit_code, 0);
}

TEST_F(LandlockTest, ARootThatDoesNotExistIsAnError) {
  auto ruleset = build_landlock_ruleset({.writable = {"/nonexistent-root-dir"}});
  ASSERT_FALSE(ruleset.has_value());
  EXPECT_NE(ruleset.error().message.find("/nonexistent-root-dir"), std::string::npos);
}

// The pids cgroup -------------------------------------------------------------------------------

class PidsCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = PidsCgroupParent::create();
    if (!made) GTEST_SKIP() << "no usable pids cgroup here: " << made.error().message;
    parent_ = std::move(*made);
  }
  std::unique_ptr<PidsCgroupParent> parent_;
};

template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition
  }
  return true;
}

TEST_F(PidsCgroupTest, ABoundedForkBombStaysWithinTheLimit) {
  auto cgroup = parent_->create_job("fork-bomb-test", 8);
  ASSERT_TRUE(cgroup.has_value()) << cgroup.error().message;
  SpawnConfinement confinement;
  confinement.cgroup_procs_fd = (*cgroup)->join_fd();
  // Bounded: 50 sleepers at most, never an unbounded bomb on a shared machine. The shell gives
  // up ("Cannot fork") once the cgroup is full; what it started so far stays.
  auto process = spawn_process(
      {{"/bin/sh", "-c", "for i in $(seq 50); do (sleep 60 > /dev/null 2>&1 &); done"},
       "/",
       {"PATH=/usr/bin:/bin"},
       std::nullopt,
       confinement});
  ASSERT_TRUE(process.has_value()) << process.error().message;
  (*cgroup)->close_join_fd();
  EXPECT_NE(read_to_end(process->stderr_fd.get()).find("fork"), std::string::npos);
  EXPECT_NE(wait_exit(process->pidfd.get()).exit_code, 0);
  // The sleepers left the shell's process tree ((cmd &) in a subshell); the cgroup still has them.
  auto members = (*cgroup)->pids();
  EXPECT_GE(members.size(), 2u);
  EXPECT_LE(members.size(), 8u);
  std::ifstream peak((*cgroup)->dir() / "pids.peak");
  int most = 0;
  if (peak >> most) {
    EXPECT_LE(most, 8);
  }

  EXPECT_FALSE((*cgroup)->remove());  // busy while processes remain
  EXPECT_GE((*cgroup)->signal_all(SIGKILL), static_cast<int>(members.size()));
  EXPECT_TRUE(eventually([&] { return (*cgroup)->pids().empty(); }));
  EXPECT_TRUE(eventually([&] { return (*cgroup)->remove(); }));
  EXPECT_FALSE(fs::exists((*cgroup)->dir()));
}

TEST_F(PidsCgroupTest, ReachesProcessesThatLeftTheGroupAndSession) {
  auto cgroup = parent_->create_job("setsid-test", 16);
  ASSERT_TRUE(cgroup.has_value()) << cgroup.error().message;
  SpawnConfinement confinement;
  confinement.cgroup_procs_fd = (*cgroup)->join_fd();
  auto process = spawn_process({{"/bin/sh", "-c", "setsid sleep 60 > /dev/null 2>&1 & echo $!"},
                                "/",
                                {"PATH=/usr/bin:/bin"},
                                std::nullopt,
                                confinement});
  ASSERT_TRUE(process.has_value()) << process.error().message;
  pid_t escaped = std::stoi(read_to_end(process->stdout_fd.get()));
  wait_exit(process->pidfd.get());
  // A group signal cannot reach it once it leads its own session.
  ASSERT_TRUE(eventually([&] { return ::getsid(escaped) == escaped; }));
  EXPECT_EQ((*cgroup)->pids(), std::vector<pid_t>{escaped});
  EXPECT_EQ((*cgroup)->signal_all(SIGTERM), 1);
  EXPECT_TRUE(eventually([&] { return (*cgroup)->pids().empty(); }));
}

TEST_F(PidsCgroupTest, TheServerDirectoryIsRemovedWithTheParent) {
  fs::path dir = parent_->dir();
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_NE(dir.filename().string().find(std::to_string(::getpid())), std::string::npos);
  {
    auto cgroup = parent_->create_job("empty", 4);
    ASSERT_TRUE(cgroup.has_value());
    EXPECT_TRUE(fs::exists(dir / "empty" / "pids.max"));
  }
  EXPECT_FALSE(fs::exists(dir / "empty"));  // an empty job cgroup goes with its owner
  parent_.reset();
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace sys

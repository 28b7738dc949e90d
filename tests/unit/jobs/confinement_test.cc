// Confinement through the engine: what a job may ask for, and what the server enforces on it
// (memory watch, process limit through a cgroup, Landlock, rlimits).
#include "jobs/confinement.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "helpers/fd_leak_check.h"
#include "helpers/process_probe.h"
#include "helpers/run_until.h"
#include "helpers/scratch_dir.h"
#include "jobs/job_manager.h"
#include "sys/landlock.h"

namespace jobs {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// What a job may ask for ------------------------------------------------------------------------

TEST(ConfinementRequest, AJobMayTightenEveryLimitButNeverLoosenOne) {
  ConfinementSettings settings;
  settings.defaults.limits = {.cpu_seconds = 60, .memory_bytes = 1000, .processes = 20};
  Confinement confinement(settings);

  ConfinementOverride tighter;
  tighter.limits = {.cpu_seconds = 5,
                    .memory_bytes = 500,
                    .address_space_bytes = 1 << 30,
                    .processes = 3,
                    .open_files = 64,
                    .file_size_bytes = 4096};
  auto job = confinement.effective(tighter);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ(job->limits.cpu_seconds, 5u);
  EXPECT_EQ(job->limits.memory_bytes, 500u);
  EXPECT_EQ(job->limits.processes, 3);
  // Where the server has no limit, the job's own applies.
  EXPECT_EQ(job->limits.address_space_bytes, uint64_t{1} << 30);
  EXPECT_EQ(job->limits.open_files, 64);

  // Unset: the server's.
  auto defaults = confinement.effective({});
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->limits.cpu_seconds, 60u);
  EXPECT_EQ(defaults->limits.processes, 20);

  ConfinementOverride looser;
  looser.limits.memory_bytes = 2000;
  auto refused = confinement.effective(looser);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("limits.memory_bytes = 2000 is above the server's "
                                         "max_memory (1000 bytes)"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(refused.error().rule, "max_memory: 1000");

  looser = {};
  looser.limits.processes = 21;
  refused = confinement.effective(looser);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().rule, "max_processes: 20");
}

TEST(ConfinementRequest, SandboxAndNetworkOnlyTighten) {
  ConfinementSettings open_server;
  Confinement open(open_server);
  ConfinementOverride stricter;
  stricter.sandbox = true;
  stricter.network = false;
  auto job = open.effective(stricter);
  ASSERT_TRUE(job.has_value());
  EXPECT_TRUE(job->sandbox);
  EXPECT_FALSE(job->network);

  ConfinementSettings strict_server;
  strict_server.defaults.sandbox = true;
  strict_server.defaults.network = false;
  Confinement strict(strict_server);
  ConfinementOverride out_of_sandbox;
  out_of_sandbox.sandbox = false;
  auto refused = strict.effective(out_of_sandbox);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().rule, "sandbox: landlock");
  ConfinementOverride online;
  online.network = true;
  refused = strict.effective(online);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().rule, "network: false");
  // Asking for what the server already enforces is fine.
  ConfinementOverride same;
  same.sandbox = true;
  same.network = false;
  EXPECT_TRUE(strict.effective(same).has_value());
}

// What the engine enforces -----------------------------------------------------------------------

class ConfinedJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    test::open_reactor(io_);
    fds_before_ = test::open_fd_count();
    dir_ = scratch_.path();
    settings_.working_dir = dir_;
    settings_.cleanup_interval = 1h;
    settings_.memory_check_interval = 50ms;
  }
  void TearDown() override {
    if (manager_) {
      for (const auto& job : manager_->jobs_newest_first()) {
        // Finished jobs too: what they left behind is still theirs.
        if (job->has_started()) job->kill(SIGKILL, 0ms);
      }
      test::run_until(io_, [&] { return manager_->running_count() == 0; });
    }
    manager_.reset();
    io_.run_for(10ms);
    EXPECT_EQ(test::open_fd_count(), fds_before_) << "file descriptors leaked";
  }

  JobManager& manager() {
    if (!manager_) manager_ = std::make_unique<JobManager>(io_.get_executor(), settings_);
    return *manager_;
  }
  base::Result<std::shared_ptr<Job>> start(const ExecuteRequest& request) {
    return manager().execute(request);
  }
  std::string output(const Job& job) {
    return job.output().read(0, 1 << 20, StreamFilter::kBoth).bytes;
  }
  bool ended(const std::shared_ptr<Job>& job, std::chrono::milliseconds timeout = 10s) {
    return test::run_until(
        io_, [&] { return job->finished() && !job->output_open(); }, timeout);
  }

  boost::asio::io_context io_;
  size_t fds_before_ = 0;
  test::ScratchDir scratch_{"mcpbg-confined"};
  fs::path dir_;
  EngineSettings settings_;
  std::unique_ptr<JobManager> manager_;
};

TEST_F(ConfinedJobsTest, AJobOverItsMemoryLimitIsKilledAndFailsWithTheReason) {
  ExecuteRequest request;
  request.argv = {TEST_CHILD_PATH, "alloc", "400"};
  request.confinement.limits.memory_bytes = uint64_t{100} << 20;
  auto job = start(request);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  ASSERT_TRUE(ended(*job));
  EXPECT_EQ((*job)->status(), JobStatus::kFailed);
  EXPECT_EQ((*job)->end_reason(), EndReason::kMemoryLimit);
  EXPECT_EQ((*job)->term_signal(), SIGKILL);
  EXPECT_EQ(output(**job), "");  // killed long before it had it all
}

TEST_F(ConfinedJobsTest, AJobWithinItsMemoryLimitIsLeftAlone) {
  ExecuteRequest request;
  request.command = std::string(TEST_CHILD_PATH) + " alloc 20 & sleep 0.5; kill $!";
  request.confinement.limits.memory_bytes = uint64_t{200} << 20;
  auto job = start(request);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  ASSERT_TRUE(ended(*job));
  EXPECT_EQ((*job)->status(), JobStatus::kCompleted);
  EXPECT_EQ((*job)->end_reason(), EndReason::kNone);
  EXPECT_EQ(output(**job), "allocated\n");
}

TEST_F(ConfinedJobsTest, ResourceLimitsReachTheJob) {
  ExecuteRequest request;
  request.argv = {"/bin/cat", "/proc/self/limits"};
  request.confinement.limits = {.cpu_seconds = 9, .open_files = 99, .file_size_bytes = 12345};
  auto job = start(request);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  ASSERT_TRUE(ended(*job));
  std::string limits = output(**job);
  EXPECT_NE(limits.find("Max open files            99                   99"), std::string::npos)
      << limits;
  EXPECT_NE(limits.find("Max file size             12345                12345"), std::string::npos)
      << limits;
  EXPECT_NE(limits.find("Max cpu time              9                    10"), std::string::npos)
      << limits;
}

TEST_F(ConfinedJobsTest, AQueuedJobIsConfinedWhenItStarts) {
  settings_.max_jobs = 1;
  ExecuteRequest first;
  first.argv = {TEST_CHILD_PATH, "sleep", "200"};
  ASSERT_TRUE(start(first).has_value());
  ExecuteRequest queued;
  queued.argv = {"/bin/cat", "/proc/self/limits"};
  queued.confinement.limits.open_files = 77;
  auto job = start(queued);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_TRUE((*job)->queued());
  ASSERT_TRUE(ended(*job));
  EXPECT_EQ((*job)->status(), JobStatus::kCompleted);
  EXPECT_NE(output(**job).find("Max open files            77                   77"),
            std::string::npos)
      << output(**job);
}

TEST_F(ConfinedJobsTest, ASandboxedJobWritesOnlyInItsRootsAndTheTempDir) {
  std::string why;
  if (sys::landlock_abi_version(&why) == 0) GTEST_SKIP() << "no Landlock here: " << why;
  fs::create_directories(dir_ / "root");
  fs::create_directories(dir_ / "elsewhere");
  settings_.confinement.allowed_roots = {dir_ / "root"};
  settings_.confinement.defaults.sandbox = true;
  // The temp dir is whatever the server sees as $TMPDIR; here: a directory of the test's own.
  fs::create_directories(dir_ / "tmp");
  ::setenv("TMPDIR", (dir_ / "tmp").c_str(), 1);
  ASSERT_TRUE(manager().check_confinement().has_value());
  ::unsetenv("TMPDIR");
  ExecuteRequest request;
  request.cwd = "root";
  request.command =
      "echo in > here && echo tmp > ../tmp/t && (echo out > ../elsewhere/x) 2>/dev/null || echo "
      "denied";
  auto job = start(request);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  ASSERT_TRUE(ended(*job));
  EXPECT_EQ(output(**job), "denied\n");
  EXPECT_TRUE(fs::exists(dir_ / "root" / "here"));
  EXPECT_TRUE(fs::exists(dir_ / "tmp" / "t"));
  EXPECT_FALSE(fs::exists(dir_ / "elsewhere" / "x"));
}

class CgroupJobsTest : public ConfinedJobsTest {
 protected:
  void SetUp() override {
    ConfinedJobsTest::SetUp();
    settings_.confinement.defaults.limits.processes = 10;
    auto checked = manager().check_confinement();
    if (!checked) GTEST_SKIP() << checked.error().message;
  }
  static fs::path server_dir() {
    for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup/pids")) {
      if (entry.path().filename() == "mcp-background-job-" + std::to_string(::getpid())) {
        return entry.path();
      }
    }
    return {};
  }
};

TEST_F(CgroupJobsTest, KillReachesWhatLeftTheGroupAndTheCgroupGoesWithTheJob) {
  ExecuteRequest request;
  request.command = "setsid sleep 60 > /dev/null 2>&1 < /dev/null & echo $!; wait";
  auto job = start(request);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  fs::path cgroup;
  if (fs::path parent = server_dir(); !parent.empty()) cgroup = parent / (*job)->id();
  ASSERT_TRUE(test::run_until(io_, [&] { return output(**job).find('\n') != std::string::npos; }));
  pid_t escaped = std::stoi(output(**job));
  ASSERT_TRUE(test::run_until(io_, [&] { return ::getsid(escaped) == escaped; }));
  if (!cgroup.empty()) {
    EXPECT_TRUE(fs::exists(cgroup / "pids.max"));
  }

  (*job)->kill(SIGTERM, 5s);
  ASSERT_TRUE(ended(*job));
  // The sleeper is gone too, though no group signal could reach it.
  EXPECT_TRUE(test::run_until(io_, [&] { return test::process_gone(escaped); }));
  if (!cgroup.empty()) {
    EXPECT_TRUE(test::run_until(io_, [&] { return !fs::exists(cgroup); }));
  }
}

TEST_F(CgroupJobsTest, ShutdownEndsWhatFinishedJobsLeftInTheirCgroupsAndRemovesThem) {
  ExecuteRequest request;
  request.command = "setsid sleep 60 > /dev/null 2>&1 < /dev/null & echo $!";
  auto job = start(request);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  ASSERT_TRUE(ended(*job));
  EXPECT_EQ((*job)->status(), JobStatus::kCompleted);
  pid_t escaped = std::stoi(output(**job));
  EXPECT_FALSE(test::process_gone(escaped));  // finished jobs leave it alone...
  fs::path parent = server_dir();
  bool done = false;
  boost::asio::co_spawn(
      io_,
      [&]() -> boost::asio::awaitable<void> {
        co_await manager().shutdown(1s);
        done = true;
      },
      boost::asio::detached);
  ASSERT_TRUE(test::run_until(io_, [&] { return done; }));
  EXPECT_TRUE(test::run_until(io_, [&] { return test::process_gone(escaped); }));  // ...shutdown
  manager_.reset();
  if (!parent.empty()) {
    EXPECT_FALSE(fs::exists(parent));
  }
}

// Some programs take a second TERM or INT as "force": kill signals each process once, though
// the job's group, its walk and its cgroup all name it. Real-time signals queue, so the child
// counts every one that reached it; SIGRTMIN+1, sent after kill returned, comes after them.
TEST_F(CgroupJobsTest, KillSignalsEachProcessOnce) {
  ExecuteRequest running;
  running.argv = {TEST_CHILD_PATH, "count-signals"};
  auto job = start(running);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  ASSERT_TRUE(test::run_until(io_, [&] { return output(**job) == "ready\n"; }));
  EXPECT_EQ((*job)->kill(SIGRTMIN, 5s), Job::SignalResult::kSignalled);
  ASSERT_EQ(::kill((*job)->pid(), SIGRTMIN + 1), 0);
  ASSERT_TRUE(ended(*job));
  EXPECT_EQ(output(**job), "ready\nSIGRTMIN x1\n");

  // What a finished job left behind: signalled by pidfd, and in the cgroup too.
  ExecuteRequest left_behind;
  left_behind.command = std::string(TEST_CHILD_PATH) + " count-signals & echo $! >&2";
  job = start(left_behind);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  ASSERT_TRUE(test::run_until(io_, [&] { return (*job)->finished(); }));  // its output stays open
  ASSERT_TRUE(test::run_until(io_, [&] {
    std::string seen = output(**job);  // "ready" and the pid, in either order
    return seen.find("ready\n") != std::string::npos &&
           seen.find_first_of("0123456789") != std::string::npos;
  }));
  std::string before = output(**job);
  pid_t left = std::stoi(before.substr(before.find_first_of("0123456789")));
  EXPECT_EQ((*job)->kill(SIGRTMIN, 5s), Job::SignalResult::kSignalled);
  ASSERT_EQ(::kill(left, SIGRTMIN + 1), 0);
  ASSERT_TRUE(test::run_until(io_, [&] { return test::process_gone(left); }));
  EXPECT_NE(output(**job).find("SIGRTMIN x1\n"), std::string::npos) << output(**job);
}

TEST_F(CgroupJobsTest, AForkBombStaysWithinTheProcessLimit) {
  ExecuteRequest request;
  // Bounded (at most 200 sleepers), never an unbounded bomb on a shared machine.
  request.command = "for i in $(seq 200); do sleep 60 & done 2>/dev/null; wait";
  request.confinement.limits.processes = 5;
  auto job = start(request);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  fs::path cgroup = server_dir() / (*job)->id();
  // The shell gives up when a fork fails; whatever it started stays within the limit.
  ASSERT_TRUE(test::run_until(io_, [&] { return !(*job)->running(); }));
  std::ifstream peak(cgroup / "pids.peak");
  int most = 0;
  if (peak >> most) {
    EXPECT_LE(most, 5);
  }
  (*job)->kill(SIGKILL, 0s);
  ASSERT_TRUE(ended(*job));
}

}  // namespace
}  // namespace jobs

#include "jobs/job_manager.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "helpers/fd_leak_check.h"
#include "helpers/process_probe.h"
#include "helpers/run_until.h"

namespace jobs {
namespace {

using namespace std::chrono_literals;

class JobManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);  // job start/end lines would drown test output
    test::open_reactor(io_);
    fds_before_ = test::open_fd_count();
    char pattern[] = "/tmp/mcpbg-jobs-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    settings_.working_dir = dir_;
    settings_.cleanup_interval = 1h;
  }
  void TearDown() override {
    if (manager_) {  // a failed test may leave jobs running: never leave them behind
      for (const auto& job : manager_->jobs_newest_first()) {
        if (job->running()) job->kill(SIGKILL, 0ms);
      }
      test::run_until(io_, [&] { return manager_->running_count() == 0; });
    }
    manager_.reset();
    io_.run_for(10ms);  // let cancelled operations complete so their fds are released
    std::filesystem::remove_all(dir_);
    EXPECT_EQ(test::open_fd_count(), fds_before_) << "file descriptors leaked";
  }

  JobManager& manager() {
    if (!manager_) manager_ = std::make_unique<JobManager>(io_.get_executor(), settings_);
    return *manager_;
  }
  std::shared_ptr<Job> run(std::string command) {
    ExecuteRequest request;
    request.command = std::move(command);
    auto job = manager().execute(request);
    EXPECT_TRUE(job.has_value()) << (job ? "" : job.error().message);
    return job ? *job : nullptr;
  }
  std::shared_ptr<Job> run_child(std::vector<std::string> args) {
    ExecuteRequest request;
    request.argv = {TEST_CHILD_PATH};
    request.argv.insert(request.argv.end(), args.begin(), args.end());
    auto job = manager().execute(request);
    EXPECT_TRUE(job.has_value()) << (job ? "" : job.error().message);
    return job ? *job : nullptr;
  }
  bool finished(const std::shared_ptr<Job>& job) {
    return test::run_until(io_, [&] { return !job->running() && !job->output_open(); });
  }
  std::string all_output(const Job& job) {
    return job.output().read(0, 1 << 30, StreamFilter::kBoth).bytes;
  }

  boost::asio::io_context io_;
  EngineSettings settings_;
  std::unique_ptr<JobManager> manager_;
  std::filesystem::path dir_;
  size_t fds_before_ = 0;
};

TEST_F(JobManagerTest, RunsAShellCommandAndSeesItsExit) {
  auto job = run("echo hello && echo oops >&2 && exit 3");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->status(), JobStatus::kRunning);
  ASSERT_TRUE(finished(job));
  EXPECT_EQ(job->status(), JobStatus::kFailed);
  EXPECT_EQ(job->exit_code(), 3);
  EXPECT_EQ(all_output(*job), "hello\noops\n");
  EXPECT_EQ(manager().running_count(), 0);
}

TEST_F(JobManagerTest, ShellSyntaxCwdAndEnvironmentWork) {
  std::filesystem::create_directory(dir_ / "sub");
  std::ofstream(dir_ / "sub" / "a.txt") << "x";
  ExecuteRequest request;
  request.command = "cd sub && ls *.txt && echo \"$GREETING\" | tr a-z A-Z";
  request.env["GREETING"] = "hi there";
  auto job = manager().execute(request);
  ASSERT_TRUE(job.has_value());
  ASSERT_TRUE(finished(*job));
  EXPECT_EQ((*job)->status(), JobStatus::kCompleted);
  EXPECT_EQ(all_output(**job), "a.txt\nHI THERE\n");
  EXPECT_EQ((*job)->spec().cwd, dir_);
}

TEST_F(JobManagerTest, ArgvRunsWithoutAShell) {
  ExecuteRequest request;
  request.argv = {"echo", "$HOME", "a b"};
  auto job = manager().execute(request);
  ASSERT_TRUE(job.has_value());
  ASSERT_TRUE(finished(*job));
  EXPECT_EQ(all_output(**job), "$HOME a b\n");
  EXPECT_EQ((*job)->spec().command, "echo '$HOME' 'a b'");
}

TEST_F(JobManagerTest, AProgramThatCannotStartIsAnErrorAndNotRegistered) {
  ExecuteRequest missing;
  missing.argv = {"definitely-not-a-program-xyz"};
  auto result = manager().execute(missing);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("not found on PATH"), std::string::npos);

  ExecuteRequest bad_cwd;
  bad_cwd.command = "true";
  bad_cwd.cwd = "/nonexistent/dir";
  result = manager().execute(bad_cwd);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("/nonexistent/dir"), std::string::npos);

  ExecuteRequest not_executable;
  std::ofstream(dir_ / "plain.txt") << "not a program";
  not_executable.argv = {(dir_ / "plain.txt").string()};
  result = manager().execute(not_executable);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("permission denied"), std::string::npos);

  EXPECT_TRUE(manager().jobs_newest_first().empty());
  EXPECT_EQ(manager().running_count(), 0);
}

TEST_F(JobManagerTest, KillReachesGrandchildren) {
  auto pidfile = dir_ / "grandchild.pid";
  auto job = run_child({"grandchild", pidfile.string()});
  ASSERT_TRUE(test::run_until(io_, [&] {
    std::ifstream in(pidfile);
    pid_t pid = 0;
    return static_cast<bool>(in >> pid) && pid > 0;
  }));
  pid_t grandchild = 0;
  std::ifstream(pidfile) >> grandchild;
  EXPECT_EQ(job->kill(SIGTERM, 5s), Job::SignalResult::kSignalled);
  ASSERT_TRUE(finished(job));
  EXPECT_EQ(job->status(), JobStatus::kKilled);
  EXPECT_EQ(job->term_signal(), SIGTERM);
  EXPECT_TRUE(test::run_until(io_, [&] { return test::process_gone(grandchild); }));
}

TEST_F(JobManagerTest, KillEscalatesWhenTermIsIgnored) {
  auto job = run_child({"ignore-term"});
  ASSERT_TRUE(test::run_until(io_, [&] { return job->output().total_bytes() >= 6; }));
  EXPECT_EQ(job->kill(SIGTERM, 100ms), Job::SignalResult::kSignalled);
  ASSERT_TRUE(finished(job));
  EXPECT_EQ(job->status(), JobStatus::kKilled);
  EXPECT_EQ(job->term_signal(), SIGKILL);
  EXPECT_EQ(job->kill(SIGTERM, 100ms), Job::SignalResult::kAlreadyTerminated);
}

TEST_F(JobManagerTest, DeathBySignalWeDidNotSendIsFailure) {
  auto job = run("kill -SEGV $$");
  ASSERT_TRUE(finished(job));
  EXPECT_EQ(job->status(), JobStatus::kFailed);
  EXPECT_EQ(job->term_signal(), SIGSEGV);
  EXPECT_FALSE(job->exit_code().has_value());
}

TEST_F(JobManagerTest, StdinReachesTheJob) {
  auto job = run_child({"echo"});
  ASSERT_TRUE(job->write_stdin("one\ntwo\n", /*close_after=*/true).has_value());
  ASSERT_TRUE(finished(job));
  EXPECT_EQ(job->status(), JobStatus::kCompleted);
  EXPECT_EQ(all_output(*job), "got: one\ngot: two\n");
  EXPECT_FALSE(job->write_stdin("late", false).has_value());
}

TEST_F(JobManagerTest, InputToAJobThatNeverReadsIsBoundedAndNeverBlocks) {
  settings_.limits.stdin_buffer_size = 64 * 1024;
  auto job = run_child({"no-stdin"});
  std::string chunk(16 * 1024, 'z');
  int accepted = 0;
  // The pipe takes up to its capacity; then the queue fills; then input is refused, at once.
  for (int i = 0; i < 100; ++i) {
    if (!job->write_stdin(chunk, false)) break;
    ++accepted;
    io_.poll();
  }
  EXPECT_LT(accepted, 100);
  auto refused = job->write_stdin(chunk, false);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("stdin buffer"), std::string::npos);
  job->kill(SIGKILL, 0ms);
  ASSERT_TRUE(finished(job));
}

TEST_F(JobManagerTest, EnforcesTheRunningJobLimit) {
  settings_.max_jobs = 2;
  auto a = run("sleep 30");
  auto b = run("sleep 30");
  ExecuteRequest third;
  third.command = "true";
  auto refused = manager().execute(third);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("max_jobs"), std::string::npos);
  a->kill(SIGKILL, 0ms);
  ASSERT_TRUE(finished(a));
  EXPECT_TRUE(manager().execute(third).has_value());  // a finished job frees its slot at once
  b->kill(SIGKILL, 0ms);
  ASSERT_TRUE(finished(b));
}

TEST_F(JobManagerTest, EvictsTheOldestFinishedJobsBeyondTheLimit) {
  settings_.max_finished = 2;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto job = run("true");
    ids.push_back(job->id());
    ASSERT_TRUE(finished(job));
  }
  ASSERT_TRUE(test::run_until(io_, [&] { return manager().find(ids[0]) == nullptr; }));
  EXPECT_TRUE(manager().find(ids[1]));
  EXPECT_TRUE(manager().find(ids[2]));
}

TEST_F(JobManagerTest, EvictsFinishedJobsAfterTheRetention) {
  settings_.retention = 0ms;
  auto job = run("true");
  std::string id = job->id();
  ASSERT_TRUE(finished(job));
  manager().evict_expired();
  EXPECT_EQ(manager().find(id), nullptr);
}

TEST_F(JobManagerTest, ShutdownStopsEveryJobAndWhatItStarted) {
  auto pidfile = dir_ / "grandchild.pid";
  auto stubborn = run_child({"ignore-term"});
  auto parent = run_child({"grandchild", pidfile.string()});
  auto plain = run("sleep 30");
  ASSERT_TRUE(test::run_until(io_, [&] { return std::filesystem::exists(pidfile) &&
                                                std::filesystem::file_size(pidfile) > 0 &&
                                                stubborn->output().total_bytes() >= 6; }));
  pid_t grandchild = 0;
  std::ifstream(pidfile) >> grandchild;

  bool done = false;
  boost::asio::co_spawn(io_, manager().shutdown(200ms), [&](std::exception_ptr) { done = true; });
  ASSERT_TRUE(test::run_until(io_, [&] { return done; }));
  for (const auto& job : {stubborn, parent, plain}) {
    EXPECT_FALSE(job->running());
    EXPECT_EQ(job->status(), JobStatus::kKilled);
  }
  EXPECT_TRUE(test::run_until(io_, [&] { return test::process_gone(grandchild); }));
  ExecuteRequest late;
  late.command = "true";
  EXPECT_FALSE(manager().execute(late).has_value());
}

TEST_F(JobManagerTest, StatusFollowsTheMainProcessWhenAGrandchildHoldsThePipes) {
  auto job = run("sleep 30 & echo started");
  ASSERT_TRUE(test::run_until(io_, [&] { return !job->running(); }));
  EXPECT_EQ(job->status(), JobStatus::kCompleted);
  EXPECT_TRUE(job->output_open());  // the sleep still holds stdout
  // The job has ended, but kill still reaches what it left behind holding its output.
  EXPECT_EQ(job->kill(SIGKILL, 0ms), Job::SignalResult::kAlreadyTerminated);
  EXPECT_TRUE(test::run_until(io_, [&] { return !job->output_open(); }));
  EXPECT_EQ(all_output(*job), "started\n");
}

TEST_F(JobManagerTest, SeesWhenAJobWaitsForInputAndWhatItUses) {
  auto reader = run("i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; read answer; echo $answer");
  auto sleeper = run("sleep 30");
  // Blocked in read(0) on its own stdin: visible in /proc, without guessing from the output.
  ASSERT_TRUE(test::run_until(io_, [&] {
    auto stats = reader->tree_stats();
    return stats && stats->waiting_for_input;
  }));
  auto stats = *reader->tree_stats();
  EXPECT_GT(stats.cpu_seconds, 0.0);  // the loop burned CPU before it read
  EXPECT_GT(stats.rss_bytes, 0u);
  EXPECT_GE(stats.processes, 1);
  ASSERT_TRUE(test::run_until(io_, [&] { return sleeper->tree_stats()->processes >= 1; }));
  EXPECT_FALSE(sleeper->tree_stats()->waiting_for_input);  // sleeping, not reading

  ASSERT_TRUE(reader->write_stdin("yes\n", false).has_value());
  ASSERT_TRUE(finished(reader));
  EXPECT_FALSE(reader->tree_stats().has_value());  // nothing to measure once it has exited
  EXPECT_EQ(all_output(*reader), "yes\n");
  sleeper->kill(SIGKILL, 0ms);
  ASSERT_TRUE(finished(sleeper));
}

TEST_F(JobManagerTest, CountsTheWholeProcessTree) {
  auto job = run("sleep 30 & sleep 30 & wait");
  ASSERT_TRUE(test::run_until(io_, [&] { return job->tree_stats()->processes == 3; }));
  job->kill(SIGKILL, 0ms);
  ASSERT_TRUE(finished(job));
}

TEST_F(JobManagerTest, EveryFastJobIsSeenToEnd) {
  // A job that exits before its watchers first wait must still be seen to end (an edge that
  // fired early must not be lost), alone and many at once.
  settings_.max_jobs = 100;
  for (int i = 0; i < 200; ++i) {
    auto job = run("true");
    ASSERT_TRUE(finished(job)) << "job " << i << " never seen to end";
    EXPECT_EQ(job->status(), JobStatus::kCompleted);
  }
  std::vector<std::shared_ptr<Job>> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(run("echo " + std::to_string(i)));
  for (const auto& job : batch) {
    ASSERT_TRUE(finished(job));
    EXPECT_EQ(job->output().total_bytes(), job->spec().command.size() - 5 + 1);
  }
}

}  // namespace
}  // namespace jobs

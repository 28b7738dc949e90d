#include "jobs/job_manager.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "helpers/fd_leak_check.h"
#include "helpers/process_probe.h"
#include "helpers/run_until.h"
#include "helpers/scratch_dir.h"

namespace jobs {
namespace {

using namespace std::chrono_literals;

class JobManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);  // job start/end lines would drown test output
    test::open_reactor(io_);
    fds_before_ = test::open_fd_count();
    dir_ = scratch_.path();
    settings_.working_dir = dir_;
    settings_.cleanup_interval = 1h;
  }
  void TearDown() override {
    if (manager_) {  // a failed test may leave jobs running: never leave them behind
      for (const auto& job : manager_->jobs_newest_first()) {
        // Finished jobs too: what they left behind is still theirs.
        if (job->has_started()) job->kill(SIGKILL, 0ms);
      }
      test::run_until(io_, [&] { return manager_->running_count() == 0; });
    }
    manager_.reset();
    io_.run_for(10ms);  // let cancelled operations complete so their fds are released
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
  std::shared_ptr<Job> run_pty(std::vector<std::string> argv, sys::TerminalSize size = {},
                               std::map<std::string, std::string> env = {}) {
    ExecuteRequest request;
    request.argv = std::move(argv);
    request.terminal = size;
    request.env = std::move(env);
    auto job = manager().execute(request);
    EXPECT_TRUE(job.has_value()) << (job ? "" : job.error().message);
    return job ? *job : nullptr;
  }
  bool output_ends_with(const Job& job, std::string_view suffix) {
    return test::run_until(io_, [&] { return all_output(job).ends_with(suffix); });
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
  test::ScratchDir scratch_{"mcpbg-jobs"};
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
  pid_t grandchild = 0;
  ASSERT_TRUE(test::run_until(io_, [&] { return (grandchild = test::pid_in_file(pidfile)) > 0; }));
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

TEST_F(JobManagerTest, EnforcesTheRunningJobLimitWithoutAQueue) {
  settings_.max_jobs = 2;
  settings_.queue = false;
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

std::shared_ptr<Job> queue_request(JobManager& manager, std::string command, int priority = 0) {
  ExecuteRequest request;
  request.command = std::move(command);
  request.priority = priority;
  auto job = manager.execute(request);
  EXPECT_TRUE(job.has_value()) << (job ? "" : job.error().message);
  return job ? *job : nullptr;
}

TEST_F(JobManagerTest, QueuesBeyondTheLimitAndStartsByPriorityThenArrival) {
  settings_.max_jobs = 1;
  auto blocker = run("sleep 30");
  auto low = queue_request(manager(), "echo low", -1);
  auto first = queue_request(manager(), "echo first");
  auto second = queue_request(manager(), "echo second");
  auto urgent = queue_request(manager(), "echo urgent", 5);
  for (const auto& job : {low, first, second, urgent}) {
    EXPECT_EQ(job->status(), JobStatus::kQueued);
    EXPECT_FALSE(job->has_started());
  }
  EXPECT_EQ(manager().queued_count(), 4);
  EXPECT_EQ(manager().queue_position(urgent->id()), 1);
  EXPECT_EQ(manager().queue_position(first->id()), 2);
  EXPECT_EQ(manager().queue_position(second->id()), 3);
  EXPECT_EQ(manager().queue_position(low->id()), 4);
  EXPECT_EQ(manager().running_count(), 1);

  // Each job starts only when the one before it has ended (one slot): their start times order
  // them.
  blocker->kill(SIGKILL, 0ms);
  ASSERT_TRUE(test::run_until(io_, [&] { return low->finished(); }));
  std::vector<std::shared_ptr<Job>> expected = {urgent, first, second, low};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i]->status(), JobStatus::kCompleted);
    if (i > 0) {
      EXPECT_LE(*expected[i - 1]->ended(), expected[i]->started())
          << expected[i - 1]->spec().command << " ended after " << expected[i]->spec().command
          << " started";
    }
  }
  EXPECT_EQ(manager().queued_count(), 0);
}

TEST_F(JobManagerTest, CancellingAQueuedJobEndsItWithoutRunning) {
  settings_.max_jobs = 1;
  auto blocker = run("sleep 30");
  auto queued = queue_request(manager(), "touch ran");
  int ended = 0;
  manager().on_job_end([&](const Job&) { ++ended; });
  EXPECT_TRUE(manager().cancel_queued(queued->id()));
  EXPECT_FALSE(manager().cancel_queued(queued->id()));
  EXPECT_FALSE(manager().cancel_queued(blocker->id())) << "only queued jobs are cancelled";
  EXPECT_EQ(queued->status(), JobStatus::kCancelled);
  EXPECT_TRUE(queued->ended());
  EXPECT_EQ(ended, 1);
  EXPECT_EQ(queued->kill(SIGTERM, 0ms), Job::SignalResult::kAlreadyTerminated);
  blocker->kill(SIGKILL, 0ms);
  ASSERT_TRUE(finished(blocker));
  io_.run_for(50ms);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir_) / "ran"));
}

TEST_F(JobManagerTest, AFullQueueRefusesNamingMaxQueued) {
  settings_.max_jobs = 1;
  settings_.max_queued = 1;
  auto blocker = run("sleep 30");
  queue_request(manager(), "true");
  ExecuteRequest another;
  another.command = "true";
  auto refused = manager().execute(another);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("max_queued = 1"), std::string::npos)
      << refused.error().message;
  blocker->kill(SIGKILL, 0ms);
}

TEST_F(JobManagerTest, AQueuedJobThatCannotStartFailsWithTheReason) {
  settings_.max_jobs = 1;
  auto blocker = run("sleep 30");
  ExecuteRequest request;
  request.argv = {"/nonexistent/program"};
  auto job = manager().execute(request);
  ASSERT_TRUE(job);
  std::optional<JobStatus> status_at_end;
  manager().on_job_end([&](const Job& ended) {
    if (ended.id() == (*job)->id()) status_at_end = ended.status();
  });
  blocker->kill(SIGKILL, 0ms);
  ASSERT_TRUE(test::run_until(io_, [&] { return (*job)->finished(); }));
  EXPECT_EQ((*job)->status(), JobStatus::kFailed);
  EXPECT_NE((*job)->start_error().find("does not exist"), std::string::npos)
      << (*job)->start_error();
  EXPECT_EQ(status_at_end, JobStatus::kFailed);
  EXPECT_EQ(manager().running_count(), 0);
}

TEST_F(JobManagerTest, ShutdownCancelsQueuedJobs) {
  settings_.max_jobs = 1;
  run("sleep 30");
  auto queued = queue_request(manager(), "true");
  bool done = false;
  boost::asio::co_spawn(io_, manager().shutdown(100ms), [&](std::exception_ptr) { done = true; });
  ASSERT_TRUE(test::run_until(io_, [&] { return done; }));
  EXPECT_EQ(queued->status(), JobStatus::kCancelled);
}

TEST_F(JobManagerTest, RateLimitRefusesWithTheRuleAndTheWait) {
  settings_.max_starts_per_minute = 2;
  run("true");
  run("true");
  ExecuteRequest third;
  third.command = "true";
  auto refused = manager().execute(third);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().rule, "max_starts_per_minute");
  EXPECT_NE(refused.error().message.find("next start is possible in"), std::string::npos)
      << refused.error().message;
  // A refusal for another reason costs no token.
  settings_.max_starts_per_minute = 1;
  manager_.reset();
  ExecuteRequest bad;
  bad.command = "true";
  bad.cwd = "/nonexistent";
  EXPECT_FALSE(manager().execute(bad));
  EXPECT_TRUE(manager().execute(third));
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
  pid_t grandchild = 0;
  ASSERT_TRUE(test::run_until(io_, [&] {
    grandchild = test::pid_in_file(pidfile);
    return grandchild > 0 && stubborn->output().total_bytes() >= 6;
  }));

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
  EXPECT_TRUE(job->output_open());      // the sleep still holds stdout
  EXPECT_EQ(job->processes_left(), 1);  // and is still the job's
  // The job has ended, but kill still reaches what it left behind.
  EXPECT_EQ(job->kill(SIGKILL, 0ms), Job::SignalResult::kSignalled);
  EXPECT_TRUE(test::run_until(io_, [&] { return !job->output_open(); }));
  EXPECT_EQ(all_output(*job), "started\n");
}

TEST_F(JobManagerTest, AJobThatLeftProcessesBehindIsKeptUntilTheyAreGone) {
  settings_.max_finished = 0;  // finished jobs are forgotten at once: unless they hold processes
  auto job = run("setsid sleep 30 > /dev/null 2>&1 < /dev/null & echo $!");
  ASSERT_TRUE(test::run_until(io_, [&] { return !job->running() && !job->output_open(); }));
  EXPECT_EQ(job->status(), JobStatus::kCompleted);
  pid_t left = std::stoi(all_output(*job));
  EXPECT_FALSE(test::process_gone(left));
  EXPECT_EQ(job->processes_left(), 1);
  ASSERT_EQ(manager().find(job->id()), job) << "forgotten while its process still runs";
  ASSERT_TRUE(job->tree_stats().has_value());
  EXPECT_EQ(job->tree_stats()->processes, 1);  // its figures are those of what it left
  EXPECT_EQ(job->kill(SIGTERM, 5s), Job::SignalResult::kSignalled);
  EXPECT_TRUE(test::run_until(io_, [&] { return test::process_gone(left); }));
  // Once nothing of it is left, it is over: forgotten like any other finished job.
  EXPECT_TRUE(test::run_until(io_, [&] { return manager().find(job->id()) == nullptr; }));
  EXPECT_EQ(job->processes_left(), 0);
  EXPECT_EQ(job->status(), JobStatus::kCompleted);  // the main process's, whatever came after
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

TEST_F(JobManagerTest, SeesWhenAJobOnATerminalWaitsForInput) {
  ExecuteRequest request;
  request.command = "read answer; echo got $answer";
  request.terminal = sys::TerminalSize{};
  auto job = manager().execute(request);
  ASSERT_TRUE(job.has_value());
  // Its fd 0 is the terminal's slave side, not the master the server holds.
  ASSERT_TRUE(test::run_until(io_, [&] {
    auto stats = (*job)->tree_stats();
    return stats && stats->waiting_for_input;
  }));
  ASSERT_TRUE((*job)->write_stdin("yes\n", false).has_value());
  ASSERT_TRUE(finished(*job));
  EXPECT_NE(all_output(**job).find("got yes"), std::string::npos);
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

// Sets (or unsets, for nullopt) an environment variable of this process for one test: jobs
// inherit the server's environment.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

constexpr const char* kShowEnv =
    "echo \"TERM=${TERM-unset} NO_COLOR=${NO_COLOR-unset} PAGER=${PAGER-unset} "
    "GIT_PAGER=${GIT_PAGER-unset}\"";

TEST_F(JobManagerTest, PtyJobRunsOnATerminalOfTheRequestedSize) {
  ScopedEnv term("TERM", "server-term");
  ScopedEnv no_color("NO_COLOR", std::nullopt);
  auto job = run_pty({"/bin/sh", "-c",
                      "test -t 0 && test -t 1 && test -t 2 && echo tty; stty size; "
                      "echo \"TERM=$TERM NO_COLOR=${NO_COLOR-unset}\"; echo err >&2"},
                     {.cols = 100, .rows = 30});
  ASSERT_TRUE(job);
  EXPECT_TRUE(job->has_terminal());
  ASSERT_TRUE(finished(job));
  EXPECT_EQ(job->status(), JobStatus::kCompleted);
  // One stream, recorded as stdout: stderr went to the same terminal.
  const std::string expected = "tty\r\n30 100\r\nTERM=xterm-256color NO_COLOR=unset\r\nerr\r\n";
  EXPECT_EQ(job->output().read(0, 1 << 20, StreamFilter::kStdout).bytes, expected);
  EXPECT_EQ(job->output().read(0, 1 << 20, StreamFilter::kStderr).bytes, "");
}

TEST_F(JobManagerTest, PtyJobDefaultSizeAndTermOverriddenByItsEnv) {
  auto job = run_pty({"/bin/sh", "-c", "stty size; echo \"TERM=$TERM\""}, {}, {{"TERM", "vt100"}});
  ASSERT_TRUE(finished(job));
  EXPECT_EQ(all_output(*job), "40 120\r\nTERM=vt100\r\n");
}

TEST_F(JobManagerTest, NonPtyJobsGetANonInteractiveEnvironmentUnlessTheirEnvSaysOtherwise) {
  ScopedEnv term("TERM", "xterm-server");
  ScopedEnv pager("PAGER", "less");
  ScopedEnv no_color("NO_COLOR", std::nullopt);
  ScopedEnv git_pager("GIT_PAGER", std::nullopt);
  auto plain = run(kShowEnv);
  ASSERT_TRUE(finished(plain));
  EXPECT_EQ(all_output(*plain), "TERM=dumb NO_COLOR=1 PAGER=cat GIT_PAGER=cat\n");

  ExecuteRequest request;
  request.command = kShowEnv;
  request.env = {{"TERM", "xterm"}, {"GIT_PAGER", "less -R"}};
  auto overridden = manager().execute(request);
  ASSERT_TRUE(overridden.has_value());
  ASSERT_TRUE(finished(*overridden));
  EXPECT_EQ(all_output(**overridden), "TERM=xterm NO_COLOR=1 PAGER=cat GIT_PAGER=less -R\n");
}

TEST_F(JobManagerTest, WithTheNonInteractiveEnvironmentOffJobsInheritTheServersValues) {
  settings_.environment.non_interactive = false;
  ScopedEnv term("TERM", "xterm-server");
  ScopedEnv pager("PAGER", "less");
  ScopedEnv no_color("NO_COLOR", std::nullopt);
  ScopedEnv git_pager("GIT_PAGER", std::nullopt);
  auto job = run(kShowEnv);
  ASSERT_TRUE(finished(job));
  EXPECT_EQ(all_output(*job), "TERM=xterm-server NO_COLOR=unset PAGER=less GIT_PAGER=unset\n");
}

TEST_F(JobManagerTest, InteractiveShellPromptArrivesWithoutNewlineAndEofEndsIt) {
  auto job = run_pty({"/bin/sh", "-i"}, {}, {{"PS1", "prompt> "}, {"ENV", ""}});
  ASSERT_TRUE(job);
  ASSERT_TRUE(output_ends_with(*job, "prompt> ")) << all_output(*job);
  uint64_t offset = job->output().total_bytes();
  ASSERT_TRUE(job->write_stdin("echo $((6*7))\n", /*close_after=*/false).has_value());
  ASSERT_TRUE(test::run_until(io_, [&] {
    return job->output().read(offset, 1 << 20, StreamFilter::kBoth).bytes.ends_with("prompt> ");
  }));
  // The terminal echoes what was typed, then the shell answers and prompts again.
  EXPECT_EQ(job->output().read(offset, 1 << 20, StreamFilter::kBoth).bytes,
            "echo $((6*7))\r\n42\r\nprompt> ");

  // eof types ^D: the terminal stays open (closing it would hang it up), the shell sees EOF.
  ASSERT_TRUE(job->write_stdin("", /*close_after=*/true).has_value());
  EXPECT_TRUE(job->stdin_open());
  ASSERT_TRUE(finished(job));
  EXPECT_EQ(job->status(), JobStatus::kCompleted);
  EXPECT_EQ(job->exit_code(), 0);
}

// A child of `parent` that is running `program` (after its exec), found through /proc.
pid_t child_running(pid_t parent, const std::string& program) {
  std::error_code error;
  for (std::filesystem::directory_iterator it("/proc", error), end; !error && it != end;
       it.increment(error)) {
    std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string content = test::read_proc_file((it->path() / "stat").string());
    auto open = content.find('(');
    auto close = content.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(content.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != 'Z' && content.substr(open + 1, close - open - 1) == program) {
      return std::stoi(name);
    }
  }
  return 0;
}

TEST_F(JobManagerTest, CtrlCOnAPtyInterruptsTheForegroundProcessGroup) {
  // sh runs sleep as a child: ^C must reach the whole foreground group, not just the leader.
  auto job = run_pty({"/bin/sh", "-c", "sleep 100; echo not-interrupted"});
  // Only once sleep has been exec'd: a ^C between sh's fork and the exec reaches sh's own handler
  // in the child, and exec forgets it (on a real terminal too).
  pid_t sleeper = 0;
  ASSERT_TRUE(test::run_until(io_, [&] {
    sleeper = child_running(job->pid(), "sleep");
    return sleeper > 0;
  }));
  ASSERT_TRUE(job->write_stdin("\x03", /*close_after=*/false).has_value());
  ASSERT_TRUE(finished(job));
  EXPECT_TRUE(test::run_until(io_, [&] { return test::process_gone(sleeper); }));
  // The line discipline sent it, not the kill tool: a signal the server did not send is failure.
  EXPECT_EQ(job->status(), JobStatus::kFailed);
  EXPECT_EQ(job->term_signal(), SIGINT);
  EXPECT_EQ(all_output(*job).find("not-interrupted"), std::string::npos);
}

TEST_F(JobManagerTest, CtrlCOnAPtyReachesAProgramRunDirectly) {
  auto job = run_pty({"sleep", "100"});
  ASSERT_TRUE(job->write_stdin("\x03", /*close_after=*/false).has_value());
  ASSERT_TRUE(finished(job));
  EXPECT_EQ(job->status(), JobStatus::kFailed);
  EXPECT_EQ(job->term_signal(), SIGINT);
  EXPECT_EQ(all_output(*job), "^C");  // the terminal echoes the key
}

TEST_F(JobManagerTest, KillReachesAPtyJobAndItsChildren) {
  auto pidfile = dir_ / "grandchild.pid";
  ExecuteRequest request;
  request.argv = {TEST_CHILD_PATH, "grandchild", pidfile.string()};
  request.terminal = sys::TerminalSize{};
  auto job = manager().execute(request);
  ASSERT_TRUE(job.has_value());
  pid_t grandchild = 0;
  ASSERT_TRUE(test::run_until(io_, [&] { return (grandchild = test::pid_in_file(pidfile)) > 0; }));
  EXPECT_EQ((*job)->kill(SIGTERM, 5s), Job::SignalResult::kSignalled);
  ASSERT_TRUE(finished(*job));
  EXPECT_EQ((*job)->status(), JobStatus::kKilled);
  EXPECT_TRUE(test::run_until(io_, [&] { return test::process_gone(grandchild); }));
}

TEST_F(JobManagerTest, WhenAPtyJobsMainProcessExitsItsTerminalHangsUpWhatItLeftBehind) {
  // On pipes, `sleep 30 &` would hold the output open for 30 s (see
  // StatusFollowsTheMainProcessWhenAGrandchildHoldsThePipes). On a terminal, the session leader's
  // exit makes the kernel send SIGHUP to the foreground group, as closing a terminal window does.
  auto job = run_pty({"/bin/sh", "-c", "sleep 30 & echo $!"});
  ASSERT_TRUE(output_ends_with(*job, "\r\n"));
  pid_t sleeper = std::stoi(all_output(*job));
  ASSERT_TRUE(finished(job));
  EXPECT_EQ(job->status(), JobStatus::kCompleted);
  EXPECT_TRUE(test::run_until(io_, [&] { return test::process_gone(sleeper); }));
}

// fds of this test process that a child inherits anyway (not close-on-exec): not the engine's.
std::set<int> inheritable_fds() {
  std::set<int> fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::stoi(entry.path().filename().string());
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) fds.insert(fd);
  }
  return fds;
}

TEST_F(JobManagerTest, PtyJobsInheritNoOtherFdsAndLeakNone) {
  auto other_pty = run_pty({"sleep", "100"});
  auto other_pipe = run("sleep 100");
  std::set<int> allowed = inheritable_fds();
  for (bool pty : {true, false}) {
    SCOPED_TRACE(pty ? "pty" : "pipes");
    ExecuteRequest request;
    request.command = "ls -1 /proc/$$/fd; true";  // `; true`: sh must not exec ls in its place
    if (pty) request.terminal = sys::TerminalSize{};
    auto job = manager().execute(request);
    ASSERT_TRUE(job.has_value());
    ASSERT_TRUE(finished(*job));
    std::istringstream lines(all_output(**job));
    std::vector<int> fds;
    for (std::string line; std::getline(lines, line);) {
      int fd = std::stoi(line);
      if (fd > 2 && allowed.contains(fd)) continue;
      fds.push_back(fd);
    }
    EXPECT_EQ(fds, (std::vector<int>{0, 1, 2})) << all_output(**job);
  }
  other_pty->kill(SIGKILL, 0ms);
  other_pipe->kill(SIGKILL, 0ms);
  ASSERT_TRUE(finished(other_pty));
  ASSERT_TRUE(finished(other_pipe));
  // TearDown checks that every fd (the masters and their copies included) was closed.
}

}  // namespace
}  // namespace jobs

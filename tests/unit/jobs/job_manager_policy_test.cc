// The engine and the operator's policy: every job is checked before anything is spawned, a
// refusal carries its rule and registers nothing, and what runs is what was checked.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>

#include "helpers/fd_leak_check.h"
#include "helpers/run_until.h"
#include "helpers/scratch_dir.h"
#include "jobs/job_manager.h"

namespace jobs {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class JobManagerPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    test::open_reactor(io_);
    fds_before_ = test::open_fd_count();
    dir_ = fs::canonical(scratch_.path());
    settings_.working_dir = dir_;
    settings_.cleanup_interval = 1h;
  }
  void TearDown() override {
    if (manager_) {
      for (const auto& job : manager_->jobs_newest_first()) {
        if (job->running()) job->kill(SIGKILL, 0ms);
      }
      test::run_until(io_, [&] { return manager_->running_count() == 0; });
    }
    manager_.reset();
    io_.run_for(10ms);
    EXPECT_EQ(test::open_fd_count(), fds_before_) << "file descriptors leaked";
  }

  void use_policy(policy::CommandRules rules) {
    auto built = policy::CommandPolicy::create(std::move(rules), dir_, "/usr/bin:/bin");
    ASSERT_TRUE(built.has_value()) << built.error().message;
    settings_.policy = std::make_shared<const policy::CommandPolicy>(std::move(*built));
  }
  JobManager& manager() {
    if (!manager_) manager_ = std::make_unique<JobManager>(io_.get_executor(), settings_);
    return *manager_;
  }
  std::string output_of(const std::shared_ptr<Job>& job) {
    EXPECT_TRUE(test::run_until(io_, [&] { return !job->running() && !job->output_open(); }));
    return job->output().read(0, 1 << 20, StreamFilter::kBoth).bytes;
  }

  boost::asio::io_context io_;
  EngineSettings settings_;
  std::unique_ptr<JobManager> manager_;
  test::ScratchDir scratch_{"mcpbg-jobs-policy"};
  fs::path dir_;
  size_t fds_before_ = 0;
};

TEST_F(JobManagerPolicyTest, ARefusalCarriesItsRuleAndNothingIsSpawnedOrRegistered) {
  use_policy({.denied_commands = {"touch"}});
  ExecuteRequest request;
  request.command = "touch " + (dir_ / "made").string();
  auto refused = manager().execute(request);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().rule, "denied_commands: touch");
  EXPECT_TRUE(manager().jobs_newest_first().empty());
  EXPECT_EQ(manager().running_count(), 0);
  EXPECT_FALSE(fs::exists(dir_ / "made"));
}

TEST_F(JobManagerPolicyTest, TheRunningLimitDoesNotHideARefusal) {
  settings_.max_jobs = 1;
  use_policy({.shell = false});
  ExecuteRequest sleeper;
  sleeper.argv = {"sleep", "30"};
  ASSERT_TRUE(manager().execute(sleeper).has_value());
  ExecuteRequest shell;
  shell.command = "true";
  auto refused = manager().execute(shell);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().rule, "shell: false");  // not "max_jobs reached"
}

TEST_F(JobManagerPolicyTest, TheCheckedRealPathIsWhatRunsAndTheJobRunsInItsRealCwd) {
  use_policy({.allowed_programs = {"echo"}, .shell = false});
  fs::create_directory(dir_ / "bin");
  fs::create_directory(dir_ / "real");
  fs::create_directory_symlink(dir_ / "real", dir_ / "link");
  fs::create_symlink(fs::canonical("/bin/echo"), dir_ / "bin" / "say");
  ExecuteRequest request;
  request.argv = {"say", "hi"};
  request.env = {{"PATH", (dir_ / "bin").string()}};
  request.cwd = "link";
  auto job = manager().execute(request);
  ASSERT_TRUE(job.has_value()) << job.error().message;
  EXPECT_EQ((*job)->spec().program, fs::canonical("/bin/echo").string());
  EXPECT_EQ((*job)->spec().cwd, dir_ / "real");
  EXPECT_EQ((*job)->spec().argv[0], "say") << "argv[0] is passed as given";
  EXPECT_EQ(output_of(*job), "hi\n");
}

TEST_F(JobManagerPolicyTest, TheProgramIsLookedUpOnThePathTheJobWillHave) {
  // minimal inheritance and the job's own PATH: the policy sees the environment the job gets.
  use_policy({.allowed_programs = {"echo"}});
  settings_.environment.inheritance = policy::EnvInheritance::kMinimal;
  ExecuteRequest request;
  request.argv = {"echo", "x"};
  request.env = {{"PATH", "/nonexistent"}};
  auto missing = manager().execute(request);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("not found on PATH (/nonexistent)"), std::string::npos)
      << missing.error().message;
}

TEST_F(JobManagerPolicyTest, ExcludedVariablesAreNotInheritedButMayBeGiven) {
  ::setenv("MCPBG_TEST_API_TOKEN", "server-secret", 1);
  ::setenv("MCPBG_TEST_PLAIN", "plain", 1);
  settings_.environment.exclude = {"*token*"};
  ExecuteRequest request;
  request.command = "echo \"${MCPBG_TEST_API_TOKEN-unset} $MCPBG_TEST_PLAIN\"";
  auto inherited = manager().execute(request);
  ASSERT_TRUE(inherited.has_value());
  EXPECT_EQ(output_of(*inherited), "unset plain\n");
  request.env = {{"MCPBG_TEST_API_TOKEN", "given"}};
  auto given = manager().execute(request);
  ASSERT_TRUE(given.has_value());
  EXPECT_EQ(output_of(*given), "given plain\n");
  ::unsetenv("MCPBG_TEST_API_TOKEN");
  ::unsetenv("MCPBG_TEST_PLAIN");
}

TEST_F(JobManagerPolicyTest, ANulByteIsRefusedSinceExecWouldCutTheStringThere) {
  // With a NUL, what runs would be a prefix of what the policy checked.
  use_policy({.allowed_commands = {"echo .*"}});
  ExecuteRequest command;
  command.command = std::string("echo ok\0; touch x", 17);
  auto refused = manager().execute(command);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message,
            "'command' contains a NUL byte (\\u0000), which no program can receive; remove it");
  ExecuteRequest argv;
  argv.argv = {"echo", std::string("a\0b", 3)};
  auto in_argv = manager().execute(argv);
  ASSERT_FALSE(in_argv.has_value());
  EXPECT_NE(in_argv.error().message.find("argv[1] contains a NUL byte"), std::string::npos);
  EXPECT_TRUE(manager().jobs_newest_first().empty());
}

}  // namespace
}  // namespace jobs

// JobManager's observers: every one registered hears every job end, and start and eviction are
// reported as changes to the set of jobs.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>

#include "helpers/run_until.h"
#include "jobs/job_manager.h"

namespace jobs {
namespace {

TEST(JobManagerObservers, AllHearEveryEndAndEveryChangeToTheSet) {
  spdlog::set_level(spdlog::level::warn);
  boost::asio::io_context io;
  JobManager manager(io.get_executor(), EngineSettings{.working_dir = "/tmp", .max_finished = 1});
  std::vector<std::string> ended_a, ended_b, changes;
  manager.on_job_end([&](const Job& job) { ended_a.push_back(job.id()); });
  manager.on_job_end([&](const Job& job) { ended_b.push_back(job.id()); });
  manager.on_jobs_changed(
      [&](const std::string& id) { changes.push_back(id + (manager.find(id) ? " in" : " out")); });

  ExecuteRequest request;
  request.command = "true";
  auto first = manager.execute(request);
  ASSERT_TRUE(first);
  std::string first_id = (*first)->id();
  ASSERT_TRUE(test::run_until(io, [&] { return manager.running_count() == 0; }));
  auto second = manager.execute(request);
  ASSERT_TRUE(second);
  std::string second_id = (*second)->id();
  ASSERT_TRUE(test::run_until(io, [&] { return manager.running_count() == 0; }));

  EXPECT_EQ(ended_a, (std::vector<std::string>{first_id, second_id}));
  EXPECT_EQ(ended_b, ended_a);
  // max_finished = 1: the second job's end evicts the first.
  EXPECT_EQ(changes,
            (std::vector<std::string>{first_id + " in", second_id + " in", first_id + " out"}));
}

// An HTTP session's observers go with the session: never called after their owner is gone.
TEST(JobManagerObservers, AnOwnedObserverStopsWithItsOwner) {
  spdlog::set_level(spdlog::level::warn);
  boost::asio::io_context io;
  JobManager manager(io.get_executor(), EngineSettings{.working_dir = "/tmp"});
  int owned_ends = 0, owned_changes = 0, lasting_ends = 0;
  auto owner = std::make_shared<int>(0);
  manager.on_job_end([&](const Job&) { ++owned_ends; }, owner);
  manager.on_jobs_changed([&](const std::string&) { ++owned_changes; }, owner);
  manager.on_job_end([&](const Job&) { ++lasting_ends; });

  ExecuteRequest request;
  request.command = "true";
  ASSERT_TRUE(manager.execute(request));
  ASSERT_TRUE(
      test::run_until(io, [&] { return manager.running_count() == 0 && lasting_ends == 1; }));
  EXPECT_EQ(owned_ends, 1);
  EXPECT_EQ(owned_changes, 1);

  owner.reset();
  manager.on_job_end([](const Job&) {}, std::make_shared<int>(0));  // prunes the dead ones
  ASSERT_TRUE(manager.execute(request));
  ASSERT_TRUE(
      test::run_until(io, [&] { return manager.running_count() == 0 && lasting_ends == 2; }));
  EXPECT_EQ(owned_ends, 1);
  EXPECT_EQ(owned_changes, 1);
}

}  // namespace
}  // namespace jobs

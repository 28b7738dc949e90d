#include "history/job_history.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include "helpers/fd_leak_check.h"
#include "helpers/run_until.h"
#include "helpers/scratch_dir.h"
#include "sys/proc_stats.h"

namespace history {
namespace {

using namespace std::chrono_literals;

// Two "servers" in one test: each an engine with its own history on the same state directory,
// as two server processes of one user would be.
class JobHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    test::open_reactor(io_);
    settings_.working_dir = work_.path();
    settings_.cleanup_interval = 1h;
  }
  void TearDown() override {
    for (auto* manager : {first_.get(), second_.get()}) {
      if (!manager) continue;
      for (const auto& job : manager->jobs_newest_first()) {
        if (job->has_started()) job->kill(SIGKILL, 0ms);
      }
      test::run_until(io_, [&] { return manager->running_count() == 0; });
    }
  }

  std::unique_ptr<JobHistory> open_history(jobs::JobManager& manager,
                                           const policy::Redactor* redactor = nullptr) {
    auto opened = JobHistory::open(state_.path() / "state", manager, redactor);
    EXPECT_TRUE(opened) << (opened ? "" : opened.error().message);
    return opened ? std::move(*opened) : nullptr;
  }

  std::shared_ptr<jobs::Job> run_to_end(jobs::JobManager& manager, std::string command) {
    jobs::ExecuteRequest request;
    request.command = std::move(command);
    request.owner = {"test-client", "stdio"};
    auto job = manager.execute(request);
    EXPECT_TRUE(job) << (job ? "" : job.error().message);
    if (!job) return nullptr;
    EXPECT_TRUE(test::run_until(io_, [&] { return (*job)->finished() && !(*job)->output_open(); }));
    return *job;
  }

  std::string all_output(const jobs::Job& job) {
    std::string text;
    uint64_t offset = 0;
    while (true) {
      auto slice = job.output().read(offset, 1 << 20, jobs::StreamFilter::kBoth);
      if (slice.bytes.empty()) return text;
      text += slice.bytes;
      offset = slice.next_offset;
    }
  }

  boost::asio::io_context io_;
  test::ScratchDir work_{"mcpbg-history-work"};
  test::ScratchDir state_{"mcpbg-history-state"};
  jobs::EngineSettings settings_;
  std::unique_ptr<jobs::JobManager> first_;
  std::unique_ptr<jobs::JobManager> second_;
};

TEST_F(JobHistoryTest, ALaterServerFindsAFinishedJobWithItsEndAndOutput) {
  first_ = std::make_unique<jobs::JobManager>(io_.get_executor(), settings_);
  auto history = open_history(*first_);
  ASSERT_TRUE(history);
  auto job = run_to_end(*first_, "echo hello; echo world >&2; exit 3");
  ASSERT_TRUE(job);
  std::string id = job->id();
  history.reset();  // The server ends: everything recorded is written first.

  second_ = std::make_unique<jobs::JobManager>(io_.get_executor(), settings_);
  auto later = open_history(*second_);
  ASSERT_TRUE(later);
  auto found = later->find(id);
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(*found);
  const jobs::Job& past = **found;
  EXPECT_TRUE(past.from_history());
  EXPECT_EQ(past.status(), jobs::JobStatus::kFailed);
  EXPECT_EQ(past.exit_code(), 3);
  EXPECT_EQ(past.spec().command, "echo hello; echo world >&2; exit 3");
  EXPECT_EQ(past.spec().owner.client, "test-client");
  EXPECT_TRUE(past.ended().has_value());
  EXPECT_EQ(all_output(past), "hello\nworld\n");
  EXPECT_EQ(past.output().total_bytes(), 12u);
  // Nothing done to it reaches a process: its pid belongs to nobody now.
  EXPECT_EQ(std::const_pointer_cast<jobs::Job>(*found)->kill(SIGKILL, 0ms),
            jobs::Job::SignalResult::kAlreadyTerminated);

  // An id never seen is not found, without an error.
  auto unknown = later->find("3f0c9a52-6a1e-4b9e-9d55-2f1d8f3c7e10");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
}

TEST_F(JobHistoryTest, KeepsTheHeadAndTheLastBytesOfALongOutputAtTheirOffsets) {
  first_ = std::make_unique<jobs::JobManager>(io_.get_executor(), settings_);
  auto history = open_history(*first_);
  // 300,000 bytes: lines "line NNNNNN\n" (12 bytes each).
  auto job = run_to_end(*first_, "seq -f 'line %06g' 1 25000");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->output().total_bytes(), 300000u);
  std::string id = job->id();
  history.reset();

  second_ = std::make_unique<jobs::JobManager>(io_.get_executor(), settings_);
  auto later = open_history(*second_);
  auto found = later->find(id);
  ASSERT_TRUE(found && *found);
  const auto& log = (**found).output();
  EXPECT_EQ(log.total_bytes(), 300000u);
  EXPECT_EQ(log.head_size(), kKeptHeadBytes);
  EXPECT_EQ(log.tail_start(), 300000u - kKeptTailBytes);
  auto head = log.read(0, 12, jobs::StreamFilter::kBoth);
  EXPECT_EQ(head.bytes, "line 000001\n");
  auto last = log.read(300000 - 12, 12, jobs::StreamFilter::kBoth);
  EXPECT_EQ(last.bytes, "line 025000\n");
  // A read in the middle resumes where the kept tail begins, as it does for a live job.
  auto middle = log.read(100000, 12, jobs::StreamFilter::kBoth);
  EXPECT_EQ(middle.offset, 300000u - kKeptTailBytes);
}

TEST_F(JobHistoryTest, StoresCommandsAndOutputRedacted) {
  auto redactor = policy::Redactor::create();
  ASSERT_TRUE(redactor);
  first_ = std::make_unique<jobs::JobManager>(io_.get_executor(), settings_);
  auto history = open_history(*first_, &*redactor);
  auto job = run_to_end(*first_, "echo password=hunter2secret # password=hunter2secret");
  ASSERT_TRUE(job);
  std::string id = job->id();
  history.reset();

  auto db = store::HistoryDb::open(state_.path() / "state" / "history.sqlite3", {100});
  ASSERT_TRUE(db);
  auto row = db->find(id);
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->command.find("hunter2"), std::string::npos) << (*row)->command;
  auto output = db->find_output(id);
  ASSERT_TRUE(output && *output);
  EXPECT_EQ((*output)->head.find("hunter2"), std::string::npos) << (*output)->head;
  EXPECT_NE((*output)->head.find("[REDACTED]"), std::string::npos);
}

TEST_F(JobHistoryTest, AnOpenRowOfAGoneServerIsLostAndOneOfALiveServerIsRefused) {
  first_ = std::make_unique<jobs::JobManager>(io_.get_executor(), settings_);
  auto history = open_history(*first_);
  ASSERT_TRUE(history);
  auto db = store::HistoryDb::open(history->database(), {1000});
  ASSERT_TRUE(db);

  // A server killed with SIGKILL left its job's row open. Its pid is taken by nobody (a child
  // that has been reaped), so it cannot be alive.
  pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  store::JobRecord orphaned;
  orphaned.id = "0b0c9a52-6a1e-4b9e-9d55-2f1d8f3c7e10";
  orphaned.server_id = "an-earlier-server";
  orphaned.server = {.pid = gone, .start_ticks = 1, .boot_id = current_boot_id()};
  orphaned.command = "sleep 1000";
  orphaned.status = "running";
  orphaned.created = 1;
  orphaned.started = 1;
  ASSERT_TRUE(db->save(orphaned));

  // Another server, alive (this test process), runs one.
  store::JobRecord elsewhere = orphaned;
  elsewhere.id = "1b0c9a52-6a1e-4b9e-9d55-2f1d8f3c7e10";
  elsewhere.server_id = "another-live-server";
  auto self = sys::read_process(::getpid());
  ASSERT_TRUE(self);
  elsewhere.server = {
      .pid = ::getpid(), .start_ticks = self->id.start_ticks, .boot_id = current_boot_id()};
  ASSERT_TRUE(db->save(elsewhere));

  auto lost = history->find(orphaned.id);
  ASSERT_TRUE(lost) << lost.error().message;
  ASSERT_TRUE(*lost);
  EXPECT_EQ((**lost).status(), jobs::JobStatus::kLost);
  EXPECT_EQ((**lost).end_reason(), jobs::EndReason::kServerGone);
  ASSERT_TRUE((**lost).ended().has_value());
  // Shown at once, written by the writer thread: a second look shows the same end meanwhile.
  auto again = history->find(orphaned.id);
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((**again).ended(), (**lost).ended());
  history->flush();
  auto row = db->find(orphaned.id);
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->status, "lost");  // Written down, for every later reader.
  ASSERT_TRUE((*row)->ended);
  EXPECT_EQ(
      std::chrono::milliseconds(*(*row)->ended),
      std::chrono::duration_cast<std::chrono::milliseconds>((**lost).ended()->time_since_epoch()));

  auto running = history->find(elsewhere.id);
  ASSERT_FALSE(running);
  EXPECT_NE(running.error().message.find("another server"), std::string::npos)
      << running.error().message;

  // list shows both, the live one as running.
  auto page = history->list(std::nullopt, 10);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->jobs.size(), 2u);
  EXPECT_EQ(page->jobs[0]->id(), elsewhere.id);
  EXPECT_EQ(page->jobs[0]->status(), jobs::JobStatus::kRunning);
  EXPECT_EQ(page->jobs[1]->status(), jobs::JobStatus::kLost);
}

TEST_F(JobHistoryTest, ListLeavesOutTheManagersOwnJobsAndPages) {
  first_ = std::make_unique<jobs::JobManager>(io_.get_executor(), settings_);
  auto history = open_history(*first_);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(run_to_end(*first_, "true")->id());
  history->flush();
  auto own = history->list(std::nullopt, 10);
  ASSERT_TRUE(own);
  EXPECT_TRUE(own->jobs.empty());  // Listed from memory by the list tool.

  second_ = std::make_unique<jobs::JobManager>(io_.get_executor(), settings_);
  auto other = open_history(*second_);
  auto page = other->list(std::nullopt, 3);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->jobs.size(), 3u);
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->jobs[0]->id(), ids[4]);
  auto next = other->list(page->seqs.back(), 3);
  ASSERT_TRUE(next);
  ASSERT_EQ(next->jobs.size(), 2u);
  EXPECT_FALSE(next->more);
  EXPECT_EQ(next->jobs[1]->id(), ids[0]);
}

TEST_F(JobHistoryTest, MaxFinishedAppliesToTheDatabase) {
  settings_.max_finished = 2;
  first_ = std::make_unique<jobs::JobManager>(io_.get_executor(), settings_);
  auto history = open_history(*first_);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(run_to_end(*first_, "true")->id());
  first_->evict_expired();  // evicts beyond max_finished too, which prunes the database
  history->flush();
  auto db = store::HistoryDb::open(history->database(), {100});
  ASSERT_TRUE(db);
  auto page = db->list({.limit = 10});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->rows.size(), 2u);
  EXPECT_EQ(page->rows[0].id, ids[3]);
  EXPECT_EQ(page->rows[1].id, ids[2]);
}

}  // namespace
}  // namespace history

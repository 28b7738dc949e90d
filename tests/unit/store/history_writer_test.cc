#include "store/history_writer.h"

#include <gtest/gtest.h>

#include <mutex>
#include <utility>
#include <vector>

#include "helpers/scratch_dir.h"

namespace store {
namespace {

TEST(HistoryWriterTest, AppliesABurstAndFlushWaitsForIt) {
  test::ScratchDir dir("mcpbg-writer");
  auto db = HistoryDb::open(dir / "history.db", BusyTimeout{1000});
  ASSERT_TRUE(db) << db.error().message;
  HistoryWriter writer(std::move(*db));
  for (int i = 0; i < 1000; ++i) {
    JobRecord job;
    job.id = "w" + std::to_string(i);
    job.status = "running";
    writer.submit([job](HistoryDb& into) { return into.save(job); });
  }
  writer.flush();
  EXPECT_EQ(writer.stats().applied, 1000u);
  EXPECT_EQ(writer.stats().failed, 0u);

  // Another connection (the loop's reader) sees all of it.
  auto reader = HistoryDb::open(dir / "history.db", BusyTimeout{100});
  ASSERT_TRUE(reader);
  auto page = reader->list({.limit = 2000});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->rows.size(), 1000u);
  EXPECT_EQ(page->rows.front().id, "w999");
}

TEST(HistoryWriterTest, AFailedChangeIsCountedAndTheOthersStillApply) {
  test::ScratchDir dir("mcpbg-writer");
  auto db = HistoryDb::open(dir / "history.db", BusyTimeout{1000});
  ASSERT_TRUE(db);
  HistoryWriter writer(std::move(*db));
  JobRecord job;
  job.id = "good";
  job.status = "running";
  writer.submit([job](HistoryDb& into) { return into.save(job); });
  writer.submit([](HistoryDb&) -> base::Result<void> { return base::fail("disk is full"); });
  writer.flush();
  auto stats = writer.stats();
  EXPECT_EQ(stats.applied, 1u);
  EXPECT_EQ(stats.failed, 1u);
  EXPECT_EQ(stats.last_error, "disk is full");
  writer.close();
  auto reader = HistoryDb::open(dir / "history.db", BusyTimeout{100});
  ASSERT_TRUE(reader);
  auto found = reader->find("good");
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->has_value());
}

TEST(HistoryWriterTest, AFailureIsHandedOverAndRememberedForItsJobUntilAWriteSucceeds) {
  test::ScratchDir dir("mcpbg-writer");
  auto db = HistoryDb::open(dir / "history.db", BusyTimeout{1000});
  ASSERT_TRUE(db);
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> handed;
  HistoryWriter writer(std::move(*db), [&](const std::string& job_id, const base::Error& error) {
    std::lock_guard lock(mutex);
    handed.emplace_back(job_id, error.message);
  });
  JobRecord job;
  job.id = "j1";
  job.status = "running";
  writer.submit([](HistoryDb&) -> base::Result<void> { return base::fail("disk is full"); }, "j1");
  writer.submit([job](HistoryDb& into) { return into.save(job); }, "j2");
  writer.flush();
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(handed.size(), 1u);
    EXPECT_EQ(handed[0].first, "j1");
    EXPECT_EQ(handed[0].second, "disk is full");
  }
  EXPECT_EQ(writer.failure("j1"), "disk is full");
  EXPECT_EQ(writer.failure("j2"), std::nullopt);

  // The job's next write goes through: its row is whole again.
  writer.submit([job](HistoryDb& into) { return into.save(job); }, "j1");
  writer.flush();
  EXPECT_EQ(writer.failure("j1"), std::nullopt);
  EXPECT_EQ(writer.stats().failed, 1u);
  EXPECT_EQ(writer.stats().applied, 2u);
}

}  // namespace
}  // namespace store

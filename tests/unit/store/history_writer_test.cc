#include "store/history_writer.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace store

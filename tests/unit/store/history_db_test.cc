#include "store/history_db.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "helpers/scratch_dir.h"

namespace store {
namespace {

JobRecord sample(const std::string& id, EpochMillis created = 1000) {
  JobRecord job;
  job.id = id;
  job.server_id = "server-1";
  job.server = ProcessIdentity{.pid = 4242, .start_ticks = 31, .boot_id = "boot-a"};
  job.client = "claude-code";
  job.session = "stdio";
  job.command = "make test";
  job.cwd = "/src/project";
  job.label = "tests";
  job.status = "running";
  job.created = created;
  job.started = created + 5;
  job.process = ProcessIdentity{.pid = 777, .start_ticks = 123456, .boot_id = "boot-a"};
  return job;
}

class HistoryDbTest : public ::testing::Test {
 protected:
  HistoryDb open() {
    auto db = HistoryDb::open(file_, BusyTimeout{1000});
    EXPECT_TRUE(db) << db.error().message;
    return std::move(*db);
  }

  test::ScratchDir dir_{"mcpbg-history"};
  std::filesystem::path file_ = dir_ / "history.db";
};

TEST_F(HistoryDbTest, CreatesAPrivateFileAtTheCurrentSchema) {
  auto db = open();
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  SQLite::Database raw(file_);
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), kSchemaVersion);
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

TEST_F(HistoryDbTest, SavesAndFindsEveryField) {
  auto db = open();
  JobRecord job = sample("0a1b");
  job.pty = true;
  job.persisted = true;
  job.keeper = ProcessIdentity{.pid = 778, .start_ticks = 99, .boot_id = "boot-a"};
  ASSERT_TRUE(db.save(job));
  auto found = db.find("0a1b");
  ASSERT_TRUE(found && *found);
  const JobRecord& got = **found;
  EXPECT_GT(got.seq, 0);
  EXPECT_EQ(got.server_id, "server-1");
  EXPECT_EQ(got.server.pid, 4242);
  EXPECT_EQ(got.server.start_ticks, 31u);
  EXPECT_EQ(got.server.boot_id, "boot-a");
  EXPECT_EQ(got.client, "claude-code");
  EXPECT_EQ(got.command, "make test");
  EXPECT_EQ(got.cwd, "/src/project");
  EXPECT_EQ(got.label, "tests");
  EXPECT_TRUE(got.pty);
  EXPECT_TRUE(got.persisted);
  EXPECT_EQ(got.status, "running");
  EXPECT_FALSE(got.exit_code.has_value());
  EXPECT_EQ(got.created, 1000);
  EXPECT_EQ(got.started, 1005);
  EXPECT_FALSE(got.ended.has_value());
  ASSERT_TRUE(got.process.has_value());
  EXPECT_EQ(got.process->pid, 777);
  EXPECT_EQ(got.process->start_ticks, 123456u);
  EXPECT_EQ(got.process->boot_id, "boot-a");
  ASSERT_TRUE(got.keeper.has_value());
  EXPECT_EQ(got.keeper->pid, 778);

  auto missing = db.find("ffff");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_F(HistoryDbTest, SavingAgainUpdatesTheRowAndKeepsItsPlace) {
  auto db = open();
  ASSERT_TRUE(db.save(sample("a")));
  ASSERT_TRUE(db.save(sample("b")));
  JobRecord ended = sample("a");
  ended.status = "failed";
  ended.exit_code = 3;
  ended.ended = 2000;
  ended.output_bytes = 10;
  ASSERT_TRUE(db.save(ended));
  auto a = db.find("a");
  auto b = db.find("b");
  ASSERT_TRUE(a && *a && b && *b);
  EXPECT_EQ((*a)->status, "failed");
  EXPECT_EQ((*a)->exit_code, 3);
  EXPECT_EQ((*a)->ended, 2000);
  EXPECT_EQ((*a)->output_bytes, 10u);
  EXPECT_LT((*a)->seq, (*b)->seq);  // still the older of the two
}

TEST_F(HistoryDbTest, ListsNewestFirstInPages) {
  auto db = open();
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(db.save(sample("job" + std::to_string(i))));
  auto first = db.list({.limit = 3});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->rows.size(), 3u);
  EXPECT_EQ(first->rows[0].id, "job6");
  EXPECT_EQ(first->rows[2].id, "job4");
  EXPECT_TRUE(first->more);
  auto second = db.list({.limit = 3, .before_seq = first->rows.back().seq});
  ASSERT_TRUE(second);
  ASSERT_EQ(second->rows.size(), 3u);
  EXPECT_EQ(second->rows[0].id, "job3");
  EXPECT_TRUE(second->more);
  auto last = db.list({.limit = 3, .before_seq = second->rows.back().seq});
  ASSERT_TRUE(last);
  ASSERT_EQ(last->rows.size(), 1u);
  EXPECT_EQ(last->rows[0].id, "job0");
  EXPECT_FALSE(last->more);
}

TEST_F(HistoryDbTest, ListFilters) {
  auto db = open();
  JobRecord done = sample("done");
  done.status = "completed";
  done.ended = 5000;
  ASSERT_TRUE(db.save(done));
  JobRecord kept = sample("kept");
  kept.persisted = true;
  ASSERT_TRUE(db.save(kept));
  ASSERT_TRUE(db.save(sample("plain")));

  auto open_rows = db.list({.only_open = true});
  ASSERT_TRUE(open_rows);
  ASSERT_EQ(open_rows->rows.size(), 2u);
  auto persisted = db.list({.only_open = true, .only_persisted = true});
  ASSERT_TRUE(persisted);
  ASSERT_EQ(persisted->rows.size(), 1u);
  EXPECT_EQ(persisted->rows[0].id, "kept");
  auto completed = db.list({.status = "completed"});
  ASSERT_TRUE(completed);
  ASSERT_EQ(completed->rows.size(), 1u);
  EXPECT_EQ(completed->rows[0].id, "done");
}

TEST_F(HistoryDbTest, MarkLostOnlyWhileTheJobHasNotEnded) {
  auto db = open();
  ASSERT_TRUE(db.save(sample("running")));
  JobRecord ended = sample("ended");
  ended.status = "completed";
  ended.exit_code = 0;
  ended.ended = 3000;
  ASSERT_TRUE(db.save(ended));

  auto lost = db.mark_lost("running", "keeper pid 778 is gone", 4000);
  ASSERT_TRUE(lost);
  EXPECT_TRUE(*lost);
  auto row = db.find("running");
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->status, "lost");
  EXPECT_EQ((*row)->reason, "keeper pid 778 is gone");
  EXPECT_EQ((*row)->ended, 4000);

  auto not_lost = db.mark_lost("ended", "late", 5000);
  ASSERT_TRUE(not_lost);
  EXPECT_FALSE(*not_lost);
  auto kept = db.find("ended");
  ASSERT_TRUE(kept && *kept);
  EXPECT_EQ((*kept)->status, "completed");
}

TEST_F(HistoryDbTest, KeepsOutputBesideTheRow) {
  auto db = open();
  ASSERT_TRUE(db.save(sample("j")));
  std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(db.save_output(
      "j", {.head = "first\n", .tail = binary, .tail_offset = 70000, .total_bytes = 70004}));
  auto output = db.find_output("j");
  ASSERT_TRUE(output && *output);
  EXPECT_EQ((*output)->head, "first\n");
  EXPECT_EQ((*output)->tail, binary);
  EXPECT_EQ((*output)->tail_offset, 70000u);
  EXPECT_EQ((*output)->total_bytes, 70004u);
}

TEST_F(HistoryDbTest, PrunesFinishedJobsByCountAndAgeWithTheirOutput) {
  auto db = open();
  for (int i = 0; i < 6; ++i) {
    JobRecord job = sample("f" + std::to_string(i));
    job.status = "completed";
    job.ended = 10'000 + i * 1000;
    ASSERT_TRUE(db.save(job));
    ASSERT_TRUE(db.save_output(job.id, {.head = "x", .total_bytes = 1}));
  }
  ASSERT_TRUE(db.save(sample("still-running")));

  // Keep the newest 4 finished: f0 and f1 go.
  auto pruned = db.prune(4, 0);
  ASSERT_TRUE(pruned);
  EXPECT_EQ(std::set<std::string>(pruned->begin(), pruned->end()),
            (std::set<std::string>{"f0", "f1"}));
  // Then by age: ended before 13,500 (f2, f3).
  pruned = db.prune(100, 13'500);
  ASSERT_TRUE(pruned);
  EXPECT_EQ(std::set<std::string>(pruned->begin(), pruned->end()),
            (std::set<std::string>{"f2", "f3"}));
  auto rest = db.list({});
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->rows.size(), 3u);  // f5, f4 and the running one, which is never pruned
  auto gone_output = db.find_output("f0");
  ASSERT_TRUE(gone_output);
  EXPECT_FALSE(gone_output->has_value());
  auto kept_output = db.find_output("f5");
  ASSERT_TRUE(kept_output);
  EXPECT_TRUE(kept_output->has_value());
}

TEST_F(HistoryDbTest, FindsIdsByPrefix) {
  auto db = open();
  for (auto id : {"abc123", "abd000", "abc999", "zzz"}) ASSERT_TRUE(db.save(sample(id)));
  auto ids = db.ids_with_prefix("abc", 10);
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::string>{"abc123", "abc999"}));
  ids = db.ids_with_prefix("ab", 1);
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->size(), 1u);
}

TEST_F(HistoryDbTest, RefusesADatabaseFromANewerServerNamingTheFile) {
  { auto db = open(); }
  {
    SQLite::Database raw(file_, SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA user_version = 99");
  }
  auto db = HistoryDb::open(file_, BusyTimeout{1000});
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find(file_.string()), std::string::npos) << db.error().message;
  EXPECT_NE(db.error().message.find("99"), std::string::npos) << db.error().message;
  // Nothing was changed.
  SQLite::Database raw(file_);
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), 99);
}

TEST_F(HistoryDbTest, RefusesACorruptFileNamingIt) {
  {
    std::ofstream junk(file_);
    junk << std::string(8192, 'x');
  }
  auto db = HistoryDb::open(file_, BusyTimeout{1000});
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find(file_.string()), std::string::npos) << db.error().message;
  EXPECT_NE(db.error().message.find("corrupt"), std::string::npos) << db.error().message;
}

// A writer killed in the middle of a burst loses no job it had committed, and leaves a file that
// passes SQLite's own integrity check.
TEST_F(HistoryDbTest, AKilledWriterLosesNoCommittedJob) {
  { auto db = open(); }
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(report[0]);
    auto db = HistoryDb::open(file_, BusyTimeout{1000});
    if (!db) _exit(3);
    for (int i = 0;; ++i) {
      std::string id = "burst" + std::to_string(i);
      if (!db->save(sample(id))) _exit(4);
      // Committed (autocommit): only now is it reported.
      uint32_t n = static_cast<uint32_t>(i);
      if (::write(report[1], &n, sizeof n) != sizeof n) _exit(5);
    }
  }
  ::close(report[1]);
  uint32_t last = 0;
  for (int seen = 0; seen < 300;) {
    uint32_t n;
    ssize_t got = ::read(report[0], &n, sizeof n);
    ASSERT_EQ(got, static_cast<ssize_t>(sizeof n));
    last = n;
    ++seen;
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(report[0]);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto db = open();
  for (uint32_t i = 0; i <= last; ++i) {
    auto row = db.find("burst" + std::to_string(i));
    ASSERT_TRUE(row);
    ASSERT_TRUE(row->has_value()) << "committed job burst" << i << " is missing";
  }
  SQLite::Database raw(file_);
  EXPECT_EQ(raw.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

// The 100,000 finished jobs: a page is read through the primary key (or the partial
// index of open rows), never by scanning or sorting the table, so its cost does not grow with
// the history. (How fast, in figures: bench --scenario history_list.)
TEST_F(HistoryDbTest, AHundredThousandFinishedJobsListAPageThroughAnIndex) {
  constexpr int kRows = 100'000;
  auto db = open();
  {
    // One INSERT ... SELECT in one transaction: the same rows save() writes (every tenth one
    // failed), made in a fraction of a second rather than through 100,000 statements.
    SQLite::Database raw(file_, SQLite::OPEN_READWRITE);
    raw.exec(fmt::format(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {}) "
        "INSERT INTO jobs (id, server_id, server_pid, client, session, command, cwd, label, "
        "pty, persisted, status, exit_code, signal, reason, start_error, created_ms, "
        "started_ms, ended_ms, output_bytes, dropped_bytes, server_start, server_boot) "
        "SELECT 'f' || i, 'server-1', 4242, 'claude-code', 'stdio', 'make test', "
        "'/src/project', 'tests', 0, 0, CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'completed' "
        "END, CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END, '', '', '', 1000 + i, 1005 + i, "
        "2000 + i, 0, 0, 31, 'boot-a' FROM n",
        kRows));
  }
  JobRecord open_job = sample("still-running", 5000);
  ASSERT_TRUE(db.save(open_job));

  for (const ListQuery& query :
       {ListQuery{.limit = 50}, ListQuery{.limit = 50, .before_seq = 50'000},
        ListQuery{.limit = 50, .only_open = true}}) {
    auto plan = db.list_plan(query);
    ASSERT_TRUE(plan) << plan.error().message;
    ASSERT_FALSE(plan->empty());
    for (const auto& step : *plan) {
      EXPECT_EQ(step.rfind("SEARCH jobs USING", 0), 0u) << step;
      EXPECT_EQ(step.find("TEMP B-TREE"), std::string::npos) << step;
    }
  }

  auto first = db.list({.limit = 50});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->rows.size(), 50u);
  EXPECT_TRUE(first->more);
  EXPECT_EQ(first->rows[0].id, "still-running");
  EXPECT_EQ(first->rows[1].id, "f99999");
  EXPECT_EQ(first->rows[49].id, "f99951");
  for (size_t i = 1; i < first->rows.size(); ++i) {
    EXPECT_EQ(first->rows[i].seq, first->rows[i - 1].seq - 1);
  }

  // Deep in the history: the page after the cursor, whole and in order.
  auto deep = db.list({.limit = 50, .before_seq = 50'001});
  ASSERT_TRUE(deep);
  ASSERT_EQ(deep->rows.size(), 50u);
  EXPECT_EQ(deep->rows[0].seq, 50'000);
  EXPECT_EQ(deep->rows[0].id, "f49999");
  EXPECT_EQ(deep->rows[49].id, "f49950");
  EXPECT_EQ(deep->rows[0].status, "completed");
  EXPECT_EQ(deep->rows[9].id, "f49990");
  EXPECT_EQ(deep->rows[9].status, "failed");
  EXPECT_TRUE(deep->more);

  auto last = db.list({.limit = 50, .before_seq = 21});
  ASSERT_TRUE(last);
  ASSERT_EQ(last->rows.size(), 20u);
  EXPECT_EQ(last->rows.back().id, "f0");
  EXPECT_FALSE(last->more);

  auto open_rows = db.list({.limit = 50, .only_open = true});
  ASSERT_TRUE(open_rows);
  ASSERT_EQ(open_rows->rows.size(), 1u);
  EXPECT_EQ(open_rows->rows[0].id, "still-running");
}

// There has been one schema version so far; the path every upgrade takes starts at version 0:
// an empty file, or a SQLite database no version of this server wrote (user_version 0, in the
// rollback journal mode). Both are upgraded in place, and what was in the file stays.
TEST_F(HistoryDbTest, UpgradesAnEmptyOrVersionZeroDatabaseInPlace) {
  { std::ofstream empty(file_); }
  {
    auto db = open();
    ASSERT_TRUE(db.save(sample("after-upgrade")));
  }
  SQLite::Database upgraded(file_);
  EXPECT_EQ(upgraded.execAndGet("PRAGMA user_version").getInt(), kSchemaVersion);

  auto other = dir_ / "v0.db";
  {
    SQLite::Database raw(other, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("PRAGMA journal_mode=DELETE");
    raw.exec("CREATE TABLE notes (text TEXT)");
    raw.exec("INSERT INTO notes VALUES ('kept')");
    ASSERT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), 0);
  }
  auto db = HistoryDb::open(other, BusyTimeout{1000});
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(db->save(sample("in-v0")));
  auto found = db->find("in-v0");
  ASSERT_TRUE(found && *found);
  SQLite::Database raw(other);
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), kSchemaVersion);
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(raw.execAndGet("SELECT text FROM notes").getString(), "kept");
  EXPECT_EQ(raw.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

// Servers started together (an agent opening several windows) upgrade one file at once: each
// step is one IMMEDIATE transaction that reads the version again, so each runs once and every
// opener succeeds.
TEST_F(HistoryDbTest, ServersOpeningANewFileTogetherUpgradeItOnce) {
  constexpr int kOpeners = 8;
  std::vector<pid_t> children;
  for (int i = 0; i < kOpeners; ++i) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto db = HistoryDb::open(file_, BusyTimeout{5000});
      if (!db) _exit(3);
      if (!db->save(sample("opener" + std::to_string(i)))) _exit(4);
      _exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  auto db = open();
  auto page = db.list({.limit = 100});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->rows.size(), static_cast<size_t>(kOpeners));
  SQLite::Database raw(file_);
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), kSchemaVersion);
}

}  // namespace
}  // namespace store

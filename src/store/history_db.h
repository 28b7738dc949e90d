#pragma once
/// One connection to the history database (SQLite, WAL mode), shared by every server and keeper
/// of the same user through the file. One connection per thread: the event loop reads through
/// one, the HistoryWriter's thread writes through another, a keeper has its own.
///
/// One writer per row: a server writes the rows of the jobs it runs itself; a keeper writes its
/// persisted job's row while the job lives; whoever proves a keeper gone may mark its job lost,
/// and only while the row still says it is running (mark_lost checks in the same statement).
///
/// Every failure is a base::Error naming the file: a newer or corrupt database, a read-only or
/// full disk. Nothing here throws.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/job_record.h"

namespace SQLite {
class Database;
}

namespace store {

/// The schema this code writes. Each version has one migration from the one before; a database
/// from an earlier version is upgraded in place when opened, one from a later one is refused.
inline constexpr int kSchemaVersion = 1;

struct ListQuery {
  size_t limit = 50;
  std::optional<int64_t> before_seq;  // The cursor: rows older than this one.
  std::optional<std::string> status;  // Only rows with this status.
  bool only_open = false;             // Only rows without an end (running, queued).
  bool only_persisted = false;
};

struct ListPage {
  std::vector<JobRecord> rows;  // Newest first.
  bool more = false;            // Rows older than the last one exist.
};

/// How long a connection waits for another process's write to finish before giving up.
struct BusyTimeout {
  int milliseconds;
};

class HistoryDb {
 public:
  /// Opens (creating it if missing, mode 0600) and upgrades the database at `file`. The
  /// directory must exist.
  static base::Result<HistoryDb> open(const std::filesystem::path& file, BusyTimeout busy);

  HistoryDb(HistoryDb&&) noexcept;
  HistoryDb& operator=(HistoryDb&&) noexcept;
  ~HistoryDb();

  const std::filesystem::path& file() const { return file_; }

  /// Inserts the job's row, or replaces every field but `seq` if it exists.
  base::Result<void> save(const JobRecord& job);
  /// Stores what is kept of a finished job's output (replacing what was there).
  base::Result<void> save_output(const std::string& id, const StoredOutput& output);
  /// Marks a job that has not ended `lost`, with `reason`; false if it had ended meanwhile (or
  /// does not exist), in which case nothing changed.
  base::Result<bool> mark_lost(const std::string& id, const std::string& reason, EpochMillis at);

  base::Result<std::optional<JobRecord>> find(const std::string& id);
  base::Result<std::optional<StoredOutput>> find_output(const std::string& id);
  /// Ids of the rows whose id starts with `prefix` (at most `limit`): for ids given by prefix.
  base::Result<std::vector<std::string>> ids_with_prefix(const std::string& prefix, size_t limit);
  base::Result<ListPage> list(const ListQuery& query);
  /// How SQLite reads list(query): the lines of EXPLAIN QUERY PLAN. A page is read through the
  /// primary key or an index, never by scanning or sorting the table (tests and bench check it).
  base::Result<std::vector<std::string>> list_plan(const ListQuery& query);

  /// Forgets finished jobs beyond the newest `keep_finished`, and those that ended before
  /// `ended_before`. Returns the ids removed.
  base::Result<std::vector<std::string>> prune(size_t keep_finished, EpochMillis ended_before);

  /// Runs `work` inside one transaction (for a writer applying a batch).
  base::Result<void> in_transaction(const std::function<base::Result<void>()>& work);

 private:
  HistoryDb(std::filesystem::path file, std::unique_ptr<SQLite::Database> db);
  base::Result<void> migrate();

  std::filesystem::path file_;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace store

#include "store/history_db.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

namespace store {
namespace {

// Each entry turns version N into N+1; entry 0 creates the first schema. Never edit one that has
// shipped: add the next.
constexpr const char* kMigrations[] = {
    // 1: jobs, newest first by seq; open rows (no end yet) found without a scan.
    R"sql(
      CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        server_id TEXT NOT NULL,
        server_pid INTEGER NOT NULL,
        client TEXT NOT NULL,
        session TEXT NOT NULL,
        command TEXT NOT NULL,
        cwd TEXT NOT NULL,
        label TEXT NOT NULL,
        pty INTEGER NOT NULL,
        persisted INTEGER NOT NULL,
        status TEXT NOT NULL,
        exit_code INTEGER,
        signal TEXT NOT NULL,
        reason TEXT NOT NULL,
        start_error TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        started_ms INTEGER,
        ended_ms INTEGER,
        pid INTEGER,
        pid_start INTEGER,
        pid_boot TEXT,
        keeper_pid INTEGER,
        keeper_start INTEGER,
        keeper_boot TEXT,
        output_bytes INTEGER NOT NULL,
        dropped_bytes INTEGER NOT NULL,
        server_start INTEGER NOT NULL,
        server_boot TEXT NOT NULL
      );
      CREATE INDEX jobs_open ON jobs(seq) WHERE ended_ms IS NULL;
      CREATE INDEX jobs_finished ON jobs(seq) WHERE ended_ms IS NOT NULL;
      CREATE INDEX jobs_ended ON jobs(ended_ms) WHERE ended_ms IS NOT NULL;
      CREATE TABLE outputs (
        id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
        head BLOB NOT NULL,
        tail BLOB NOT NULL,
        tail_offset INTEGER NOT NULL,
        total_bytes INTEGER NOT NULL
      );
    )sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

constexpr const char* kColumns =
    "seq, id, server_id, server_pid, client, session, command, cwd, label, pty, persisted, "
    "status, exit_code, signal, reason, start_error, created_ms, started_ms, ended_ms, pid, "
    "pid_start, pid_boot, keeper_pid, keeper_start, keeper_boot, output_bytes, dropped_bytes, "
    "server_start, server_boot";

// What a person can act on, for the SQLite error codes that mean something about the file.
std::string explain(const std::filesystem::path& file, const SQLite::Exception& e) {
  switch (e.getErrorCode()) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return fmt::format(
          "history database {} is corrupt or not a SQLite database ({}): move it away and the "
          "server starts a new one",
          file.string(), e.what());
    case SQLITE_READONLY:
      return fmt::format(
          "history database {} is read-only ({}): make it and its directory "
          "writable, or set state_dir to a writable directory (or none)",
          file.string(), e.what());
    case SQLITE_FULL:
      return fmt::format("history database {}: the disk is full ({})", file.string(), e.what());
    case SQLITE_CANTOPEN:
      return fmt::format(
          "history database {} cannot be opened ({}): check that its directory "
          "exists and is writable",
          file.string(), e.what());
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return fmt::format(
          "history database {} is busy: another process holds a write lock too "
          "long ({})",
          file.string(), e.what());
    default:
      return fmt::format("history database {}: {}", file.string(), e.what());
  }
}

// Runs `work`, turning the library's exceptions into an Error that names the file.
template <class Work>
auto guarded(const std::filesystem::path& file, Work&& work) -> decltype(work()) {
  try {
    return work();
  } catch (const SQLite::Exception& e) {
    return base::fail(explain(file, e));
  } catch (const std::exception& e) {
    return base::fail(fmt::format("history database {}: {}", file.string(), e.what()));
  }
}

void bind_optional(SQLite::Statement& statement, int index, const std::optional<int64_t>& value) {
  if (value) {
    statement.bind(index, *value);
  } else {
    statement.bind(index);
  }
}

void bind_identity(SQLite::Statement& statement, int index,
                   const std::optional<ProcessIdentity>& identity) {
  if (identity) {
    statement.bind(index, identity->pid);
    statement.bind(index + 1, static_cast<int64_t>(identity->start_ticks));
    statement.bind(index + 2, identity->boot_id);
  } else {
    statement.bind(index);
    statement.bind(index + 1);
    statement.bind(index + 2);
  }
}

std::optional<int64_t> optional_int(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getInt64();
}

std::optional<ProcessIdentity> identity_at(SQLite::Statement& row, int index) {
  if (row.getColumn(index).isNull()) return std::nullopt;
  return ProcessIdentity{.pid = row.getColumn(index).getInt(),
                         .start_ticks = static_cast<uint64_t>(row.getColumn(index + 1).getInt64()),
                         .boot_id = row.getColumn(index + 2).getString()};
}

// One row in kColumns order.
JobRecord read_record(SQLite::Statement& row) {
  JobRecord job;
  job.seq = row.getColumn(0).getInt64();
  job.id = row.getColumn(1).getString();
  job.server_id = row.getColumn(2).getString();
  job.server.pid = row.getColumn(3).getInt();
  job.client = row.getColumn(4).getString();
  job.session = row.getColumn(5).getString();
  job.command = row.getColumn(6).getString();
  job.cwd = row.getColumn(7).getString();
  job.label = row.getColumn(8).getString();
  job.pty = row.getColumn(9).getInt() != 0;
  job.persisted = row.getColumn(10).getInt() != 0;
  job.status = row.getColumn(11).getString();
  if (auto code = optional_int(row.getColumn(12))) job.exit_code = static_cast<int>(*code);
  job.signal = row.getColumn(13).getString();
  job.reason = row.getColumn(14).getString();
  job.start_error = row.getColumn(15).getString();
  job.created = row.getColumn(16).getInt64();
  job.started = optional_int(row.getColumn(17));
  job.ended = optional_int(row.getColumn(18));
  job.process = identity_at(row, 19);
  job.keeper = identity_at(row, 22);
  job.output_bytes = static_cast<uint64_t>(row.getColumn(25).getInt64());
  job.dropped_bytes = static_cast<uint64_t>(row.getColumn(26).getInt64());
  job.server.start_ticks = static_cast<uint64_t>(row.getColumn(27).getInt64());
  job.server.boot_id = row.getColumn(28).getString();
  return job;
}

std::string blob(const SQLite::Column& column) {
  return std::string(static_cast<const char*>(column.getBlob()),
                     static_cast<size_t>(column.getBytes()));
}

// The query of list(query), after `prefix` (empty, or EXPLAIN QUERY PLAN); bind_list binds it.
std::string list_sql(const ListQuery& query, std::string_view prefix) {
  std::string sql = fmt::format("{}SELECT {} FROM jobs WHERE seq < ?", prefix, kColumns);
  if (query.status) sql += " AND status = ?";
  if (query.only_open) sql += " AND ended_ms IS NULL";
  if (query.only_persisted) sql += " AND persisted = 1";
  sql += " ORDER BY seq DESC LIMIT ?";
  return sql;
}

void bind_list(SQLite::Statement& statement, const ListQuery& query) {
  int index = 1;
  statement.bind(index++, query.before_seq.value_or(INT64_MAX));
  if (query.status) statement.bind(index++, *query.status);
  // One more than asked: whether there is a next page, without a second query.
  statement.bind(index++, static_cast<int64_t>(query.limit) + 1);
}

// SQLite creates a missing database with the process's umask; the history holds commands and
// output, so the file is made here first, readable by its owner only. Its -wal and -shm files
// take the database's mode. Only a missing file is touched: closing any descriptor of a database
// file drops every POSIX lock this process holds on it, those of its open connections included,
// and another process may then take its connection for the last one and remove the WAL under it
// (the database is then corrupt; seen with a server and its keepers opening the file at once).
base::Result<void> create_private_file(const std::filesystem::path& file) {
  struct stat existing {};
  if (::lstat(file.c_str(), &existing) == 0) return {};
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == EEXIST) return {};  // Made by another process meanwhile.
  if (fd < 0) return base::fail_errno("history database " + file.string());
  ::close(fd);
  return {};
}

}  // namespace

HistoryDb::HistoryDb(std::filesystem::path file, std::unique_ptr<SQLite::Database> db)
    : file_(std::move(file)), db_(std::move(db)) {}
HistoryDb::HistoryDb(HistoryDb&&) noexcept = default;
HistoryDb& HistoryDb::operator=(HistoryDb&&) noexcept = default;
HistoryDb::~HistoryDb() = default;

base::Result<HistoryDb> HistoryDb::open(const std::filesystem::path& file, BusyTimeout busy) {
  if (auto created = create_private_file(file); !created) return tl::unexpected(created.error());
  return guarded(file, [&]() -> base::Result<HistoryDb> {
    auto db = std::make_unique<SQLite::Database>(file, SQLite::OPEN_READWRITE, busy.milliseconds);
    HistoryDb history(file, std::move(db));
    // WAL: readers never wait for the writer, and several processes share the file safely.
    // NORMAL: a commit survives a crash of the process (not of the machine), without an fsync
    // per commit on the loop's critical path.
    history.db_->exec("PRAGMA journal_mode=WAL");
    history.db_->exec("PRAGMA synchronous=NORMAL");
    history.db_->exec("PRAGMA foreign_keys=ON");
    if (auto migrated = history.migrate(); !migrated) return tl::unexpected(migrated.error());
    return history;
  });
}

base::Result<void> HistoryDb::migrate() {
  return guarded(file_, [&]() -> base::Result<void> {
    int version = db_->execAndGet("PRAGMA user_version").getInt();
    if (version > kSchemaVersion) {
      return base::fail(fmt::format(
          "history database {} has schema version {}, newer than this server knows ({}): it was "
          "written by a newer mcp-background-job; upgrade this one, or set state_dir elsewhere",
          file_.string(), version, kSchemaVersion));
    }
    while (version < kSchemaVersion) {
      // One transaction per step, the version bump inside it: a crash leaves a whole version.
      SQLite::Transaction step(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      // Another process may have upgraded it while we waited for the lock.
      version = db_->execAndGet("PRAGMA user_version").getInt();
      if (version >= kSchemaVersion) break;
      db_->exec(kMigrations[version]);
      ++version;
      db_->exec(fmt::format("PRAGMA user_version = {}", version));
      step.commit();
    }
    return {};
  });
}

base::Result<void> HistoryDb::save(const JobRecord& job) {
  return guarded(file_, [&]() -> base::Result<void> {
    SQLite::Statement statement(
        *db_, fmt::format("INSERT INTO jobs ({}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                          "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                          "ON CONFLICT(id) DO UPDATE SET "
                          "server_id=excluded.server_id, server_pid=excluded.server_pid, "
                          "server_start=excluded.server_start, server_boot=excluded.server_boot, "
                          "client=excluded.client, session=excluded.session, "
                          "command=excluded.command, cwd=excluded.cwd, label=excluded.label, "
                          "pty=excluded.pty, persisted=excluded.persisted, "
                          "status=excluded.status, exit_code=excluded.exit_code, "
                          "signal=excluded.signal, reason=excluded.reason, "
                          "start_error=excluded.start_error, created_ms=excluded.created_ms, "
                          "started_ms=excluded.started_ms, ended_ms=excluded.ended_ms, "
                          "pid=excluded.pid, pid_start=excluded.pid_start, "
                          "pid_boot=excluded.pid_boot, keeper_pid=excluded.keeper_pid, "
                          "keeper_start=excluded.keeper_start, keeper_boot=excluded.keeper_boot, "
                          "output_bytes=excluded.output_bytes, "
                          "dropped_bytes=excluded.dropped_bytes",
                          kColumns));
    statement.bind(1, job.id);
    statement.bind(2, job.server_id);
    statement.bind(3, job.server.pid);
    statement.bind(4, job.client);
    statement.bind(5, job.session);
    statement.bind(6, job.command);
    statement.bind(7, job.cwd);
    statement.bind(8, job.label);
    statement.bind(9, job.pty ? 1 : 0);
    statement.bind(10, job.persisted ? 1 : 0);
    statement.bind(11, job.status);
    bind_optional(statement, 12,
                  job.exit_code ? std::optional<int64_t>(*job.exit_code) : std::nullopt);
    statement.bind(13, job.signal);
    statement.bind(14, job.reason);
    statement.bind(15, job.start_error);
    statement.bind(16, job.created);
    bind_optional(statement, 17, job.started);
    bind_optional(statement, 18, job.ended);
    bind_identity(statement, 19, job.process);
    bind_identity(statement, 22, job.keeper);
    statement.bind(25, static_cast<int64_t>(job.output_bytes));
    statement.bind(26, static_cast<int64_t>(job.dropped_bytes));
    statement.bind(27, static_cast<int64_t>(job.server.start_ticks));
    statement.bind(28, job.server.boot_id);
    statement.exec();
    return {};
  });
}

base::Result<void> HistoryDb::save_output(const std::string& id, const StoredOutput& output) {
  return guarded(file_, [&]() -> base::Result<void> {
    SQLite::Statement statement(*db_,
                                "INSERT OR REPLACE INTO outputs (id, head, tail, tail_offset, "
                                "total_bytes) VALUES (?, ?, ?, ?, ?)");
    statement.bind(1, id);
    statement.bind(2, output.head.data(), static_cast<int>(output.head.size()));
    statement.bind(3, output.tail.data(), static_cast<int>(output.tail.size()));
    statement.bind(4, static_cast<int64_t>(output.tail_offset));
    statement.bind(5, static_cast<int64_t>(output.total_bytes));
    statement.exec();
    return {};
  });
}

base::Result<bool> HistoryDb::mark_lost(const std::string& id, const std::string& reason,
                                        EpochMillis at) {
  return guarded(file_, [&]() -> base::Result<bool> {
    SQLite::Statement statement(*db_,
                                "UPDATE jobs SET status='lost', reason=?, ended_ms=? "
                                "WHERE id=? AND ended_ms IS NULL");
    statement.bind(1, reason);
    statement.bind(2, at);
    statement.bind(3, id);
    return statement.exec() == 1;
  });
}

base::Result<std::optional<JobRecord>> HistoryDb::find(const std::string& id) {
  return guarded(file_, [&]() -> base::Result<std::optional<JobRecord>> {
    SQLite::Statement row(*db_, fmt::format("SELECT {} FROM jobs WHERE id=?", kColumns));
    row.bind(1, id);
    if (!row.executeStep()) return std::nullopt;
    return read_record(row);
  });
}

base::Result<std::optional<StoredOutput>> HistoryDb::find_output(const std::string& id) {
  return guarded(file_, [&]() -> base::Result<std::optional<StoredOutput>> {
    SQLite::Statement row(*db_,
                          "SELECT head, tail, tail_offset, total_bytes FROM outputs WHERE id=?");
    row.bind(1, id);
    if (!row.executeStep()) return std::nullopt;
    return StoredOutput{.head = blob(row.getColumn(0)),
                        .tail = blob(row.getColumn(1)),
                        .tail_offset = static_cast<uint64_t>(row.getColumn(2).getInt64()),
                        .total_bytes = static_cast<uint64_t>(row.getColumn(3).getInt64())};
  });
}

base::Result<std::vector<std::string>> HistoryDb::ids_with_prefix(const std::string& prefix,
                                                                  size_t limit) {
  return guarded(file_, [&]() -> base::Result<std::vector<std::string>> {
    // Ids are lower-case hex and dashes: a range on the unique index, no LIKE escaping needed.
    SQLite::Statement rows(*db_,
                           "SELECT id FROM jobs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?");
    std::string upper = prefix;
    upper.push_back('\x7f');
    rows.bind(1, prefix);
    rows.bind(2, upper);
    rows.bind(3, static_cast<int64_t>(limit));
    std::vector<std::string> ids;
    while (rows.executeStep()) ids.push_back(rows.getColumn(0).getString());
    return ids;
  });
}

base::Result<ListPage> HistoryDb::list(const ListQuery& query) {
  return guarded(file_, [&]() -> base::Result<ListPage> {
    SQLite::Statement rows(*db_, list_sql(query, ""));
    bind_list(rows, query);
    ListPage page;
    while (rows.executeStep()) {
      if (page.rows.size() == query.limit) {
        page.more = true;
        break;
      }
      page.rows.push_back(read_record(rows));
    }
    return page;
  });
}

base::Result<std::vector<std::string>> HistoryDb::list_plan(const ListQuery& query) {
  return guarded(file_, [&]() -> base::Result<std::vector<std::string>> {
    SQLite::Statement steps(*db_, list_sql(query, "EXPLAIN QUERY PLAN "));
    bind_list(steps, query);
    std::vector<std::string> plan;
    while (steps.executeStep()) plan.push_back(steps.getColumn(3).getString());  // "detail"
    return plan;
  });
}

base::Result<std::vector<std::string>> HistoryDb::prune(size_t keep_finished,
                                                        EpochMillis ended_before) {
  return guarded(file_, [&]() -> base::Result<std::vector<std::string>> {
    // Finished rows go when they ended too long ago, or when `keep_finished` newer finished
    // rows exist (the subquery finds the newest one beyond them). Their outputs go with them.
    SQLite::Statement doomed(*db_,
                             "DELETE FROM jobs WHERE ended_ms IS NOT NULL AND (ended_ms < ? OR "
                             "seq <= COALESCE((SELECT seq FROM jobs WHERE ended_ms IS NOT NULL "
                             "ORDER BY seq DESC LIMIT 1 OFFSET ?), -1)) RETURNING id");
    doomed.bind(1, ended_before);
    doomed.bind(2, static_cast<int64_t>(keep_finished));
    std::vector<std::string> ids;
    while (doomed.executeStep()) ids.push_back(doomed.getColumn(0).getString());
    return ids;
  });
}

base::Result<void> HistoryDb::in_transaction(const std::function<base::Result<void>()>& work) {
  return guarded(file_, [&]() -> base::Result<void> {
    SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto done = work();
    if (!done) return done;  // rolled back by the transaction's destructor
    transaction.commit();
    return {};
  });
}

}  // namespace store

#pragma once
/// The history of jobs, kept in the state directory's database so that it outlives the server:
/// every job this server runs is recorded as it starts and ends (with what it printed, bounded),
/// and jobs this server does not hold (an earlier server's, another running server's, or its own
/// forgotten ones) are found there again. Bridges the engine (jobs) and the database (store):
/// writes go through a HistoryWriter thread, reads are made on the event loop's thread.
///
/// A row without an end whose server is gone (killed with SIGKILL, or the machine rebooted) is
/// not left `running` for ever: the first server that reads it shows it `lost` at once, reason
/// server_gone, and marks it so through the writer thread (the loop never waits for a write
/// lock another server may hold). Its processes were ended by that server's watchdog; how they
/// ended is unknown.
///
/// A write that fails (a full disk, a read-only or locked file) is logged (the first, and each
/// new error), summed up when the history closes, and shown by `status` for the job concerned.

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "jobs/job.h"
#include "jobs/job_manager.h"
#include "policy/redactor.h"
#include "store/history_db.h"
#include "store/history_writer.h"

namespace history {

/// How much of a finished job's output the history keeps: its first bytes and its last ones.
inline constexpr uint64_t kKeptHeadBytes = uint64_t{16} * 1024;
inline constexpr uint64_t kKeptTailBytes = uint64_t{64} * 1024;

class JobHistory {
 public:
  /// Prepares `state_dir` (0700) and opens its database; records the jobs of `manager` from now
  /// on. `redactor` (may be null) is applied to commands, labels and output before they are
  /// stored, so the file holds what the tools would show. Marks open rows of servers that are
  /// gone as lost.
  /// A keeper (src/keeper/) records its one job as persisted, with itself as the job's keeper,
  /// and keeps all the output the job's log holds, not a head and tail of it.
  enum class Role { kServer, kKeeper };
  static base::Result<std::unique_ptr<JobHistory>> open(const std::filesystem::path& state_dir,
                                                        jobs::JobManager& manager,
                                                        const policy::Redactor* redactor,
                                                        Role role = Role::kServer);
  ~JobHistory();
  JobHistory(const JobHistory&) = delete;
  JobHistory& operator=(const JobHistory&) = delete;

  const std::filesystem::path& database() const { return reader_.file(); }

  /// A job the manager does not hold, rebuilt from its row (a finished job, or one marked lost
  /// now); null if the database has no such id. An error for a row that cannot be shown as a
  /// finished job (it runs under another server that is still alive), saying so.
  base::Result<std::shared_ptr<jobs::Job>> find(std::string_view id);

  /// A page of the jobs recorded in the database that the manager does not hold, newest first,
  /// rebuilt as in find() (without their output). `before_seq`: the cursor.
  struct Page {
    std::vector<std::shared_ptr<jobs::Job>> jobs;
    std::vector<int64_t> seqs;  // each job's place, for the next cursor
    bool more = false;
  };
  base::Result<Page> list(std::optional<int64_t> before_seq, size_t limit);

  /// How a persisted job that is still running is shown here: its keeper is asked (set by
  /// keeper::Keepers; unset, such a job is refused like any job of another live server).
  using TakeBack = std::function<base::Result<std::shared_ptr<jobs::Job>>(std::string_view id)>;
  void set_take_back(TakeBack take_back) { take_back_ = std::move(take_back); }
  /// Records that job `id` ended without its end being known (its keeper vanished), if its row
  /// is still open.
  void mark_lost(const std::string& id, jobs::EndReason reason);

  /// Waits until everything recorded so far is in the database (at shutdown, and in tests).
  void flush() { writer_.flush(); }
  /// Changes that failed to reach the database, and the last error (naming the file).
  store::HistoryWriter::Stats write_stats() const { return writer_.stats(); }
  /// Why the row of job `id` could not be written, if its last write failed.
  std::optional<std::string> write_failure(const std::string& id) const {
    return writer_.failure(id);
  }

 private:
  JobHistory(store::HistoryDb reader, store::HistoryDb writer, jobs::JobManager& manager,
             const policy::Redactor* redactor, Role role);
  void record(const jobs::Job& job, bool with_output);
  // On the writer's thread: logs a failed write, the first and each that differs from the last.
  void log_write_failure(const std::string& job_id, const base::Error& error);
  void prune();
  // Marks `row` lost if it has no end and its server is gone; true if it may be shown.
  base::Result<bool> settle(store::JobRecord& row);
  // What the keeper of a persisted job copied of its output to disk, if the file is there.
  std::optional<store::StoredOutput> output_on_disk(const std::string& id) const;
  std::shared_ptr<jobs::Job> rebuild(const store::JobRecord& row,
                                     const std::optional<store::StoredOutput>& output) const;

  store::HistoryDb reader_;
  store::HistoryWriter writer_;
  jobs::JobManager& manager_;
  const policy::Redactor* redactor_;
  Role role_;
  TakeBack take_back_;
  std::string server_id_;
  store::ProcessIdentity server_;
  std::shared_ptr<void> alive_ = std::make_shared<int>(0);  // owns the manager's observers
  std::string last_logged_error_;                           // Writer's thread only.
  // Rows this server found open under a gone server and shows lost, with the time it said so,
  // until its own mark reaches the database (kept, so a second look shows the same end).
  mutable std::mutex lost_mutex_;
  std::unordered_map<std::string, store::EpochMillis> marked_lost_;
};

/// This boot's id (/proc/sys/kernel/random/boot_id): a pid and start time mean nothing across
/// a reboot.
std::string current_boot_id();

}  // namespace history

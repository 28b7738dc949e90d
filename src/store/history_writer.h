#pragma once
/// Writes to the history database from a thread of its own, so that the event loop never waits on
/// SQLite's locks or the disk: `execute` and a job's end each queue a change and go on. The
/// thread applies everything queued so far in one transaction, so a burst of a thousand job
/// starts costs a handful of commits. A change that fails is counted, handed to the failure
/// handler (to log it) and, if it names a job, remembered against that job until a later change
/// of the same job succeeds, for `status` to say so; the writer goes on with the next.
/// Owned by main (or a keeper); submit() may be called from any one thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "base/result.h"
#include "store/history_db.h"

namespace store {

class HistoryWriter {
 public:
  using Change = std::function<base::Result<void>(HistoryDb&)>;
  /// Called on the writer's thread for each change that failed: the job it was for (empty if
  /// none) and the error, which names the file.
  using FailureHandler = std::function<void(const std::string& job_id, const base::Error& error)>;

  struct Stats {
    uint64_t applied = 0;    // Changes committed.
    uint64_t failed = 0;     // Changes lost to an error (the disk is full, the file went bad).
    std::string last_error;  // The most recent failure, naming the file.
  };

  /// Takes its own connection (a connection belongs to one thread).
  explicit HistoryWriter(HistoryDb db, FailureHandler on_failure = {});
  ~HistoryWriter();
  HistoryWriter(const HistoryWriter&) = delete;
  HistoryWriter& operator=(const HistoryWriter&) = delete;

  /// Queues `change`, a change of the row of `job_id` (empty: of no one job); never waits for
  /// the disk.
  void submit(Change change, std::string job_id = {});
  /// Returns once everything submitted before the call is committed (or failed).
  void flush();
  /// Applies what is queued and stops the thread. Called by the destructor too.
  void close();

  Stats stats() const;
  /// The error of the last change of `job_id` that failed, unless one applied since: the job's
  /// row in the database is missing or out of date.
  std::optional<std::string> failure(const std::string& job_id) const;

 private:
  struct Pending {
    Change change;
    std::string job_id;
  };

  void run();

  HistoryDb db_;
  FailureHandler on_failure_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<Pending> queue_;
  uint64_t submitted_ = 0;
  uint64_t done_ = 0;
  bool closing_ = false;
  Stats stats_;
  std::unordered_map<std::string, std::string> failed_jobs_;  // job id -> its last error
  std::thread thread_;
};

}  // namespace store

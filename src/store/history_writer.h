#pragma once
/// Writes to the history database from a thread of its own, so that the event loop never waits on
/// SQLite's locks or the disk: `execute` and a job's end each queue a change and go on. The
/// thread applies everything queued so far in one transaction, so a burst of a thousand job
/// starts costs a handful of commits. A change that fails is counted and its error kept, for the
/// tools to report; the writer goes on with the next.
/// Owned by main (or a keeper); submit() may be called from any one thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"
#include "store/history_db.h"

namespace store {

class HistoryWriter {
 public:
  using Change = std::function<base::Result<void>(HistoryDb&)>;

  struct Stats {
    uint64_t applied = 0;    // Changes committed.
    uint64_t failed = 0;     // Changes lost to an error (the disk is full, the file went bad).
    std::string last_error;  // The most recent failure, naming the file.
  };

  /// Takes its own connection (a connection belongs to one thread).
  explicit HistoryWriter(HistoryDb db);
  ~HistoryWriter();
  HistoryWriter(const HistoryWriter&) = delete;
  HistoryWriter& operator=(const HistoryWriter&) = delete;

  /// Queues `change`; never waits for the disk.
  void submit(Change change);
  /// Returns once everything submitted before the call is committed (or failed).
  void flush();
  /// Applies what is queued and stops the thread. Called by the destructor too.
  void close();

  Stats stats() const;

 private:
  void run();

  HistoryDb db_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<Change> queue_;
  uint64_t submitted_ = 0;
  uint64_t done_ = 0;
  bool closing_ = false;
  Stats stats_;
  std::thread thread_;
};

}  // namespace store

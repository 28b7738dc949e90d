#pragma once
/// The audit log file (setting `audit_log`): one JSON object per line, appended by a writer
/// thread of its own so that the event loop never waits on the disk. The queue between them is
/// bounded: when it is full, records are dropped and counted, and a record saying how many were
/// lost (and why) is written in their place, so the file never silently misses anything. Before
/// a line would take the file past `max_size`, the file is renamed to PATH.1 (replacing the
/// previous one) and a new PATH is started. Nothing is fsynced.
/// Owned by main; record() may be called from any one thread (the event loop's).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "base/result.h"
#include "base/unique_fd.h"

namespace policy {

class AuditLog {
 public:
  struct Options {
    std::filesystem::path path;
    // Rotate before the file would exceed it; 0: never. Only a regular file is rotated.
    uint64_t max_size = uint64_t{10} << 20;
    size_t queue_capacity = 4096;  // Records waiting for the writer, at most.
  };

  struct Stats {
    uint64_t written = 0;    // Records written to the file (loss notices included).
    uint64_t dropped = 0;    // Records lost because the queue was full.
    uint64_t failed = 0;     // Records lost because a write (or a reopen after rotating) failed.
    uint64_t rotations = 0;  // Times the file was renamed to PATH.1.
  };

  /// Opens PATH for appending (creating it, mode 0600: commands can be sensitive) and starts the
  /// writer. Fails, saying why, if PATH cannot be opened for writing or its directory is not
  /// writable (rotation creates PATH.1 there).
  static base::Result<std::unique_ptr<AuditLog>> open(Options options);

  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  /// Queues `entry` (an object) as one line, without waiting; adds "time" (ISO 8601, UTC, now)
  /// first unless it has one. Dropped (and counted) when the queue is full or after close().
  void record(nlohmann::json entry);

  /// Writes everything queued, stops the writer and closes the file. Called by the destructor
  /// too.
  void close();

  Stats stats() const;
  const std::filesystem::path& path() const { return options_.path; }

 private:
  AuditLog(Options options, base::UniqueFd fd, uint64_t size);
  void run();
  void write_lines(std::deque<std::string>& lines);
  bool write_all(std::string_view bytes);
  void rotate();
  std::string loss_notice(uint64_t count, const std::string& reason) const;

  Options options_;

  // Shared with the writer, under mutex_.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  uint64_t dropped_pending_ = 0;  // Dropped since the last loss notice was queued.
  Stats stats_;

  // The writer's own.
  base::UniqueFd fd_;
  uint64_t size_ = 0;
  uint64_t failed_pending_ = 0;  // Lost to write errors since the last notice.
  std::string failure_;          // What the last of those errors was.
  uint64_t rotations_ = 0;

  std::thread writer_;  // Last: started once everything above exists.
};

}  // namespace policy

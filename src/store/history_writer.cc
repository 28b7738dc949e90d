#include "store/history_writer.h"

namespace store {

HistoryWriter::HistoryWriter(HistoryDb db) : db_(std::move(db)), thread_([this] { run(); }) {}

HistoryWriter::~HistoryWriter() { close(); }

void HistoryWriter::submit(Change change) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    queue_.push_back(std::move(change));
    ++submitted_;
  }
  wake_.notify_one();
}

void HistoryWriter::flush() {
  std::unique_lock lock(mutex_);
  uint64_t target = submitted_;
  drained_.wait(lock, [&] { return done_ >= target || !thread_.joinable(); });
}

void HistoryWriter::close() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

HistoryWriter::Stats HistoryWriter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void HistoryWriter::run() {
  for (;;) {
    std::deque<Change> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // Closing, and everything is applied.
      batch.swap(queue_);
    }
    // All of the batch in one transaction; should it fail as a whole (the disk is full), each
    // change is tried by itself, so one bad change does not take the others with it.
    uint64_t applied = 0, failed = 0;
    std::string error;
    auto whole = db_.in_transaction([&]() -> base::Result<void> {
      for (auto& change : batch) {
        if (auto done = change(db_); !done) return done;
      }
      return {};
    });
    if (whole) {
      applied = batch.size();
    } else {
      for (auto& change : batch) {
        auto done = change(db_);
        if (done) {
          ++applied;
        } else {
          ++failed;
          error = done.error().message;
        }
      }
    }
    std::lock_guard lock(mutex_);
    stats_.applied += applied;
    stats_.failed += failed;
    if (failed > 0) stats_.last_error = error;
    done_ += batch.size();
    drained_.notify_all();
  }
}

}  // namespace store

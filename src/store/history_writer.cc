#include "store/history_writer.h"

#include <vector>

namespace store {

HistoryWriter::HistoryWriter(HistoryDb db, FailureHandler on_failure)
    : db_(std::move(db)), on_failure_(std::move(on_failure)), thread_([this] { run(); }) {}

HistoryWriter::~HistoryWriter() { close(); }

void HistoryWriter::submit(Change change, std::string job_id) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    queue_.push_back(Pending{std::move(change), std::move(job_id)});
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

std::optional<std::string> HistoryWriter::failure(const std::string& job_id) const {
  std::lock_guard lock(mutex_);
  auto found = failed_jobs_.find(job_id);
  if (found == failed_jobs_.end()) return std::nullopt;
  return found->second;
}

void HistoryWriter::run() {
  for (;;) {
    std::deque<Pending> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // Closing, and everything is applied.
      batch.swap(queue_);
    }
    // All of the batch in one transaction; should it fail as a whole (the disk is full), each
    // change is tried by itself, so one bad change does not take the others with it.
    std::vector<std::optional<base::Error>> outcomes(batch.size());
    auto whole = db_.in_transaction([&]() -> base::Result<void> {
      for (auto& pending : batch) {
        if (auto done = pending.change(db_); !done) return done;
      }
      return {};
    });
    if (!whole) {
      for (size_t i = 0; i < batch.size(); ++i) {
        if (auto done = batch[i].change(db_); !done) outcomes[i] = done.error();
      }
    }
    // Handed over outside the lock: the handler logs, and may take its time.
    if (on_failure_) {
      for (size_t i = 0; i < batch.size(); ++i) {
        if (outcomes[i]) on_failure_(batch[i].job_id, *outcomes[i]);
      }
    }
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& job_id = batch[i].job_id;
      if (outcomes[i]) {
        ++stats_.failed;
        stats_.last_error = outcomes[i]->message;
        if (!job_id.empty()) failed_jobs_[job_id] = outcomes[i]->message;
      } else {
        ++stats_.applied;
        if (!job_id.empty()) failed_jobs_.erase(job_id);
      }
    }
    done_ += batch.size();
    drained_.notify_all();
  }
}

}  // namespace store

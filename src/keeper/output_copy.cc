#include "keeper/output_copy.h"

#include <spdlog/spdlog.h>

namespace keeper {

boost::asio::awaitable<void> copy_output(std::shared_ptr<jobs::Job> job, store::OutputFile& file) {
  const auto& log = job->output();
  for (;;) {
    // Woken after every batch the job's pipes gave: the log's ring cannot have moved past what
    // was copied (a batch is a few reads, the ring megabytes), unless the disk was slower.
    uint64_t copied = file.total_bytes();
    uint64_t total = log.total_bytes();
    if (copied < total) {
      for (const auto& piece : log.pieces(copied, total, jobs::StreamFilter::kBoth)) {
        if (piece.offset != file.total_bytes()) {
          spdlog::warn("the output file of job {} fell behind its log; it stops at {} bytes",
                       job->id(), file.total_bytes());
          co_return;
        }
        if (auto appended = file.append(piece.bytes); !appended) {
          spdlog::warn("job {}: {}; its output is no longer copied to disk", job->id(),
                       appended.error().message);
          co_return;
        }
      }
    }
    if (job->finished() && !job->output_open()) {
      file.mark_closed();
      co_return;
    }
    co_await job->wait_for_change(std::chrono::steady_clock::time_point::max(),
                                  jobs::Job::Wake::kOnOutputToo);
  }
}

}  // namespace keeper

#include "mcp/tasks.h"

#include <fmt/format.h>

#include <algorithm>

#include "sys/process.h"

namespace mcp::tasks {

std::string_view status_of(const jobs::Job& job) {
  switch (job.status()) {
    case jobs::JobStatus::kQueued:
    case jobs::JobStatus::kRunning:
      return job.stop_requested() ? "cancelled" : "working";
    case jobs::JobStatus::kCompleted:
      return "completed";
    case jobs::JobStatus::kKilled:
    case jobs::JobStatus::kCancelled:
      return "cancelled";
    case jobs::JobStatus::kFailed:
    case jobs::JobStatus::kTimedOut:
    case jobs::JobStatus::kLost:
      return "failed";
  }
  return "failed";
}

bool is_terminal(std::string_view status) {
  return status == "completed" || status == "failed" || status == "cancelled";
}

std::string status_message(const jobs::Job& job) {
  auto how_it_ended = [&job]() -> std::string {
    if (job.exit_code()) return fmt::format("exited with code {}", *job.exit_code());
    if (job.term_signal()) return fmt::format("ended by {}", sys::signal_name(*job.term_signal()));
    return "ended";
  };
  switch (job.status()) {
    case jobs::JobStatus::kQueued:
      if (job.stop_requested()) return "cancelled; not started yet";
      return "queued: waiting for a free slot (max_jobs); status shows its queue_position";
    case jobs::JobStatus::kRunning:
      if (job.stop_requested()) {
        return fmt::format("cancelled: signalled, pid {} is ending (KILL follows the grace)",
                           job.pid());
      }
      return fmt::format("running, pid {}", job.pid());
    case jobs::JobStatus::kCompleted:
      return how_it_ended();
    case jobs::JobStatus::kFailed:
      if (!job.has_started()) return "could not start; status shows why (start_error)";
      if (job.end_reason() == jobs::EndReason::kMemoryLimit) {
        return how_it_ended() + ": killed for using more than its memory limit";
      }
      return how_it_ended();
    case jobs::JobStatus::kTimedOut:
      return how_it_ended() + ": ended by its time limit (timeout_seconds or job_timeout)";
    case jobs::JobStatus::kKilled:
      return how_it_ended() + ": killed (tasks/cancel or kill)";
    case jobs::JobStatus::kCancelled:
      return "cancelled while queued: it never ran";
    case jobs::JobStatus::kLost:
      return "lost: the server that ran it ended before the job did; its exit is unknown";
  }
  return how_it_ended();
}

void Registry::add(const std::string& id, Record record) {
  if (record.refusal) refused_.push_back(id);
  records_[id] = std::move(record);
  order_.push_back(id);
  while (order_.size() > kKept) {
    const std::string& oldest = order_.front();
    if (!refused_.empty() && refused_.front() == oldest) refused_.pop_front();
    records_.erase(oldest);
    order_.pop_front();
  }
}

const Record* Registry::find(std::string_view id) const {
  auto it = records_.find(std::string(id));
  return it == records_.end() ? nullptr : &it->second;
}

int64_t ttl_ms(const Record* record, std::chrono::milliseconds retention) {
  int64_t kept = retention.count();
  if (record != nullptr && record->requested_ttl_ms) {
    return std::min(kept, *record->requested_ttl_ms);
  }
  return kept;
}

Json task_json(const jobs::Job& job, int64_t ttl) {
  base::WallClock::time_point updated = job.queued_at();
  if (job.has_started()) updated = std::max(updated, job.started());
  if (job.ended()) updated = std::max(updated, *job.ended());
  return Json{{"taskId", job.id()},
              {"status", status_of(job)},
              {"statusMessage", status_message(job)},
              {"createdAt", base::iso8601_utc(job.queued_at())},
              {"lastUpdatedAt", base::iso8601_utc(updated)},
              {"ttl", ttl},
              {"pollInterval", kPollIntervalMs}};
}

Json refused_task_json(const std::string& id, const Record& record, int64_t ttl) {
  std::string when = base::iso8601_utc(record.created);
  return Json{{"taskId", id},
              {"status", "failed"},
              {"statusMessage", record.refusal.value_or("refused")},
              {"createdAt", when},
              {"lastUpdatedAt", when},
              {"ttl", ttl},
              {"pollInterval", kPollIntervalMs}};
}

}  // namespace mcp::tasks

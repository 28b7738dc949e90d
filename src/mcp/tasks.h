#pragma once
/// MCP tasks as the 2025-11-25 specification has them (experimental, in core): a job is a task.
/// `tools/call` of `execute` with `params.task` answers a CreateTaskResult whose taskId is the
/// job id; tasks/get, tasks/result, tasks/list and tasks/cancel work on any job id (McpServer's
/// server_tasks.cc serves them). What the job tools and the task methods show of one job is the
/// same job, read at the same moment. See docs/tasks.md.
///
/// Here: the mapping from a job's state to a task's (status, statusMessage, timestamps, ttl), and
/// what one server (one session) remembers of the tasks it created.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/time.h"
#include "jobs/job.h"
#include "mcp/json_rpc.h"

namespace mcp::tasks {

/// What pollInterval suggests, in milliseconds.
inline constexpr int64_t kPollIntervalMs = 1000;
/// Tasks per tasks/list page.
inline constexpr size_t kPageSize = 50;

/// working (queued or running), completed (exited 0), failed (any other end but a kill),
/// cancelled (killed by kill or tasks/cancel, from the moment the signal is sent; or cancelled
/// while queued).
std::string_view status_of(const jobs::Job& job);
bool is_terminal(std::string_view status);
/// What the status means for this job, in a sentence: exit code, signal, why it failed.
std::string status_message(const jobs::Job& job);

/// What a server remembers of a task it created: the call's arguments (they shape the result
/// tasks/result gives) and the ttl asked for; or, for a call refused before any job started,
/// its error (the task is then failed from the start, and has no job).
struct Record {
  Json arguments = Json::object();
  std::optional<int64_t> requested_ttl_ms;
  std::optional<std::string> refusal;
  base::WallClock::time_point created = base::WallClock::now();
};

/// The tasks one McpServer created, by id. Bounded: beyond kKept, the oldest are forgotten
/// (their jobs stay tasks, read with default arguments).
class Registry {
 public:
  static constexpr size_t kKept = 10000;
  void add(const std::string& id, Record record);
  const Record* find(std::string_view id) const;
  /// The refused calls' tasks, oldest first.
  const std::deque<std::string>& refused() const { return refused_; }

 private:
  std::unordered_map<std::string, Record> records_;
  std::deque<std::string> order_;
  std::deque<std::string> refused_;
};

/// The ttl a task shows: the operator's retention (a finished job is kept at least that long
/// after it ends, so at least that long after it was created, unless max_finished evicts it
/// first), or less if the client asked for less.
int64_t ttl_ms(const Record* record, std::chrono::milliseconds retention);

/// The Task object of a job: {taskId, status, statusMessage, createdAt, lastUpdatedAt, ttl,
/// pollInterval}.
Json task_json(const jobs::Job& job, int64_t ttl);
/// The Task of a refused call (failed, with the error as its statusMessage).
Json refused_task_json(const std::string& id, const Record& record, int64_t ttl);

}  // namespace mcp::tasks

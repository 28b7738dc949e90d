#pragma once
/// Typed wrappers over the tools the scenarios call (execute, status, wait) and the one wait most
/// of them need: poll status until a job has completed. Anything unexpected in a reply is a
/// Failure.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mcp_client.h"
#include "stats.h"

namespace bench {

struct StartedJob {
  std::string id;
  pid_t pid = -1;
  std::string status;      // As execute reported it: "running" unless it already ended.
  Clock::time_point sent;  // When the execute request was written.
};

struct JobStatus {
  std::string status;  // running | completed | failed | killed
  std::optional<int> exit_code;
  uint64_t output_bytes = 0;
  uint64_t dropped_bytes = 0;
  Clock::time_point received;  // When the status reply arrived.
};

/// Starts `command` (run by the server through /bin/sh -c).
StartedJob execute(McpClient& client, std::string_view command);

JobStatus status(McpClient& client, std::string_view job_id,
                 Clock::duration timeout = McpClient::kDefaultTimeout);

struct CompletionWait {
  // Output the job must have produced before it counts as done: the exit can be observed
  // before the last bytes have been read from the pipe.
  std::optional<uint64_t> output_bytes;
  // Pause between status calls. Zero polls back to back: the finest resolution, right for
  // jobs that last a millisecond. Long jobs use a pause so the polling does not steal the
  // server's time from the very work being measured.
  Clock::duration poll_interval = Clock::duration::zero();
  Clock::duration timeout = std::chrono::seconds(10);
  // Longest wait for one status reply (a server under test may be slow to answer).
  Clock::duration reply_timeout = McpClient::kDefaultTimeout;
};

/// Polls status until the job has completed with exit code 0 (and, if asked, printed all its
/// output). A job that fails or is killed, or is not done by the timeout, is a Failure.
JobStatus await_completion(McpClient& client, const StartedJob& job, const CompletionWait& wait);

/// What the wait tool answered.
struct WaitResult {
  std::string reason;  // exited | matched | timeout
  std::string status;  // The job's status when the wait ended.
  std::optional<int> exit_code;
  Clock::time_point sent;      // When the wait request was written.
  Clock::time_point received;  // When its reply arrived.
};

/// The arguments of a wait for `job_id` to exit, with the server-side `timeout`.
Json wait_arguments(std::string_view job_id, std::chrono::seconds timeout);

/// Reads a reply to wait, from call_tool or collect_tool.
WaitResult parse_wait(const Reply& reply);

/// Calls wait and blocks until it answers. The reply is expected within `timeout` plus a margin
/// for the server's own drain of the job's pipes and the round trip.
WaitResult wait_for_exit(McpClient& client, std::string_view job_id, std::chrono::seconds timeout);

/// Bytes printed by `seq 1 last`: each number's digits plus a newline.
uint64_t seq_output_bytes(uint64_t last);

}  // namespace bench

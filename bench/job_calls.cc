#include "job_calls.h"

#include <algorithm>
#include <thread>

#include "failure.h"

namespace bench {

StartedJob execute(McpClient& client, std::string_view command) {
  Reply reply = client.call_tool("execute", Json{{"command", command}});
  const Json& r = reply.result;
  check(r.contains("job_id") && r["job_id"].is_string() && r.contains("pid") &&
            r["pid"].is_number_integer() && r.contains("status") && r["status"].is_string(),
        "execute returned an unexpected result: {}", r.dump());
  return StartedJob{.id = r["job_id"].get<std::string>(),
                    .pid = r["pid"].get<pid_t>(),
                    .status = r["status"].get<std::string>(),
                    .sent = reply.sent};
}

JobStatus status(McpClient& client, std::string_view job_id, Clock::duration timeout) {
  Reply reply = client.call_tool("status", Json{{"job_id", job_id}}, timeout);
  const Json& r = reply.result;
  check(r.contains("status") && r["status"].is_string() && r.contains("output_bytes") &&
            r["output_bytes"].is_number_unsigned() && r.contains("dropped_bytes") &&
            r["dropped_bytes"].is_number_unsigned() && r.contains("exit_code"),
        "status returned an unexpected result: {}", r.dump());
  return JobStatus{.status = r["status"].get<std::string>(),
                   .exit_code = r["exit_code"].is_number_integer()
                                    ? std::optional(r["exit_code"].get<int>())
                                    : std::nullopt,
                   .output_bytes = r["output_bytes"].get<uint64_t>(),
                   .dropped_bytes = r["dropped_bytes"].get<uint64_t>(),
                   .received = reply.received};
}

JobStatus await_completion(McpClient& client, const StartedJob& job, const CompletionWait& wait) {
  const auto deadline = job.sent + wait.timeout;
  for (auto next_poll = Clock::now();; next_poll += wait.poll_interval) {
    if (wait.poll_interval > Clock::duration::zero()) std::this_thread::sleep_until(next_poll);
    JobStatus now = status(client, job.id, wait.reply_timeout);
    if (now.status != "running") {
      check(now.status == "completed" && now.exit_code == 0,
            "job {} ({}) ended {} with exit code {} instead of completing", job.id, job.pid,
            now.status, now.exit_code ? std::to_string(*now.exit_code) : "none");
      if (!wait.output_bytes || now.output_bytes == *wait.output_bytes) return now;
      check(now.output_bytes < *wait.output_bytes,
            "job {} printed {} bytes, more than the {} expected", job.id, now.output_bytes,
            *wait.output_bytes);
    }
    check(now.received < deadline,
          "job {} was not done within {:.1f} s (status {}, {} of {} output bytes)", job.id,
          to_seconds(wait.timeout), now.status, now.output_bytes,
          wait.output_bytes ? std::to_string(*wait.output_bytes) : "any");
  }
}

Json wait_arguments(std::string_view job_id, std::chrono::seconds timeout) {
  return Json{{"job_id", job_id}, {"timeout_seconds", timeout.count()}};
}

WaitResult parse_wait(const Reply& reply) {
  const Json& r = reply.result;
  check(r.contains("reason") && r["reason"].is_string() && r.contains("status") &&
            r["status"].is_string() && r.contains("exit_code"),
        "wait returned an unexpected result: {}", r.dump());
  return WaitResult{.reason = r["reason"].get<std::string>(),
                    .status = r["status"].get<std::string>(),
                    .exit_code = r["exit_code"].is_number_integer()
                                     ? std::optional(r["exit_code"].get<int>())
                                     : std::nullopt,
                    .sent = reply.sent,
                    .received = reply.received};
}

WaitResult wait_for_exit(McpClient& client, std::string_view job_id, std::chrono::seconds timeout) {
  return parse_wait(client.call_tool("wait", wait_arguments(job_id, timeout),
                                     timeout + McpClient::kDefaultTimeout));
}

uint64_t seq_output_bytes(uint64_t last) {
  uint64_t total = 0;
  for (uint64_t low = 1, digits = 1; low <= last; low *= 10, ++digits) {
    uint64_t high = std::min(last, low * 10 - 1);
    total += (high - low + 1) * (digits + 1);
  }
  return total;
}

}  // namespace bench

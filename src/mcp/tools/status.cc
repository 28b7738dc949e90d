// status: one job's current state, always up to date (exits are seen when they happen).
#include "mcp/tools/common.h"
#include "mcp/tools/ports.h"

namespace mcp::tools {
namespace {

boost::asio::awaitable<ToolOutcome> status(Json arguments, ToolContext& context) {
  auto job = find_job(context, arguments);
  if (!job) co_return ToolOutcome::fail(job.error().message);
  Json result = job_status(**job, context.jobs, context.redactor, context.limits.max_read_bytes);
  if (context.history) {
    if (auto failure = context.history->write_failure((*job)->id())) {
      result["history_error"] = *failure;
    }
  }
  co_return ToolOutcome::ok(std::move(result));
}

}  // namespace

Tool make_status_tool(const ToolLimits&) {
  Tool tool;
  tool.name = "status";
  tool.title = "Job status";
  tool.description =
      "Get one job's current state: {job_id, label, command, cwd, status, pid, exit_code, "
      "signal, reason, started, ended, duration_seconds, output_bytes, dropped_bytes, pty, "
      "client, session, waiting_for_input, rss_bytes, cpu_seconds, processes_left, ports}. client "
      "and session say who "
      "started it (the client's name; stdio or the start of its HTTP session id). status is "
      "running, completed (exit 0), failed "
      "(non-zero exit, a signal this server did not send, or could not start: see "
      "start_error), killed (stopped by the kill tool or server shutdown), timed_out (ran past "
      "its timeout_seconds), queued (waiting for a free slot under max_jobs: queue_position 1 "
      "starts next; pid and started are null until it starts) or cancelled (killed while "
      "queued, never ran) or lost (its end was never recorded: reason server_gone or "
      "keeper_gone). persisted: started with persist (it outlives its server). from_history: "
      "read from the history. history_error: its record could not be written (file, cause). "
      "reason memory_limit: killed for its memory (status failed). For a running "
      "job, waiting_for_input is true when one of its processes is blocked reading its stdin "
      "(read from /proc, not guessed from the output): answer it with interact. rss_bytes and "
      "cpu_seconds are summed over every process of the job, wherever it went (a new session, a "
      "daemon); ports: the TCP ports they listen on, [{port, address}] (absent: none). A finished "
      "status "
      "(completed, failed, ...) is the main process's: when "
      "processes_left is above 0, processes it started still run (left_pids names up to 20), "
      "and kill ends them. It is always current: no "
      "polling is needed for the server to notice an exit. output_bytes counts everything the "
      "job printed; dropped_bytes what was discarded from the middle to stay within the bound. "
      "pty is true for a job that runs on a pseudo-terminal; separate_streams for one whose "
      "stdout and stderr were captured apart. command, label and start_error are cut at "
      "max_read_bytes.";
  tool.input_schema = Json{{"type", "object"},
                           {"properties", {{"job_id", job_id_schema()}}},
                           {"required", {"job_id"}},
                           {"additionalProperties", false}};
  Json output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "job_id": {"type": "string"},
      "label": {"type": "string"},
      "command": {"type": "string"},
      "cwd": {"type": "string"},
      "pid": {"type": ["integer", "null"]},
      "exit_code": {"type": ["integer", "null"]},
      "signal": {"type": ["string", "null"]},
      "started": {"type": ["string", "null"]},
      "queue_position": {"type": "integer"},
      "queued_at": {"type": "string"},
      "start_error": {"type": "string"},
      "ended": {"type": ["string", "null"]},
      "duration_seconds": {"type": "number"},
      "output_bytes": {"type": "integer"},
      "dropped_bytes": {"type": "integer"},
      "pty": {"type": "boolean"},
      "separate_streams": {"type": "boolean"},
      "waiting_for_input": {"type": "boolean"},
      "rss_bytes": {"type": ["integer", "null"]},
      "cpu_seconds": {"type": ["number", "null"]},
      "left_pids": {"type": "array", "items": {"type": "integer"}},
      "from_history": {"type": "boolean"},
      "persisted": {"type": "boolean"},
      "history_error": {"type": "string"}
    },
    "required": ["job_id", "label", "command", "cwd", "status", "pid", "exit_code", "signal",
                 "started", "ended", "duration_seconds", "output_bytes", "dropped_bytes", "pty",
                 "separate_streams", "waiting_for_input", "rss_bytes", "cpu_seconds", "reason",
                 "client", "session", "processes_left"]
  })json");
  output_schema["properties"]["reason"] = end_reason_schema();
  output_schema["properties"]["client"] = client_schema();
  output_schema["properties"]["session"] = session_schema();
  output_schema["properties"]["processes_left"] = processes_left_schema();
  output_schema["properties"]["ports"] = ports_schema();
  tool.output_schema = std::move(output_schema);
  tool.output_schema["properties"]["status"] = status_schema();
  tool.annotations = read_only_annotations(tool.title);
  tool.handler = status;
  return tool;
}

}  // namespace mcp::tools

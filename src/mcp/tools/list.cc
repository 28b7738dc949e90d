// list: every job the server remembers, newest first.
#include "mcp/tools/common.h"

namespace mcp::tools {
namespace {

boost::asio::awaitable<ToolOutcome> list(Json arguments, ToolContext& context) {
  std::string wanted = arguments.value("status", "");
  bool mine = arguments.value("mine", false);
  if (mine && context.caller.session.empty() && context.caller.client.empty()) {
    co_return ToolOutcome::fail(
        "'mine' needs to know who you are, and this request has no session and names no client: "
        "send your name in _meta[\"io.modelcontextprotocol/clientInfo\"], or leave 'mine' out "
        "and tell your jobs apart by their client and session fields");
  }
  Json rows = Json::array();
  for (const auto& job : context.jobs.jobs_newest_first()) {
    if (!wanted.empty() && jobs::to_string(job->status()) != wanted) continue;
    if (mine && !started_by(job->spec().owner, context.caller)) continue;
    Json row = job_summary(*job, context.redactor);
    add_queue_state(row, *job, context.jobs, context.redactor);
    rows.push_back(std::move(row));
  }
  co_return ToolOutcome::ok(Json{{"jobs", std::move(rows)}});
}

}  // namespace

Tool make_list_tool(const ToolLimits&) {
  Tool tool;
  tool.name = "list";
  tool.title = "List jobs";
  tool.description =
      "List the background jobs this server knows, newest first: running ones and finished ones "
      "still retained, whoever started them (jobs belong to the server, not to a client). Each "
      "row: {job_id, label, command, status, exit_code, reason, started, ended, client, "
      "session, waiting_for_input, rss_bytes, cpu_seconds, processes_left}; client and session "
      "say who started the job; waiting_for_input, rss_bytes and cpu_seconds describe the job's "
      "processes while any run (waiting_for_input: blocked reading its stdin, so answer it with "
      "interact). A finished status is the main process's: processes_left above 0 means "
      "processes it started still run (kill ends them). Queued jobs (waiting for a free "
      "slot) have queue_position (1 starts next) and started null. Filter with `status`, and "
      "with `mine: true` for only the jobs you started. Use it to recover a lost job_id or see "
      "what is still running.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "status": {"description": "Only jobs with this status."},
      "mine": {"type": "boolean",
               "description": "true: only the jobs you started: those of your session (without a session: those started without one by a client of your name). Default false: every job, whoever started it."}
    },
    "additionalProperties": false
  })json");
  Json output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "jobs": {"type": "array", "items": {
        "type": "object",
        "properties": {
          "job_id": {"type": "string"},
          "label": {"type": "string"},
          "command": {"type": "string"},
          "exit_code": {"type": ["integer", "null"]},
          "started": {"type": ["string", "null"]},
          "queue_position": {"type": "integer"},
          "queued_at": {"type": "string"},
          "start_error": {"type": "string"},
          "ended": {"type": ["string", "null"]},
          "waiting_for_input": {"type": "boolean"},
          "rss_bytes": {"type": ["integer", "null"]},
          "cpu_seconds": {"type": ["number", "null"]}
        },
        "required": ["job_id", "label", "command", "status", "exit_code", "started", "ended",
                     "waiting_for_input", "rss_bytes", "cpu_seconds", "reason", "client",
                     "session", "processes_left"]
      }}
    },
    "required": ["jobs"]
  })json");
  output_schema["properties"]["jobs"]["items"]["properties"]["reason"] = end_reason_schema();
  output_schema["properties"]["jobs"]["items"]["properties"]["client"] = client_schema();
  output_schema["properties"]["jobs"]["items"]["properties"]["session"] = session_schema();
  output_schema["properties"]["jobs"]["items"]["properties"]["processes_left"] =
      processes_left_schema();
  tool.output_schema = std::move(output_schema);
  tool.input_schema["properties"]["status"].update(status_schema());
  tool.output_schema["properties"]["jobs"]["items"]["properties"]["status"] = status_schema();
  tool.annotations = read_only_annotations(tool.title);
  tool.handler = list;
  return tool;
}

}  // namespace mcp::tools

// kill: signal a job's whole process group, escalating to KILL after a grace period.
#include <fmt/format.h>

#include "mcp/tools/common.h"

namespace mcp::tools {
namespace {

constexpr double kDefaultGraceSeconds = 5.0;

boost::asio::awaitable<ToolOutcome> kill(Json arguments, ToolContext& context) {
  auto job = find_job(context, arguments);
  if (!job) co_return ToolOutcome::fail(job.error().message);
  // Recorded before the cancel, whose job-end record would otherwise come first.
  if ((*job)->queued() && context.acted) context.acted(**job);
  if (context.jobs.cancel_queued((*job)->id())) {
    co_return ToolOutcome::ok(Json{{"job_id", (*job)->id()},
                                   {"result", "cancelled"},
                                   {"signal", nullptr},
                                   {"status", jobs::to_string((*job)->status())},
                                   {"exit_code", nullptr}});
  }
  std::string name = arguments.value("signal", "TERM");
  int sig = *sys::parse_signal_name(name);  // the schema admits only names that parse
  auto grace = std::chrono::milliseconds(
      static_cast<int64_t>(arguments.value("grace_seconds", kDefaultGraceSeconds) * 1000.0));
  auto result = (*job)->kill(sig, grace);
  if (context.acted) context.acted(**job);
  co_return ToolOutcome::ok(
      Json{{"job_id", (*job)->id()},
           {"result",
            result == jobs::Job::SignalResult::kSignalled ? "signalled" : "already_terminated"},
           {"signal", sys::signal_name(sig)},
           {"status", jobs::to_string((*job)->status())},
           {"exit_code", exit_code_or_null(**job)}});
}

}  // namespace

Tool make_kill_tool(const ToolLimits&) {
  Tool tool;
  tool.name = "kill";
  tool.title = "Stop a job";
  tool.description =
      "Stop a job: send `signal` (default TERM) once to every process of it: its process group "
      "(npm run dev, sh -c 'a & b') and whatever left it (setsid, nohup cmd &, daemons that "
      "forked twice), then KILL to everything left after grace_seconds (default 5). Returns at "
      "once with {job_id, result, signal, status, exit_code}: result is signalled; or, for a "
      "job whose main process had already exited, signalled if processes it left behind were "
      "(processes_left in status; its status stays), already_terminated if nothing of it was "
      "left; or cancelled for a queued job, which then never runs (status cancelled, signal "
      "null). Check status afterwards to see it become killed. "
      "INT is Ctrl-C; HUP, QUIT, USR1 and USR2 are delivered as they are, for programs that "
      "handle them.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "signal": {"type": "string", "enum": ["TERM", "INT", "HUP", "QUIT", "KILL", "USR1", "USR2"],
                 "description": "The signal to send first (default TERM)."},
      "grace_seconds": {"type": "number", "minimum": 0, "maximum": 300,
                        "description": "Seconds before KILL follows if anything is left, 0 to 300 (default 5)."}
    },
    "required": ["job_id"],
    "additionalProperties": false
  })json");
  tool.input_schema["properties"]["job_id"] = job_id_schema();
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "job_id": {"type": "string"},
      "result": {"type": "string", "enum": ["signalled", "already_terminated", "cancelled"]},
      "signal": {"type": ["string", "null"]},
      "exit_code": {"type": ["integer", "null"]}
    },
    "required": ["job_id", "result", "signal", "status", "exit_code"]
  })json");
  tool.output_schema["properties"]["status"] = status_schema();
  tool.annotations = tool_annotations(tool.title, {.destructive = true, .idempotent = true});
  tool.handler = kill;
  return tool;
}

}  // namespace mcp::tools

// execute: start a background job.
#include <fmt/format.h>

#include "mcp/tools/common.h"

namespace mcp::tools {
namespace {

boost::asio::awaitable<ToolOutcome> execute(Json arguments, ToolContext& context) {
  bool has_command = arguments.contains("command");
  bool has_argv = arguments.contains("argv");
  if (has_command == has_argv) {
    co_return ToolOutcome::fail(
        "pass exactly one of 'command' (a shell command line, run by /bin/sh -c) or 'argv' (a "
        "program and its arguments, run directly without a shell)");
  }
  jobs::ExecuteRequest request;
  if (has_command) {
    request.command = arguments["command"].get<std::string>();
  } else {
    request.argv = arguments["argv"].get<std::vector<std::string>>();
  }
  if (auto cwd = arguments.find("cwd"); cwd != arguments.end()) request.cwd = cwd->get<std::string>();
  if (auto env = arguments.find("env"); env != arguments.end()) {
    for (const auto& [name, value] : env->items()) {
      if (name.empty() || name.find('=') != std::string::npos ||
          name.find('\0') != std::string::npos) {
        co_return ToolOutcome::fail(fmt::format(
            "argument 'env' has an invalid variable name '{}': names must be non-empty and "
            "contain no '='",
            name));
      }
      request.env[name] = value.get<std::string>();
    }
  }
  if (auto label = arguments.find("label"); label != arguments.end()) {
    request.label = label->get<std::string>();
  }
  if (arguments.value("pty", false)) {
    sys::TerminalSize size;
    request.terminal = sys::TerminalSize{arguments.value("cols", size.cols),
                                         arguments.value("rows", size.rows)};
  } else if (arguments.contains("cols") || arguments.contains("rows")) {
    co_return ToolOutcome::fail(
        "'cols' and 'rows' are the size of a terminal and need 'pty': true; drop them, or add "
        "'pty': true to run the job on a terminal");
  }

  auto job = context.jobs.execute(request);
  if (!job) co_return ToolOutcome::fail("cannot start the job: " + job.error().message);
  co_return ToolOutcome::ok(Json{{"job_id", (*job)->id()},
                                 {"status", jobs::to_string((*job)->status())},
                                 {"pid", (*job)->pid()},
                                 {"started", base::iso8601_utc((*job)->started())},
                                 {"pty", (*job)->has_terminal()}});
}

}  // namespace

Tool make_execute_tool(const ToolLimits&) {
  Tool tool;
  tool.name = "execute";
  tool.title = "Start a background job";
  tool.description =
      "Start a long-running command (build, test suite, dev server, training run) as a background "
      "job and return at once with its job_id; then use status, output, tail, interact and kill. "
      "Pass `command` for a shell command line (run by /bin/sh -c, so pipes, &&, $VAR, globs and "
      "cd work) or `argv` for a program and its arguments run directly with no shell; exactly one "
      "of the two. `cwd` (default: the server's working directory) must exist; `env` adds "
      "variables to the inherited environment. The job gets its own process group and a stdin "
      "pipe (write to it with interact); stdout and stderr are captured. Without a pty the job's "
      "environment is non-interactive by default (TERM=dumb, NO_COLOR=1, PAGER=cat, "
      "GIT_PAGER=cat; `env` overrides them). `pty: true` runs it on a pseudo-terminal instead "
      "(`cols` x `rows`, default 120 x 40; TERM=xterm-256color): for REPLs, interactive shells "
      "and programs that behave differently on a terminal; interact can then send control "
      "characters such as \\u0003 (Ctrl-C), and the output (stdout and stderr merged, recorded as "
      "stdout) is what a terminal would show, echoed input and \\r\\n line ends included. Returns "
      "{job_id, status, pid, started, pty}. Fails, with nothing left running, if the program "
      "cannot start or max_jobs jobs are already running.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "command": {"type": "string", "minLength": 1,
                  "description": "A shell command line, run by /bin/sh -c."},
      "argv": {"type": "array", "items": {"type": "string"}, "minItems": 1,
               "description": "A program and its arguments, run directly (no shell). The program is looked up on PATH unless it contains a '/'."},
      "cwd": {"type": "string", "minLength": 1,
              "description": "Directory to run in; relative paths are taken from the server's working directory."},
      "env": {"type": "object", "additionalProperties": {"type": "string"},
              "description": "Environment variables to add or override, name to value."},
      "label": {"type": "string", "maxLength": 200,
                "description": "A short name for the job, shown by list and status."},
      "pty": {"type": "boolean",
              "description": "Run the job on a pseudo-terminal (its controlling terminal, stdin, stdout and stderr) instead of pipes. Default false."},
      "cols": {"type": "integer", "minimum": 20, "maximum": 500,
               "description": "Terminal width in columns, with pty (default 120)."},
      "rows": {"type": "integer", "minimum": 5, "maximum": 200,
               "description": "Terminal height in rows, with pty (default 40)."}
    },
    "additionalProperties": false
  })json");
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "job_id": {"type": "string"},
      "status": {"type": "string", "enum": ["running", "completed", "failed", "killed"]},
      "pid": {"type": "integer"},
      "started": {"type": "string"},
      "pty": {"type": "boolean"}
    },
    "required": ["job_id", "status", "pid", "started", "pty"]
  })json");
  tool.annotations = Json{{"title", tool.title},
                          {"readOnlyHint", false},
                          {"destructiveHint", true},
                          {"idempotentHint", false},
                          {"openWorldHint", true}};
  tool.handler = execute;
  return tool;
}

}  // namespace mcp::tools

// execute: start a background job.
#include <algorithm>

#include <fmt/format.h>

#include "mcp/tools/common.h"
#include "mcp/tools/waiting.h"

namespace mcp::tools {
namespace {

constexpr uint64_t kDefaultMaxBytes = uint64_t{64} * 1024;

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
  if (auto timeout = arguments.find("timeout_seconds"); timeout != arguments.end()) {
    // The schema has no maximum, and casting 1e300 * 1000 to int64_t is undefined behaviour
    // (found by fuzz_mcp_message): beyond ~3 years a time limit means no limit in practice, so
    // it is capped there (the engine adds it to now, which must not overflow either).
    constexpr double kLongestTimeoutSeconds = 1e8;
    request.timeout = std::chrono::milliseconds(
        static_cast<int64_t>(std::min(timeout->get<double>(), kLongestTimeoutSeconds) * 1000.0));
  }
  request.priority = arguments.value("priority", 0);
  if (arguments.value("pty", false)) {
    sys::TerminalSize size;
    request.terminal = sys::TerminalSize{arguments.value("cols", size.cols),
                                         arguments.value("rows", size.rows)};
  } else if (arguments.contains("cols") || arguments.contains("rows")) {
    co_return ToolOutcome::fail(
        "'cols' and 'rows' are the size of a terminal and need 'pty': true; drop them, or add "
        "'pty': true to run the job on a terminal");
  }

  if (auto limits = arguments.find("limits"); limits != arguments.end()) {
    auto& asked = request.confinement.limits;
    asked.cpu_seconds = limits->value<uint64_t>("cpu_seconds", 0);
    asked.memory_bytes = limits->value<uint64_t>("memory_bytes", 0);
    asked.address_space_bytes = limits->value<uint64_t>("address_space_bytes", 0);
    asked.processes = limits->value("processes", 0);
    asked.open_files = limits->value("open_files", 0);
    asked.file_size_bytes = limits->value<uint64_t>("file_size_bytes", 0);
  }
  if (auto sandbox = arguments.find("sandbox"); sandbox != arguments.end()) {
    request.confinement.sandbox = sandbox->get<bool>();
  }
  if (auto network = arguments.find("network"); network != arguments.end()) {
    request.confinement.network = network->get<bool>();
  }

  request.owner = context.caller;
  auto started = context.jobs.execute(request);
  // A refusal keeps the rule that decided (ToolOutcome::denied_by), for the audit log.
  if (!started) {
    std::string message = "cannot start the job: " + started.error().message;
    if (!started.error().rule.empty()) message += " (the policy tool shows every rule)";
    co_return ToolOutcome::fail(std::move(message), started.error());
  }
  std::shared_ptr<jobs::Job> job = *started;
  if (context.acted) context.acted(*job);

  // A fast command costs one call: wait a little for it to finish, if asked to.
  double wait_seconds = arguments.value("wait_seconds", 0.0);
  bool waited = false;
  if (wait_seconds > 0) {
    co_await wait_for_job(job, context, nullptr, 0, clamp_wait(wait_seconds, context.limits));
    waited = true;
  }
  Json result{{"job_id", job->id()},
              {"status", jobs::to_string(job->status())},
              {"pid", job->has_started() ? Json(job->pid()) : Json(nullptr)},
              {"started", timestamp_or_null(job->has_started()
                                                ? std::optional(job->started())
                                                : std::nullopt)},
              {"pty", job->has_terminal()}};
  add_queue_state(result, *job, context.jobs, context.redactor);
  if (waited && job->finished()) {
    Json output = recent_output(context.redactor, job->output(), 0,
                                arguments.value<uint64_t>(
                                    "max_bytes",
                                    std::min(kDefaultMaxBytes, context.limits.max_read_bytes)));
    result.update(output);
    result["exit_code"] = exit_code_or_null(*job);
    result["reason"] = end_reason_or_null(*job);
    result["ended"] = timestamp_or_null(job->ended());
  }
  co_return ToolOutcome::ok(std::move(result));
}

}  // namespace

Tool make_execute_tool(const ToolLimits& limits) {
  Tool tool;
  tool.name = "execute";
  tool.title = "Start a background job";
  tool.description =
      "Start a long-running command (build, test suite, dev server, training run) as a background "
      "job and return at once with its job_id; then use status, output, tail, interact and kill. "
      "Pass `command` for a shell command line (run by /bin/sh -c, so pipes, &&, $VAR, globs and "
      "cd work) or `argv` for a program and its arguments run directly with no shell; exactly one "
      "of the two. `cwd` (default: the server's working directory) must exist and lie inside "
      "the operator's allowed_roots; `env` adds variables to what the job inherits from the "
      "server (the operator may narrow that; the policy tool shows what is allowed, and a "
      "refusal names the rule). The job gets its own process group and a stdin "
      "pipe (write to it with interact); stdout and stderr are captured. Without a pty the job's "
      "environment is non-interactive by default (TERM=dumb, NO_COLOR=1, PAGER=cat, "
      "GIT_PAGER=cat; `env` overrides them). `pty: true` runs it on a pseudo-terminal instead "
      "(`cols` x `rows`, default 120 x 40; TERM=xterm-256color): for REPLs, interactive shells "
      "and programs that behave differently on a terminal; interact can then send control "
      "characters such as \\u0003 (Ctrl-C), and the output (stdout and stderr merged, recorded as "
      "stdout) is what a terminal would show, echoed input and \\r\\n line ends included. Returns "
      "{job_id, status, pid, started, pty}. With wait_seconds, the call waits up to that long "
      "(clamped to the server's ceiling) for the job to finish, and if it does, the result also "
      "has exit_code, ended and its output (the last max_bytes; offset, next_offset, truncated): "
      "a quick command costs one call. timeout_seconds ends the job (TERM, then KILL) if it runs "
      "longer; its status is then timed_out. When max_jobs jobs are already running the job is "
      "queued instead (status queued, queue_position, pid and started null) and starts when a "
      "slot frees, higher `priority` first; kill cancels a queued job. Fails, with nothing left "
      "running, if the program cannot start, the queue is full (max_queued), too many jobs were "
      "started this minute (max_starts_per_minute), or the server's policy refuses the command "
      "(the error names the rule; call the policy tool to see what is allowed). `limits` "
      "(cpu_seconds, memory_bytes, address_space_bytes, processes, open_files, "
      "file_size_bytes), `sandbox: true` and `network: false` confine this job more tightly than "
      "the server does; they can only tighten: asking for more than the server's own limit, "
      "`sandbox: false` under a sandboxed server or `network: true` under network = false is "
      "refused. Over memory_bytes the job is killed and ends failed with reason memory_limit.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "command": {"type": "string", "minLength": 1,
                  "description": "A shell command line, run by /bin/sh -c."},
      "argv": {"type": "array", "items": {"type": "string"}, "minItems": 1,
               "description": "A program and its arguments, run directly (no shell). The program is looked up on PATH unless it contains a '/'."},
      "cwd": {"type": "string", "minLength": 1,
              "description": "Directory to run in; relative paths are taken from the server's working directory. Its real path (links and .. resolved) must lie inside one of the allowed_roots."},
      "env": {"type": "object", "additionalProperties": {"type": "string"},
              "description": "Environment variables to add or override, name to value."},
      "label": {"type": "string", "maxLength": 200,
                "description": "A short name for the job, shown by list and status."},
      "wait_seconds": {"type": "number", "minimum": 0,
                       "description": "Wait up to this long for the job to finish and return its output (default 0: return at once)."},
      "timeout_seconds": {"type": "number", "exclusiveMinimum": 0,
                          "description": "End the job if it runs longer than this (default: the server's job_timeout, if any)."},
      "priority": {"type": "integer", "minimum": -1000, "maximum": 1000,
                   "description": "Place in the queue when max_jobs are already running: higher starts first, first come first served among equals (default 0)."},
      "pty": {"type": "boolean",
              "description": "Run the job on a pseudo-terminal (its controlling terminal, stdin, stdout and stderr) instead of pipes. Default false."},
      "cols": {"type": "integer", "minimum": 20, "maximum": 500,
               "description": "Terminal width in columns, with pty (default 120)."},
      "rows": {"type": "integer", "minimum": 5, "maximum": 200,
               "description": "Terminal height in rows, with pty (default 40)."},
      "limits": {"type": "object", "additionalProperties": false,
                 "description": "Resource limits for this job, each at most the server's own (max_cpu_time, max_memory, max_address_space, max_processes, max_open_files, max_file_size); omitted ones are the server's.",
                 "properties": {
        "cpu_seconds": {"type": "integer", "minimum": 1,
                        "description": "CPU seconds each process may use (SIGXCPU, then SIGKILL a second later)."},
        "memory_bytes": {"type": "integer", "minimum": 1,
                         "description": "Resident memory of all the job's processes, watched several times a second; beyond it the job is killed (status failed, reason memory_limit)."},
        "address_space_bytes": {"type": "integer", "minimum": 1,
                                "description": "Virtual memory of each process; allocations beyond it fail."},
        "processes": {"type": "integer", "minimum": 1,
                      "description": "Processes (and threads) the job may have at once; a fork beyond it fails."},
        "open_files": {"type": "integer", "minimum": 1,
                       "description": "Open files of each process."},
        "file_size_bytes": {"type": "integer", "minimum": 1,
                            "description": "Largest file a process may write; a process writing beyond it is stopped by SIGXFSZ."}
      }},
      "sandbox": {"type": "boolean",
                  "description": "true: run under Landlock, writing only inside the server's allowed_roots and the temp directory (reads stay allowed). Cannot be false when the server sandboxes every job."},
      "network": {"type": "boolean",
                  "description": "false: the job may not bind or connect TCP sockets. Cannot be true when the server denies the network."}
    },
    "additionalProperties": false
  })json");
  // As for output and wait: a max_bytes above max_read_bytes is refused, not silently clamped.
  tool.input_schema["properties"]["max_bytes"] =
      max_bytes_schema(limits, std::min(kDefaultMaxBytes, limits.max_read_bytes));
  tool.input_schema["properties"]["max_bytes"]["description"] = fmt::format(
      "With wait_seconds: most output bytes to return (default {}, at most {}).",
      std::min(kDefaultMaxBytes, limits.max_read_bytes), limits.max_read_bytes);
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "job_id": {"type": "string"},
      "pid": {"type": ["integer", "null"]},
      "started": {"type": ["string", "null"]},
      "queue_position": {"type": "integer"},
      "queued_at": {"type": "string"},
      "start_error": {"type": "string"},
      "exit_code": {"type": ["integer", "null"]},
      "reason": {"type": ["string", "null"], "enum": ["memory_limit", null]},
      "ended": {"type": ["string", "null"]},
      "output": {"type": "string"},
      "offset": {"type": "integer"},
      "next_offset": {"type": "integer"},
      "truncated": {"type": "boolean"},
      "pty": {"type": "boolean"}
    },
    "required": ["job_id", "status", "pid", "started", "pty"]
  })json");
  tool.output_schema["properties"]["status"] = status_schema();
  tool.annotations = Json{{"title", tool.title},
                          {"readOnlyHint", false},
                          {"destructiveHint", true},
                          {"idempotentHint", false},
                          {"openWorldHint", true}};
  tool.handler = execute;
  return tool;
}

}  // namespace mcp::tools

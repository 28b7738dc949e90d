// execute: start a background job.
#include "mcp/tools/execute.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "mcp/tools/common.h"
#include "mcp/tools/digest.h"
#include "mcp/tools/waiting.h"

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
  if (auto cwd = arguments.find("cwd"); cwd != arguments.end())
    request.cwd = cwd->get<std::string>();
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
    // Rounded up: a limit below the clock's resolution is the smallest limit, never none (zero
    // would mean no limit, and would drop the operator's job_timeout too).
    request.timeout = std::chrono::milliseconds(static_cast<int64_t>(
        std::ceil(std::min(timeout->get<double>(), kLongestTimeoutSeconds) * 1000.0)));
  }
  request.priority = arguments.value("priority", 0);
  if (arguments.value("pty", false)) {
    sys::TerminalSize size;
    request.terminal =
        sys::TerminalSize{arguments.value("cols", size.cols), arguments.value("rows", size.rows)};
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

  if (arguments.value("separate_streams", false)) {
    if (request.terminal) {
      co_return ToolOutcome::fail(
          "'separate_streams' needs pipes, and a terminal has one stream: drop one of 'pty' and "
          "'separate_streams'");
    }
    request.streams = sys::OutputStreams::kSeparate;
  }
  std::unique_ptr<RE2> own_errors;
  std::optional<std::string> problem;
  const RE2* errors = error_pattern_argument(arguments, own_errors, problem);
  if (problem) co_return ToolOutcome::fail(*problem);

  request.owner = context.caller;
  bool persist = arguments.value("persist", context.limits.persist_by_default);
  if (persist && context.keepers == nullptr) {
    co_return ToolOutcome::fail(
        "a persisted job needs the server's state directory (where its keeper listens and its "
        "history is kept), and this server keeps none (state_dir = none): drop 'persist', or "
        "ask the operator to set state_dir");
  }
  auto started = persist ? context.keepers->start(request) : context.jobs.execute(request);
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
  co_return ToolOutcome::ok(execute_result(*job, context, arguments, errors, waited));
}

}  // namespace

Json execute_result(jobs::Job& job, const ToolContext& context, const Json& arguments,
                    const RE2* errors, bool waited) {
  Json result{{"job_id", job.id()},
              {"status", jobs::to_string(job.status())},
              {"pid", job.has_started() ? Json(job.pid()) : Json(nullptr)},
              {"started",
               timestamp_or_null(job.has_started() ? std::optional(job.started()) : std::nullopt)},
              {"pty", job.has_terminal()}};
  if (job.is_kept()) result["persisted"] = true;
  add_queue_state(result, job, context.jobs, context.redactor);
  if (waited && job.finished()) {
    auto shown = output_digest(
        context.redactor, job.output(), job.shown_to(),
        arguments.value<uint64_t>("max_bytes",
                                  std::min(kDefaultDigestBytes, context.limits.max_read_bytes)),
        errors);
    job.note_shown(shown.next_offset);
    result["output"] = std::move(shown.text);
    result["offset"] = shown.offset;
    result["next_offset"] = shown.next_offset;
    result["truncated"] = shown.truncated;
    result["exit_code"] = exit_code_or_null(job);
    result["reason"] = end_reason_or_null(job);
    result["ended"] = timestamp_or_null(job.ended());
  }
  return result;
}

Tool make_execute_tool(const ToolLimits& limits) {
  Tool tool;
  tool.name = "execute";
  tool.title = "Start a background job";
  const double ceiling = std::chrono::duration<double>(limits.max_wait).count();
  const uint64_t default_max = std::min(kDefaultDigestBytes, limits.max_read_bytes);
  tool.description = fmt::format(
      "Start a command (build, tests, dev server) as a background job and return its job_id at "
      "once; then use wait, output, tail, interact, status and kill. Pass `command`, a shell line "
      "(/bin/sh -c: pipes, &&, $VAR, cd work), or `argv`, a program and its arguments run "
      "without a shell; exactly one. `cwd` (default: the server's working directory) must lie "
      "inside the operator's allowed_roots; `env` adds variables. stdout and stderr share one "
      "pipe, so the output has them in their true order, as a terminal shows them; "
      "`separate_streams: true` keeps them apart (then output, tail and wait can pick one with "
      "`stream`, but their order across the two is lost). Without a pty, jobs get TERM=dumb, "
      "NO_COLOR=1, PAGER=cat. `pty: true` runs it on a terminal (for REPLs and interactive "
      "programs; interact can then send keys such as \\u0003, Ctrl-C). With wait_seconds (at "
      "most {:g}) the call waits for the job to end and, if it did, adds exit_code, ended and "
      "`output`: all of it if it fits in max_bytes (default {}), else its first and last lines, a "
      "line saying what was left out (read it with output from the offset it names) and the "
      "left-out lines matching error_pattern (errors, failed tests, tracebacks, panics by "
      "default), with context. Returns {{job_id, status, pid, started, pty}}. timeout_seconds "
      "ends the job (TERM, then KILL; status timed_out). Beyond max_jobs running jobs it is "
      "queued (status queued, queue_position) and starts when a slot frees, higher priority "
      "first; kill cancels it. Refused, with nothing left running, if the program cannot start, "
      "the queue is full, too many jobs started this minute, or the operator's policy forbids it "
      "(the error names the rule; the policy tool shows them all). `limits`, `sandbox: true` and "
      "`network: false` can only tighten the server's confinement. `persist: true` makes the job "
      "outlive this server; later servers take it back.",
      ceiling, default_max);
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "command": {"type": "string", "minLength": 1,
                  "description": "A shell command line (non-empty), run by /bin/sh -c."},
      "argv": {"type": "array", "items": {"type": "string"}, "minItems": 1,
               "description": "A program and its arguments (at least 1 item), run directly (no shell). The program is looked up on PATH unless it contains a '/'."},
      "cwd": {"type": "string", "minLength": 1,
              "description": "Directory to run in (non-empty); relative paths are taken from the server's working directory. Its real path (links and .. resolved) must lie inside one of the allowed_roots."},
      "env": {"type": "object", "additionalProperties": {"type": "string"},
              "description": "Environment variables to add or override, name to value."},
      "label": {"type": "string", "maxLength": 200,
                "description": "A short name for the job (at most 200 characters), shown by list and status."},
      "timeout_seconds": {"type": "number", "exclusiveMinimum": 0,
                          "description": "End the job if it runs longer than this many seconds, more than 0 (default: the server's job_timeout, if any)."},
      "priority": {"type": "integer", "minimum": -1000, "maximum": 1000,
                   "description": "Place in the queue when max_jobs are already running, -1000 to 1000: higher starts first, first come first served among equals (default 0)."},
      "pty": {"type": "boolean",
              "description": "Run the job on a pseudo-terminal (its controlling terminal, stdin, stdout and stderr) instead of pipes. Default false."},
      "separate_streams": {"type": "boolean",
                           "description": "true: capture stdout and stderr through a pipe each, so that `stream` can tell them apart (their order across the two is then lost). Default false: one pipe, the true order. Not with pty."},
      "cols": {"type": "integer", "minimum": 20, "maximum": 500,
               "description": "Terminal width in columns, with pty: 20 to 500 (default 120)."},
      "rows": {"type": "integer", "minimum": 5, "maximum": 200,
               "description": "Terminal height in rows, with pty: 5 to 200 (default 40)."},
      "limits": {"type": "object", "additionalProperties": false,
                 "description": "Resource limits for this job, each at most the server's own (max_cpu_time, max_memory, max_address_space, max_processes, max_open_files, max_file_size); omitted ones are the server's.",
                 "properties": {
        "cpu_seconds": {"type": "integer", "minimum": 1,
                        "description": "CPU seconds each process may use, 1 or more (SIGXCPU, then SIGKILL a second later)."},
        "memory_bytes": {"type": "integer", "minimum": 1,
                         "description": "Resident memory of all the job's processes, 1 or more bytes, watched several times a second; beyond it the job is killed (status failed, reason memory_limit)."},
        "address_space_bytes": {"type": "integer", "minimum": 1,
                                "description": "Virtual memory of each process, 1 or more bytes; allocations beyond it fail."},
        "processes": {"type": "integer", "minimum": 1,
                      "description": "Processes (and threads) the job may have at once, 1 or more; a fork beyond it fails."},
        "open_files": {"type": "integer", "minimum": 1,
                       "description": "Open files of each process, 1 or more."},
        "file_size_bytes": {"type": "integer", "minimum": 1,
                            "description": "Largest file a process may write, 1 or more bytes; a process writing beyond it is stopped by SIGXFSZ."}
      }},
      "sandbox": {"type": "boolean",
                  "description": "true: run under Landlock, writing only inside the server's allowed_roots and the temp directory (reads stay allowed). Cannot be false when the server sandboxes every job."},
      "network": {"type": "boolean",
                  "description": "false: the job may not bind or connect TCP sockets. Cannot be true when the server denies the network."},
      "persist": {"type": "boolean",
                  "description": "true: the job outlives this server (a client restart, the server killed): it runs under a keeper of its own, and any later server of this user lists it and takes it back (status, output, wait, interact, kill). Default: the server's persist setting (false unless set)."}
    },
    "additionalProperties": false
  })json");
  tool.input_schema["properties"]["wait_seconds"] = Json{
      {"type", "number"},
      {"minimum", 0},
      {"description",
       fmt::format("Wait up to this many seconds, 0 or more (clamped to {:g}), for the job to end, "
                   "and show its output if it does (default 0: return at once).",
                   ceiling)}};
  // As for output and wait: a max_bytes above max_read_bytes is refused, not silently clamped.
  tool.input_schema["properties"]["max_bytes"] = max_bytes_schema(limits, default_max);
  tool.input_schema["properties"]["max_bytes"]["description"] = fmt::format(
      "With wait_seconds: most output bytes to show, 1 to {} (default {}); beyond it, the first "
      "and last lines and the error lines between.",
      limits.max_read_bytes, default_max);
  tool.input_schema["properties"]["error_pattern"] = error_pattern_schema();
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
      "reason": {"type": ["string", "null"], "enum": ["memory_limit", "keeper_gone", null]},
      "ended": {"type": ["string", "null"]},
      "output": {"type": "string"},
      "offset": {"type": "integer"},
      "next_offset": {"type": "integer"},
      "truncated": {"type": "boolean"},
      "pty": {"type": "boolean"},
      "persisted": {"type": "boolean"}
    },
    "required": ["job_id", "status", "pid", "started", "pty"]
  })json");
  tool.output_schema["properties"]["status"] = status_schema();
  tool.annotations = tool_annotations(tool.title, {.destructive = true, .open_world = true});
  tool.task_support = "optional";  // tools/call with params.task: see mcp/tasks.h
  tool.handler = execute;
  return tool;
}

}  // namespace mcp::tools

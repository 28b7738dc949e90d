// interact: type into a job's stdin and see what it answers.
#include <algorithm>

#include <fmt/format.h>

#include "mcp/tools/common.h"

namespace mcp::tools {
namespace {

// Output that has been silent this long after the job answered is taken as the whole answer.
constexpr std::chrono::milliseconds kQuietPeriod{150};
constexpr int64_t kDefaultWaitMs = 1000;

std::string describe_end(const jobs::Job& job) {
  if (job.exit_code()) return fmt::format("{} with exit code {}", jobs::to_string(job.status()), *job.exit_code());
  if (job.term_signal()) {
    return fmt::format("{} by {}", jobs::to_string(job.status()), sys::signal_name(*job.term_signal()));
  }
  return std::string(jobs::to_string(job.status()));
}

}  // namespace

Tool make_interact_tool(const ToolLimits& limits) {
  int64_t max_wait = limits.max_interact_wait.count();
  int64_t default_wait = std::min(kDefaultWaitMs, max_wait);
  Tool tool;
  tool.name = "interact";
  tool.title = "Send input to a job";
  tool.description = fmt::format(
      "Write `input` to a running job's stdin (a newline is added unless newline is false; eof "
      "true closes stdin afterwards, for programs that read until end of input) and return the "
      "output that arrives after it: the call waits until the output has been quiet for a moment, "
      "the job exits, or wait_ms (default {}, at most {}) passes, so a prompt without a trailing "
      "newline is included. Returns {{job_id, bytes_written, stdin_pending_bytes, output, offset, "
      "next_offset, truncated, status, exit_code, stdin_open}}. Input the job does not read yet is "
      "queued (stdin_pending_bytes) without blocking anything; a job that never reads can only be "
      "sent a bounded amount. On a pty job (execute with pty: true) input is typed into its "
      "terminal: control characters act as keys (\\u0003 is Ctrl-C, which interrupts the job's "
      "foreground process; pass newline false to send just the key), the output includes the "
      "echo of what was typed, and eof types the terminal's EOF character (^D, \\u0004: end of "
      "input at the start of a line) instead of closing anything, since closing a terminal hangs "
      "it up; stdin_open stays true.",
      default_wait, max_wait);
  tool.input_schema = Json{
      {"type", "object"},
      {"properties",
       {{"job_id", job_id_schema()},
        {"input", {{"type", "string"}, {"description", "The text to write to the job's stdin."}}},
        {"newline",
         {{"type", "boolean"}, {"description", "Append a newline to input (default true)."}}},
        {"eof",
         {{"type", "boolean"},
          {"description",
           "Close the job's stdin after writing (default false). On a pty job: type ^D "
           "(\\u0004) after the input instead."}}},
        {"wait_ms",
         {{"type", "integer"},
          {"minimum", 0},
          {"maximum", max_wait},
          {"description",
           fmt::format("Longest time to wait for the answer, in ms (default {}).", default_wait)}}}}},
      {"required", {"job_id", "input"}},
      {"additionalProperties", false}};
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "job_id": {"type": "string"},
      "bytes_written": {"type": "integer"},
      "stdin_pending_bytes": {"type": "integer"},
      "output": {"type": "string"},
      "offset": {"type": "integer"},
      "next_offset": {"type": "integer"},
      "truncated": {"type": "boolean"},
      "exit_code": {"type": ["integer", "null"]},
      "stdin_open": {"type": "boolean"}
    },
    "required": ["job_id", "bytes_written", "stdin_pending_bytes", "output", "offset",
                 "next_offset", "truncated", "status", "exit_code", "stdin_open"]
  })json");
  tool.output_schema["properties"]["status"] = status_schema();
  tool.annotations = Json{{"title", tool.title},
                          {"readOnlyHint", false},
                          {"destructiveHint", false},
                          {"idempotentHint", false},
                          {"openWorldHint", false}};
  uint64_t max_read = limits.max_read_bytes;
  tool.handler = [default_wait, max_read](Json arguments, ToolContext& context)
      -> boost::asio::awaitable<ToolOutcome> {
    auto found = find_job(context.jobs, arguments);
    if (!found) co_return ToolOutcome::fail(found.error().message);
    std::shared_ptr<jobs::Job> job = *found;
    if (job->finished()) {
      co_return ToolOutcome::fail(fmt::format(
          "job {} has exited ({}) and reads no more input; read its output with output or tail, "
          "or start a new job",
          job->id(), describe_end(*job)));
    }
    std::string data = arguments["input"].get<std::string>();
    if (arguments.value("newline", true)) data.push_back('\n');
    const auto& log = job->output();
    uint64_t offset = log.total_bytes();
    if (auto written = job->write_stdin(data, arguments.value("eof", false)); !written) {
      co_return ToolOutcome::fail(fmt::format("cannot write to job {}'s stdin: {}", job->id(),
                                              written.error().message));
    }

    auto now = std::chrono::steady_clock::now();
    auto deadline = now + std::chrono::milliseconds(arguments.value<int64_t>("wait_ms", default_wait));
    uint64_t seen = offset;
    auto last_output = now;
    for (;;) {
      if (job->finished() && !job->output_open()) break;  // nothing more can arrive
      auto wake = deadline;
      if (seen > offset) wake = std::min(deadline, last_output + kQuietPeriod);
      if (std::chrono::steady_clock::now() >= wake) break;
      co_await job->wait_for_change(wake);
      if (log.total_bytes() > seen) {
        seen = log.total_bytes();
        last_output = std::chrono::steady_clock::now();
      }
    }

    auto slice = log.read(offset, max_read, jobs::StreamFilter::kBoth);
    co_return ToolOutcome::ok(Json{{"job_id", job->id()},
                                   {"bytes_written", data.size()},
                                   {"stdin_pending_bytes", job->stdin_pending_bytes()},
                                   {"output", output_text(slice.bytes)},
                                   {"offset", slice.offset},
                                   {"next_offset", slice.next_offset},
                                   {"truncated", slice.truncated},
                                   {"status", jobs::to_string(job->status())},
                                   {"exit_code", exit_code_or_null(*job)},
                                   {"stdin_open", job->stdin_open()}});
  };
  return tool;
}

}  // namespace mcp::tools

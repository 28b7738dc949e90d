// interact: type into a job's stdin and see what it answers.
#include <fmt/format.h>

#include <algorithm>

#include "mcp/tools/common.h"
#include "mcp/tools/redaction.h"

namespace mcp::tools {
namespace {

constexpr int64_t kDefaultWaitMs = 1000;
// How often the job's processes are looked at while it answers: soon at first and after each
// output, less often while nothing happens (a look is a short walk of /proc).
constexpr std::chrono::milliseconds kFirstLook{5};
constexpr std::chrono::milliseconds kLongestLookInterval{50};

// Whether the job has taken the input and come back for more: one of its processes is blocked
// reading its stdin, and it is not the same read as before the input was written (another
// process, or more read calls since: a process woken by the input but not yet run still shows
// the old read). Nothing of the input is still queued in the server.
bool back_to_reading(jobs::Job& job, const std::optional<sys::ProcessTreeStats>& before) {
  if (job.stdin_pending_bytes() > 0) return false;
  auto now = job.tree_stats(std::chrono::milliseconds(0));
  if (!now || !now->waiting_for_input) return false;
  return !before || !before->waiting_for_input || now->stdin_reader != before->stdin_reader ||
         now->stdin_reader_reads != before->stdin_reader_reads;
}

std::string describe_end(const jobs::Job& job) {
  if (job.exit_code())
    return fmt::format("{} with exit code {}", jobs::to_string(job.status()), *job.exit_code());
  if (job.term_signal()) {
    return fmt::format("{} by {}", jobs::to_string(job.status()),
                       sys::signal_name(*job.term_signal()));
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
      "output that arrives after it. The call returns when the job is back to reading its input "
      "(one of its processes blocked reading stdin again, as the kernel reports it, so a slow "
      "answer and a prompt without a newline are included), when it exits, or after wait_ms "
      "(default {}, 0 to {}): a program that reads input in a way the kernel does not show (poll, "
      "epoll: Node's REPL) answers at wait_ms. Returns {{job_id, bytes_written, "
      "stdin_pending_bytes, output, offset, next_offset, truncated, status, exit_code, "
      "stdin_open}}. Input the job does not read yet is queued (stdin_pending_bytes) without "
      "blocking anything; a job that never reads can only be sent a bounded amount. On a pty job "
      "(execute with pty: true) input is typed into its terminal: control characters act as keys "
      "(\\u0003 is Ctrl-C, which interrupts the job's foreground process; pass newline false to "
      "send just the key), the output includes the echo of what was typed, and eof types the "
      "terminal's EOF character (^D, \\u0004: end of input at the start of a line) instead of "
      "closing anything, since closing a terminal hangs it up; stdin_open stays true.",
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
           fmt::format("Longest time to wait for the answer, in ms, 0 to {} (default {}).",
                       max_wait, default_wait)}}}}},
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
  tool.annotations = tool_annotations(tool.title, {});
  uint64_t max_read = limits.max_read_bytes;
  tool.handler = [default_wait, max_read](
                     Json arguments, ToolContext& context) -> boost::asio::awaitable<ToolOutcome> {
    auto found = find_job(context, arguments);
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
    // Taken before the input is written: the process may read it and block again at once.
    auto before = job->tree_stats(std::chrono::milliseconds(0));
    if (auto written = job->write_stdin(data, arguments.value("eof", false)); !written) {
      co_return ToolOutcome::fail(
          fmt::format("cannot write to job {}'s stdin: {}", job->id(), written.error().message));
    }
    if (context.acted) context.acted(*job);

    // The answer is complete when the job is back to reading its input (the kernel says so:
    // no guess from quiet output, which ends before a slow program answers), when it has exited
    // and its output closed, or at wait_ms.
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(arguments.value<int64_t>("wait_ms", default_wait));
    uint64_t seen = offset;
    auto interval = kFirstLook;
    for (;;) {
      if (job->finished() && !job->output_open()) break;  // nothing more can arrive
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      // What it printed before blocking is in the pipe (or terminal) already: once read, the
      // answer is whole.
      if (back_to_reading(*job, before) && job->read_output_now()) break;
      co_await job->wait_for_change(std::min(deadline, now + interval),
                                    jobs::Job::Wake::kOnOutputToo);
      if (log.total_bytes() > seen) {
        seen = log.total_bytes();
        interval = kFirstLook;
      } else {
        interval = std::min(interval * 2, kLongestLookInterval);
      }
    }

    auto window = log.read_window(offset, max_read, jobs::StreamFilter::kBoth);
    Json result{{"job_id", job->id()},
                {"bytes_written", data.size()},
                {"stdin_pending_bytes", job->stdin_pending_bytes()},
                {"offset", window.from},
                {"next_offset", window.to},
                {"truncated", window.truncated},
                {"status", jobs::to_string(job->status())},
                {"exit_code", exit_code_or_null(*job)},
                {"stdin_open", job->stdin_open()}};
    result["output"] = shown_output(context.redactor, log, jobs::StreamFilter::kBoth, window);
    co_return ToolOutcome::ok(std::move(result));
  };
  return tool;
}

}  // namespace mcp::tools

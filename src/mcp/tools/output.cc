// output: read a job's output by byte offset, a page at a time.
#include <fmt/format.h>

#include <algorithm>

#include "mcp/tools/common.h"
#include "mcp/tools/lines.h"
#include "mcp/tools/reading.h"

namespace mcp::tools {
namespace {

constexpr uint64_t kDefaultMaxBytes = uint64_t{64} * 1024;

}  // namespace

Tool make_output_tool(const ToolLimits& limits) {
  uint64_t default_max = std::min(kDefaultMaxBytes, limits.max_read_bytes);
  Tool tool;
  tool.name = "output";
  tool.title = "Read job output";
  tool.description = fmt::format(
      "Read a job's output: stdout and stderr merged in the order they arrived, like a terminal "
      "(or one of them with `stream`). `offset` is a byte position in everything the job has "
      "printed since it started (default 0); pass the previous call's next_offset to read only "
      "what is new. Returns {{output, offset, next_offset, total_bytes, dropped_bytes, truncated, "
      "status, exit_code}}; truncated means more output remains after next_offset. At most "
      "`max_bytes` (default {}, at most {}) are returned per call. When the job printed more than "
      "the server keeps, the middle is dropped: a read in the dropped part starts where the kept "
      "output resumes, and `offset` in the result says where that is. With `grep` (an RE2 "
      "pattern), only matching lines are returned, with `context` lines around each and their "
      "byte offsets in `matches`; next_offset then continues the search. For the last lines, use "
      "tail. Secrets (private keys, tokens, passwords) are shown as [REDACTED] unless the "
      "operator turned that off, and grep matches that text; offsets count the bytes printed.",
      default_max, limits.max_read_bytes);
  tool.input_schema = Json{
      {"type", "object"},
      {"properties",
       {{"job_id", job_id_schema()},
        {"stream", stream_schema()},
        {"offset",
         {{"type", "integer"},
          {"minimum", 0},
          {"description", "Byte position to start from (default 0): a previous next_offset."}}},
        {"max_bytes", max_bytes_schema(limits, default_max)},
        {"grep", grep_schema()},
        {"context", context_schema()}}},
      {"required", {"job_id"}},
      {"additionalProperties", false}};
  tool.output_schema = read_result_schema("offset");
  tool.annotations = read_only_annotations(tool.title);
  tool.handler = [default_max](Json arguments,
                               ToolContext& context) -> boost::asio::awaitable<ToolOutcome> {
    auto job = find_job(context, arguments);
    if (!job) co_return ToolOutcome::fail(job.error().message);
    const auto& log = (*job)->output();
    auto filter = stream_filter(arguments, **job);
    if (!filter) co_return ToolOutcome::fail(filter.error().message);
    uint64_t offset = arguments.value<uint64_t>("offset", 0);
    if (auto problem = check_offset(offset, log)) co_return ToolOutcome::fail(*problem);
    uint64_t max_bytes = arguments.value<uint64_t>("max_bytes", default_max);
    if (arguments.contains("grep")) {
      if (offset >= log.head_size() && offset < log.tail_start()) offset = log.tail_start();
      auto grep = grep_input(arguments, context, log, *filter, offset);
      if (!grep) co_return ToolOutcome::fail(grep.error().message);
      auto found = grep_forward(grep->lines, *grep->pattern, grep->context, max_bytes);
      Json result = grep_result(found, **job);
      result["offset"] = offset;
      result["next_offset"] = found.truncated ? found.scanned_to : log.total_bytes();
      co_return ToolOutcome::ok(std::move(result));
    }
    auto window = log.read_window(offset, max_bytes, *filter);
    Json result = window_result(context, **job, *filter, window);
    result["offset"] = window.from;
    co_return ToolOutcome::ok(std::move(result));
  };
  return tool;
}

}  // namespace mcp::tools

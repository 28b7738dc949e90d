// tail: the last lines of a job's output, and where to continue reading.
#include <fmt/format.h>

#include "mcp/tools/common.h"
#include "mcp/tools/lines.h"
#include "mcp/tools/reading.h"

namespace mcp::tools {

Tool make_tail_tool(const ToolLimits& limits) {
  Tool tool;
  tool.name = "tail";
  tool.title = "Last lines of job output";
  tool.description = fmt::format(
      "Get the last `lines` lines (default 50, 1 to 10000) of a job's output as one string: "
      "stdout and stderr merged, or one of them with `stream`. The quickest way to see how a "
      "build or test run is going or why it failed. Returns {{output, lines, next_offset, "
      "total_bytes, dropped_bytes, truncated, status, exit_code}}; pass next_offset to output "
      "later to read only what is new. truncated means fewer lines than asked were available "
      "because older output was dropped, or the lines exceeded {} bytes and only their end is "
      "returned. With `grep` (an RE2 pattern), `lines` counts matching lines instead: the last "
      "matches (for example \"error|FAIL\"), with `context` lines around each and their byte "
      "offsets in `matches`.",
      limits.max_read_bytes);
  tool.input_schema = Json{{"type", "object"},
                           {"properties",
                            {{"job_id", job_id_schema()},
                             {"lines",
                              {{"type", "integer"},
                               {"minimum", 1},
                               {"maximum", 10000},
                               {"description", "How many lines, 1 to 10000 (default 50)."}}},
                             {"stream", stream_schema()},
                             {"grep", grep_schema()},
                             {"context", context_schema()}}},
                           {"required", {"job_id"}},
                           {"additionalProperties", false}};
  tool.output_schema = read_result_schema("lines");
  tool.annotations = read_only_annotations(tool.title);
  uint64_t max_bytes = limits.max_read_bytes;
  tool.handler = [max_bytes](Json arguments,
                             ToolContext& context) -> boost::asio::awaitable<ToolOutcome> {
    auto job = find_job(context, arguments);
    if (!job) co_return ToolOutcome::fail(job.error().message);
    const auto& log = (*job)->output();
    auto filter = stream_filter(arguments, **job);
    if (!filter) co_return ToolOutcome::fail(filter.error().message);
    uint64_t wanted = arguments.value<uint64_t>("lines", 50);
    if (arguments.contains("grep")) {
      auto grep = grep_input(arguments, context, log, *filter, 0);
      if (!grep) co_return ToolOutcome::fail(grep.error().message);
      auto found = grep_last(grep->lines, *grep->pattern, grep->context, wanted, max_bytes);
      Json result = grep_result(found, **job);
      result["lines"] = found.matches.size();
      result["next_offset"] = log.total_bytes();
      co_return ToolOutcome::ok(std::move(result));
    }
    auto window = log.tail_window(wanted, max_bytes, *filter);
    Json result = window_result(context, **job, *filter, window);
    result["lines"] = window.lines;
    co_return ToolOutcome::ok(std::move(result));
  };
  return tool;
}

}  // namespace mcp::tools

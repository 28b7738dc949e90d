// tail: the last lines of a job's output, and where to continue reading.
#include <fmt/format.h>

#include "mcp/tools/common.h"
#include "mcp/tools/lines.h"
#include "mcp/tools/redaction.h"

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
  tool.input_schema = Json{
      {"type", "object"},
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
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "output": {"type": "string"},
      "lines": {"type": "integer"},
      "next_offset": {"type": "integer"},
      "total_bytes": {"type": "integer"},
      "dropped_bytes": {"type": "integer"},
      "truncated": {"type": "boolean"},
      "exit_code": {"type": ["integer", "null"]}
    },
    "required": ["output", "lines", "next_offset", "total_bytes", "dropped_bytes", "truncated",
                 "status", "exit_code"]
  })json");
  tool.output_schema["properties"]["status"] = status_schema();
  tool.output_schema["properties"]["matches"] = matches_schema();
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
      std::unique_ptr<RE2> pattern;
      if (auto problem = compile_pattern("grep", arguments["grep"].get<std::string>(), pattern)) {
        co_return ToolOutcome::fail(*problem);
      }
      auto lines = collect_lines(log, 0, log.total_bytes(), *filter);
      // The pattern sees what the client would: matching redacted text, it cannot probe a secret.
      redact_lines(context.redactor, log, *filter, lines);
      auto found = grep_last(lines, *pattern, arguments.value<size_t>("context", 0), wanted,
                             max_bytes);
      Json result{{"output", output_text(found.text)},
                  {"lines", found.matches.size()},
                  {"next_offset", log.total_bytes()},
                  {"truncated", found.truncated},
                  {"matches", matches_json(found.matches)}};
      add_output_state(result, **job);
      co_return ToolOutcome::ok(std::move(result));
    }
    auto slice = log.tail(wanted, max_bytes, *filter);
    (*job)->note_shown(slice.next_offset);
    Json result{
        {"output", shown_output(context.redactor, log, *filter, slice.offset, slice.next_offset)},
        {"lines", slice.lines},
        {"next_offset", slice.next_offset},
        {"truncated", slice.truncated}};
    add_output_state(result, **job);
    co_return ToolOutcome::ok(std::move(result));
  };
  return tool;
}

}  // namespace mcp::tools

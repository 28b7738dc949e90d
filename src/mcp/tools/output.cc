// output: read a job's output by byte offset, a page at a time.
#include <algorithm>

#include <fmt/format.h>

#include "mcp/tools/common.h"
#include "mcp/tools/lines.h"
#include "mcp/tools/redaction.h"

namespace mcp::tools {
namespace {

constexpr uint64_t kDefaultMaxBytes = uint64_t{64} * 1024;

Json output_schema() {
  Json schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "output": {"type": "string"},
      "offset": {"type": "integer"},
      "next_offset": {"type": "integer"},
      "total_bytes": {"type": "integer"},
      "dropped_bytes": {"type": "integer"},
      "truncated": {"type": "boolean"},
      "exit_code": {"type": ["integer", "null"]}
    },
    "required": ["output", "offset", "next_offset", "total_bytes", "dropped_bytes", "truncated",
                 "status", "exit_code"]
  })json");
  schema["properties"]["status"] = status_schema();
  return schema;
}

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
  tool.output_schema = output_schema();
  tool.output_schema["properties"]["matches"] = matches_schema();
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
      std::unique_ptr<RE2> pattern;
      if (auto problem = compile_pattern("grep", arguments["grep"].get<std::string>(), pattern)) {
        co_return ToolOutcome::fail(*problem);
      }
      if (offset >= log.head_size() && offset < log.tail_start()) offset = log.tail_start();
      auto lines = collect_lines(log, offset, log.total_bytes(), *filter);
      // The pattern sees what the client would: matching redacted text, it cannot probe a secret.
      redact_lines(context.redactor, log, *filter, lines);
      auto found = grep_forward(lines, *pattern, arguments.value<size_t>("context", 0), max_bytes);
      Json result{{"output", output_text(found.text)},
                  {"offset", offset},
                  {"next_offset", found.truncated ? found.scanned_to : log.total_bytes()},
                  {"truncated", found.truncated},
                  {"matches", matches_json(found.matches)}};
      add_output_state(result, **job);
      co_return ToolOutcome::ok(std::move(result));
    }
    auto slice = log.read(offset, max_bytes, *filter);
    (*job)->note_shown(slice.next_offset);
    Json result{
        {"output", shown_output(context.redactor, log, *filter, slice.offset, slice.next_offset)},
        {"offset", slice.offset},
        {"next_offset", slice.next_offset},
        {"truncated", slice.truncated}};
    add_output_state(result, **job);
    co_return ToolOutcome::ok(std::move(result));
  };
  return tool;
}

}  // namespace mcp::tools

#pragma once
/// What the two tools that read a job's output (output, tail) share: their result schema and the
/// grep branch, which differ only in where the search starts and which matches it keeps.

#include <re2/re2.h>

#include <memory>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "jobs/job.h"
#include "mcp/json_rpc.h"
#include "mcp/tool.h"
#include "mcp/tools/lines.h"

namespace mcp::tools {

/// The result of a read: `position` ("offset" for output, "lines" for tail) beside output,
/// next_offset, total_bytes, dropped_bytes, truncated, status, exit_code, and grep's matches.
Json read_result_schema(std::string_view position);

/// A grep asked for with the `grep` and `context` arguments: the compiled pattern and the lines of
/// `filter` from `from` to the end, redacted so that the pattern sees what the client would (it
/// cannot probe a secret).
struct GrepInput {
  std::unique_ptr<RE2> pattern;
  std::vector<Line> lines;
  size_t context = 0;
};
base::Result<GrepInput> grep_input(const Json& arguments, const ToolContext& context,
                                   const jobs::OutputLog& log, jobs::StreamFilter filter,
                                   uint64_t from);

/// The result of a read that shows `window` of `filter`: output (rendered once), next_offset,
/// truncated, and the job's output state; the window's end is noted as shown. The caller adds
/// where it stands (offset or lines).
Json window_result(const ToolContext& context, jobs::Job& job, jobs::StreamFilter filter,
                   const jobs::OutputLog::Window& window);

/// What every grep result holds: output, truncated and matches, and the job's output state. The
/// caller adds where it stands (offset or lines, next_offset).
Json grep_result(const GrepResult& found, const jobs::Job& job);

}  // namespace mcp::tools

#pragma once
/// What `execute` answers about the job it started, shared with tasks/result (mcp/tasks), which
/// answers what execute with a long enough wait_seconds would have.

#include <re2/re2.h>

#include "jobs/job.h"
#include "mcp/json_rpc.h"
#include "mcp/tool.h"

namespace mcp::tools {

/// {job_id, status, pid, started, pty, queue state}; once `waited` and the job has ended, also
/// its output digest (max_bytes and `errors` of `arguments`), exit_code, reason and ended. Marks
/// the output shown up to the digest's end.
Json execute_result(jobs::Job& job, const ToolContext& context, const Json& arguments,
                    const RE2* errors, bool waited);

}  // namespace mcp::tools

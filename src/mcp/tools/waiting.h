#pragma once
/// Waiting on a job inside a tool call: until it exits, until a line of new output matches a
/// pattern, or until a deadline, reporting progress every few seconds while it waits. Costs no
/// thread and no CPU while nothing happens; a cancelled call ends the wait at once.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "jobs/job.h"
#include "mcp/tool.h"
#include "mcp/tools/lines.h"

namespace mcp::tools {

enum class WaitReason { kExited, kMatched, kTimeout };
std::string_view to_string(WaitReason reason);

struct WaitOutcome {
  WaitReason reason;
  std::optional<Line> match;
  std::chrono::duration<double> elapsed;
};

/// Waits on `job`. `matcher` may be null (wait for the exit only). Once the main process has
/// exited, waits briefly for its output pipes to reach EOF so the final output is included.
boost::asio::awaitable<WaitOutcome> wait_for_job(std::shared_ptr<jobs::Job> job,
                                                 ToolContext& context, LineMatcher* matcher,
                                                 uint64_t from_offset,
                                                 std::chrono::milliseconds timeout);

/// A requested wait in seconds, clamped to the server's ceiling.
std::chrono::milliseconds clamp_wait(double seconds, const ToolLimits& limits);

}  // namespace mcp::tools

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
#include "sys/listening_ports.h"

namespace mcp::tools {

enum class WaitReason { kExited, kMatched, kListening, kTimeout };
std::string_view to_string(WaitReason reason);

struct WaitOutcome {
  WaitReason reason;
  std::optional<Line> match;
  std::chrono::duration<double> elapsed;
  std::optional<sys::ListeningPort> port;  // with kListening: the port that ended the wait
};

/// A wait for the job to listen on a TCP port: `port`, or any port when nullopt.
struct PortWanted {
  std::optional<uint16_t> port;
};

/// How often a wait for a port looks at /proc: ports have no event to wait on.
inline constexpr std::chrono::milliseconds kPortPollInterval{100};

/// Waits on `job`. `matcher` may be null (wait for the exit only). Once the main process has
/// exited, waits briefly for its output pipes to reach EOF so the final output is included.
/// With `port_wanted`, also returns (kListening) as soon as a process of the job listens on that
/// port, looking every kPortPollInterval; then the exit that ends the wait is that of the last
/// process of the job, since a server is often left running by a main process that exits.
boost::asio::awaitable<WaitOutcome> wait_for_job(
    std::shared_ptr<jobs::Job> job, ToolContext& context, LineMatcher* matcher,
    uint64_t from_offset, std::chrono::milliseconds timeout,
    std::optional<PortWanted> port_wanted = std::nullopt);

/// A requested wait in seconds, clamped to the server's ceiling.
std::chrono::milliseconds clamp_wait(double seconds, const ToolLimits& limits);

}  // namespace mcp::tools

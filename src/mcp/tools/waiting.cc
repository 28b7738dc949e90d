#include "mcp/tools/waiting.h"

#include <fmt/format.h>

#include <algorithm>

#include "mcp/tools/common.h"
#include "mcp/tools/ports.h"

namespace mcp::tools {
namespace {

using Clock = std::chrono::steady_clock;

// Clients that reset their timeout on progress need a report well inside their window.
constexpr std::chrono::seconds kProgressInterval{2};
// After the main process exits, how long to let its pipes drain before answering anyway
// (a grandchild may hold them open for good).
constexpr std::chrono::milliseconds kDrainAfterExit{250};

}  // namespace

std::string_view to_string(WaitReason reason) {
  switch (reason) {
    case WaitReason::kExited:
      return "exited";
    case WaitReason::kMatched:
      return "matched";
    case WaitReason::kListening:
      return "listening";
    case WaitReason::kTimeout:
      return "timeout";
  }
  return "unknown";
}

std::chrono::milliseconds clamp_wait(double seconds, const ToolLimits& limits) {
  // Clamped as a double, before the cast: casting 1e300 * 1000 to int64_t is undefined
  // behaviour (found by fuzz_mcp_message).
  double max_seconds = std::chrono::duration<double>(limits.max_wait).count();
  double clamped = std::clamp(seconds, 0.0, max_seconds);  // NaN cannot come from JSON
  return std::chrono::milliseconds(static_cast<int64_t>(clamped * 1000.0));
}

boost::asio::awaitable<WaitOutcome> wait_for_job(std::shared_ptr<jobs::Job> job,
                                                 ToolContext& context, LineMatcher* matcher,
                                                 uint64_t from_offset,
                                                 std::chrono::milliseconds timeout,
                                                 std::optional<PortWanted> port_wanted) {
  const auto& log = job->output();
  auto start = Clock::now();
  auto deadline = start + timeout;
  auto next_progress = start + kProgressInterval;
  std::optional<Clock::time_point> drain_deadline;
  uint64_t lines_counted_to = from_offset;
  uint64_t new_lines = 0;
  auto finish = [&](WaitReason reason, std::optional<Line> match = std::nullopt) {
    return WaitOutcome{reason, std::move(match), Clock::now() - start, std::nullopt};
  };
  std::optional<Clock::time_point> next_port_look;

  for (;;) {
    if (matcher != nullptr) {
      if (auto match = matcher->scan(log)) co_return finish(WaitReason::kMatched, std::move(match));
    }
    auto now = Clock::now();
    if (port_wanted && (!next_port_look || now >= *next_port_look)) {
      if (auto port = listening_on(*job, port_wanted->port)) {
        WaitOutcome outcome = finish(WaitReason::kListening);
        outcome.port = std::move(port);
        co_return outcome;
      }
      next_port_look = now + kPortPollInterval;
    }
    // Waiting for a port, what the main process left running may still open it.
    if (job->finished() && !(port_wanted && job->holds_processes())) {
      if (!drain_deadline) drain_deadline = now + kDrainAfterExit;
      if (!job->output_open() || now >= *drain_deadline) co_return finish(WaitReason::kExited);
    }
    if (now >= deadline) co_return finish(WaitReason::kTimeout);
    if (context.wants_progress && now >= next_progress) {
      for (const auto& piece :
           log.pieces(lines_counted_to, log.total_bytes(), jobs::StreamFilter::kBoth)) {
        new_lines +=
            static_cast<uint64_t>(std::count(piece.bytes.begin(), piece.bytes.end(), '\n'));
      }
      lines_counted_to = log.total_bytes();
      double elapsed = std::chrono::duration<double>(now - start).count();
      context.report_progress(
          elapsed, std::chrono::duration<double>(timeout).count(),
          fmt::format("job {} {}: {} bytes and {} lines of new output; {:.1f} s elapsed", job->id(),
                      jobs::to_string(job->status()),
                      log.total_bytes() - std::min(from_offset, log.total_bytes()), new_lines,
                      elapsed));
      next_progress += kProgressInterval;
    }
    auto wake = context.wants_progress ? std::min(deadline, next_progress) : deadline;
    if (drain_deadline) wake = std::min(wake, *drain_deadline);
    if (next_port_look) wake = std::min(wake, *next_port_look);
    // Without a pattern, output is no reason to wake: only the exit (and the pipes closing) is.
    co_await job->wait_for_change(
        wake, matcher != nullptr ? jobs::Job::Wake::kOnOutputToo : jobs::Job::Wake::kOnStateChange);
  }
}

}  // namespace mcp::tools

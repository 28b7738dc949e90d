// wait-cost: what pending `wait` calls cost a capture. A wait for a job's exit has nothing to do
// while the job prints, so it must cost nothing per chunk of output; a wait with a pattern may
// look only at the new complete lines. The job (`seq 1 2000000`, as in capture) first blocks on
// its stdin, so the waits are pending before it prints; interact then lets it go, and the time
// runs from that interact until status shows the whole output, polled as capture polls. The
// same capture with no wait is the reference, interleaved with the others. With --before, the
// earlier build does the same in the same run.
#include <algorithm>

#include "failure.h"
#include "job_calls.h"
#include "scenario.h"

namespace bench {
namespace {

constexpr uint64_t kLast = 2'000'000;
constexpr auto kPollInterval = std::chrono::milliseconds(1);
// An earlier build with 100 pattern waits took about a minute per capture (each wait rescanned
// the output on every chunk), and answered status only between those scans.
constexpr auto kCaptureTimeout = std::chrono::seconds(300);
// Longer than any capture: a wait that answers "timeout" is a failure.
constexpr std::chrono::seconds kWaitTimeout{300};

struct Variant {
  std::string label;
  int waits = 0;
  bool pattern = false;  // until: a pattern no line matches, so every line is looked at
};

Clock::duration capture_with_waits(McpClient& client, const Variant& variant) {
  StartedJob job = execute(client, fmt::format("head -c 1 >/dev/null; seq 1 {}", kLast));
  std::vector<int64_t> waits;
  for (int i = 0; i < variant.waits; ++i) {
    Json arguments = wait_arguments(job.id, kWaitTimeout);
    if (variant.pattern) arguments["until"] = "^never printed$";
    waits.push_back(client.send_tool_call("wait", std::move(arguments)));
  }
  // The server reads its input in order: once ping is answered, every wait is pending.
  client.ping();
  Reply go = client.call_tool("interact", Json{{"job_id", job.id}, {"input", "x"}, {"wait_ms", 0}});
  JobStatus done = await_completion(client, StartedJob{.id = job.id, .sent = go.sent},
                                    CompletionWait{.output_bytes = seq_output_bytes(kLast),
                                                   .poll_interval = kPollInterval,
                                                   .timeout = kCaptureTimeout,
                                                   .reply_timeout = kCaptureTimeout});
  for (int64_t id : waits) {
    WaitResult result = parse_wait(client.collect_tool(id, kWaitTimeout + std::chrono::seconds(5)));
    check(result.reason == "exited", "a wait on the capture answered {}", result.reason);
  }
  return done.received - go.sent;
}

std::vector<Figure> measure(const ServerLaunch& launch, const Scale& scale,
                            std::string_view build) {
  const std::vector<Variant> variants = {
      {"no wait", 0, false},
      {"1 pending wait", 1, false},
      {"100 pending waits", 100, false},
      {"100 pending waits with a pattern", 100, true},
  };
  McpClient client = McpClient::start(launch);
  std::vector<Samples> times(variants.size());
  for (int i = 0; i < scale.capture_repeats; ++i) {
    // Interleaved, so that every variant sees the same state of the machine.
    for (size_t v = 0; v < variants.size(); ++v) {
      times[v].add(capture_with_waits(client, variants[v]));
    }
  }
  client.shut_down(std::chrono::seconds(10));
  const double none_ms = to_millis(times[0].median());
  std::vector<Figure> figures;
  for (size_t v = 1; v < variants.size(); ++v) {
    // The promise is for waits without a pattern; with one, the figure is for information.
    const bool promised = build.empty() && !variants[v].pattern;
    figures.push_back(Figure{.scenario = "wait-cost",
                             .name = fmt::format("{}seq 1 {} captured with {}, median of {}", build,
                                                 kLast, variants[v].label, scale.capture_repeats),
                             .unit = "ms",
                             .measured = to_millis(times[v].median()),
                             .reference = none_ms,
                             .reference_label = "same build, no wait",
                             .target = promised ? Target::ratio_at_most(1.2) : Target::none()});
  }
  return figures;
}

}  // namespace

std::vector<Figure> run_wait_cost(const ScenarioContext& context) {
  // Room for the 100 waits of one capture beside the job (max_wait is the waits' own bound).
  const ServerSettings settings = {{"MCP_BG_MAX_WAIT", fmt::format("{}s", kWaitTimeout.count())}};
  std::vector<Figure> figures = measure(context.server("wait-cost", settings), context.scale(), "");
  if (auto before = context.before_server("wait-cost", settings)) {
    auto earlier = measure(*before, context.scale(), "before: ");
    figures.insert(figures.end(), earlier.begin(), earlier.end());
  }
  return figures;
}

}  // namespace bench

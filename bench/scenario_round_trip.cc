// round-trip: what one status call costs over stdio, beside ping, the cheapest request there is.
// Their difference is the tool's own work (lookup, building and serialising the result); the
// ping figure is the floor set by the pipes, the event loop and JSON-RPC framing.
#include "failure.h"
#include "job_calls.h"
#include "scenario.h"

namespace bench {

std::vector<Figure> run_round_trip(const ScenarioContext& context) {
  const int calls = context.scale().round_trips;
  McpClient client = McpClient::start(context.server("round-trip"));
  // status is asked about a running job, so every call builds the live view (duration, no end).
  StartedJob job = execute(client, "sleep 1000");
  const Json status_arguments{{"job_id", job.id}};

  Samples ping_times;
  Samples status_times;
  ping_times.reserve(static_cast<size_t>(calls));
  status_times.reserve(static_cast<size_t>(calls));
  // A twentieth of the calls first, unrecorded, to fault in code and settle the allocator.
  const int warm_up = calls / 20;
  for (int i = -warm_up; i < calls; ++i) {
    // Alternating the two calls exposes both to the same noise from the machine's other tenants.
    Reply ping = client.ping();
    Reply state = client.call_tool("status", status_arguments);
    check(state.result.value("status", "") == "running", "the sleep job stopped running: {}",
          state.result.dump());
    if (i < 0) continue;
    ping_times.add(ping.round_trip());
    status_times.add(state.round_trip());
  }
  client.shut_down(std::chrono::seconds(30));

  auto figure = [&](std::string name, double fraction, std::string label) {
    return Figure{.scenario = "round-trip",
                  .name = std::move(name),
                  .unit = "us",
                  .measured = to_micros(status_times.percentile(fraction)),
                  .reference = to_micros(ping_times.percentile(fraction)),
                  .reference_label = std::move(label),
                  .target = Target::none()};
  };
  return {figure(fmt::format("status p50 ({} calls)", calls), 0.50, "ping p50"),
          figure(fmt::format("status p99 ({} calls)", calls), 0.99, "ping p99")};
}

}  // namespace bench

// waits: what many `wait` calls blocked at once cost the server. Each wait is a coroutine on the
// one event-loop thread, so the promise is: no thread per wait, no CPU while nothing happens,
// other requests answered as promptly as ever, and a shutdown that ends every job and so every
// wait, with each reply written before the server exits. The driver pipelines one wait per
// running `sleep 1000` job, then probes status beside ping while all of them are pending.
#include <algorithm>
#include <thread>

#include "failure.h"
#include "job_calls.h"
#include "proc_stats.h"
#include "scenario.h"
#include "steps.h"

namespace bench {
namespace {

// Each wait asks for this long, and the server is allowed it: the scenario ends them all by
// shutting down well before, so a wait that answers "timeout" is a failure.
constexpr std::chrono::seconds kWaitTimeout{60};
constexpr std::chrono::seconds kShutdownTimeout{30};

}  // namespace

std::vector<Figure> run_waits(const ScenarioContext& context) {
  const Scale& scale = context.scale();
  const int count = scale.concurrent_waits;
  McpClient client = McpClient::start(
      context.server("waits", {{"MCP_BG_MAX_JOBS", std::to_string(count)},
                               {"MCP_BG_MAX_WAIT", fmt::format("{}s", kWaitTimeout.count())}}));
  const pid_t server = client.pid();
  const auto before = unwrap(read_threads_and_memory(server), "reading the server's status");

  std::vector<StartedJob> jobs;
  std::vector<pid_t> shells;
  jobs.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    jobs.push_back(execute(client, "sleep 1000"));
    check(jobs.back().status == "running", "sleep job {} reported {} when started", i,
          jobs.back().status);
    shells.push_back(jobs.back().pid);
  }
  wait_until_sleeping(shells);

  // Every wait is written before any reply is read: the server must hold them all at once.
  std::vector<int64_t> waits;
  waits.reserve(jobs.size());
  for (const StartedJob& job : jobs) {
    waits.push_back(client.send_tool_call("wait", wait_arguments(job.id, kWaitTimeout)));
  }

  // Requests behind the waits, alternating as in round-trip so both see the same noise. The
  // server reads stdin in order, so by the first answer every wait has been received.
  Samples ping_times;
  Samples status_times;
  const int warm_up = std::max(scale.wait_probes / 10, 3);
  for (int i = -warm_up; i < scale.wait_probes; ++i) {
    Reply ping = client.ping();
    const StartedJob& job = jobs[static_cast<size_t>(i + warm_up) % jobs.size()];
    Reply state = client.call_tool("status", Json{{"job_id", job.id}});
    check(state.result.value("status", "") == "running", "sleep job {} stopped running: {}", job.id,
          state.result.dump());
    if (i < 0) continue;
    ping_times.add(ping.round_trip());
    status_times.add(state.round_trip());
  }
  check(client.responses_read_ahead() == 0, "{} of {} waits answered while their jobs ran",
        client.responses_read_ahead(), count);
  const auto waiting = unwrap(read_threads_and_memory(server), "reading the server's status");

  // The idle window: a deliberate wait, during which the driver sends nothing.
  const auto cpu_before = unwrap(read_cpu_time(server), "reading the server's CPU time");
  const auto window_start = Clock::now();
  std::this_thread::sleep_until(window_start + scale.idle_window);
  const auto cpu_after = unwrap(read_cpu_time(server), "reading the server's CPU time");
  const auto window = Clock::now() - window_start;
  const double idle_percent = 100.0 * to_seconds(cpu_after - cpu_before) / to_seconds(window);
  const auto after_idle = unwrap(read_threads_and_memory(server), "reading the server's status");
  const int threads = std::max(waiting.threads, after_idle.threads);

  // Shutdown stops every job, which ends every wait; each reply must reach us before EOF.
  const auto closed = client.close_input();
  Clock::time_point last_answer = closed;
  for (size_t i = 0; i < waits.size(); ++i) {
    WaitResult ended = parse_wait(client.collect_tool(waits[i], kShutdownTimeout));
    check(ended.reason == "exited" && ended.status == "killed",
          "at shutdown, the wait for job {} answered reason {} and status {} instead of exited "
          "and killed",
          jobs[i].id, ended.reason, ended.status);
    last_answer = std::max(last_answer, ended.received);
  }
  const auto exited = client.await_exit(closed + kShutdownTimeout);

  const std::string with = fmt::format("with {} waits pending", count);
  return {
      Figure{.scenario = "waits",
             .name = fmt::format("status p50 {} ({} calls)", with, scale.wait_probes),
             .unit = "us",
             .measured = to_micros(status_times.median()),
             .reference = to_micros(ping_times.median()),
             .reference_label = "ping p50, same state",
             .target = Target::none()},
      Figure{.scenario = "waits",
             .name = "threads " + with,
             .unit = "",
             .measured = static_cast<double>(threads),
             .reference = static_cast<double>(before.threads),
             .reference_label = "before any job",
             .target = Target::same_as_reference()},
      Figure{.scenario = "waits",
             .name = fmt::format("CPU {} over {} s idle (% of a core)", with,
                                 scale.idle_window.count()),
             .unit = "%",
             .measured = idle_percent,
             .reference = std::nullopt,
             .reference_label = "",
             .target = Target::below(1.0)},
      Figure{.scenario = "waits",
             .name = fmt::format("shutdown: stdin closed to all {} waits answered", count),
             .unit = "ms",
             .measured = to_millis(last_answer - closed),
             .reference = to_millis(exited - closed),
             .reference_label = "stdin closed to server exit",
             .target = Target::none()},
  };
}

}  // namespace bench

// idle: what a thousand running jobs cost the server while nothing happens. The design promise
// is one event-loop thread whatever the number of jobs, memory that does not grow with idle
// jobs, no CPU while idle (no polling timers), and a shutdown that stops everything promptly.
// Shutdown is timed beside the driver doing the same by hand: SIGTERM to the same number of
// `sh -c 'sleep 1000'` process groups it started itself, then reaping each.

#include <csignal>
#include <thread>

#include "failure.h"
#include "job_calls.h"
#include "proc_stats.h"
#include "process.h"
#include "scenario.h"
#include "steps.h"

namespace bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// The reference for shutdown: start `count` process groups like the server's jobs, wait until
// they sleep, then time SIGTERM to every group and reaping every shell.
Clock::duration terminate_own_groups(int count) {
  const std::vector<std::string> env = current_environment();
  std::vector<Child> shells;
  std::vector<pid_t> pids;
  shells.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    shells.push_back(unwrap(
        spawn(SpawnRequest{
            .argv = {"/bin/sh", "-c", "sleep 1000"}, .env = env, .group = ProcessGroup::kOwn}),
        "spawning sh -c 'sleep 1000'"));
    pids.push_back(shells.back().pid());
  }
  wait_until_sleeping(pids);
  const auto started = Clock::now();
  for (Child& shell : shells) unwrap(shell.signal(SIGTERM), "signalling a sleeping shell");
  for (Child& shell : shells) {
    sys::ExitInfo status = unwrap(shell.wait(), "reaping a sleeping shell");
    check(status.term_signal == SIGTERM, "a sleeping shell ended with {} instead of SIGTERM",
          describe_exit(status));
  }
  return Clock::now() - started;
}

}  // namespace

std::vector<Figure> run_idle(const ScenarioContext& context) {
  const Scale& scale = context.scale();
  const int count = scale.concurrent_jobs;
  McpClient client = McpClient::start(
      context.server("idle", {{"MCP_BG_MAX_JOBS", std::to_string(std::max(count, 1000))}}));
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
  for (const StartedJob& job : jobs) {
    JobStatus now = status(client, job.id);
    check(now.status == "running", "sleep job {} is {} instead of running", job.id, now.status);
  }
  const auto loaded = unwrap(read_threads_and_memory(server), "reading the server's status");

  // The idle window: a deliberate wait, during which the driver sends nothing.
  const auto cpu_before = unwrap(read_cpu_time(server), "reading the server's CPU time");
  const auto window_start = Clock::now();
  std::this_thread::sleep_until(window_start + scale.idle_window);
  const auto cpu_after = unwrap(read_cpu_time(server), "reading the server's CPU time");
  const auto window = Clock::now() - window_start;
  const double idle_percent = 100.0 * to_seconds(cpu_after - cpu_before) / to_seconds(window);

  const Clock::duration shutdown = client.shut_down(std::chrono::seconds(60));
  const Clock::duration by_hand = terminate_own_groups(count);

  const std::string with = fmt::format("with {} sleep jobs", count);
  return {
      Figure{.scenario = "idle",
             .name = "threads " + with,
             .unit = "",
             .measured = static_cast<double>(loaded.threads),
             .reference = static_cast<double>(before.threads),
             .reference_label = "before any job",
             .target = Target::same_and_at_most(4)},
      Figure{.scenario = "idle",
             .name = "RSS " + with,
             .unit = "MiB",
             .measured = static_cast<double>(loaded.rss_bytes) / kMiB,
             .reference = static_cast<double>(before.rss_bytes) / kMiB,
             .reference_label = "before any job",
             .target = Target::at_most(64)},
      Figure{.scenario = "idle",
             .name = fmt::format("CPU {} over {} s idle (% of a core)", with,
                                 scale.idle_window.count()),
             .unit = "%",
             .measured = idle_percent,
             .reference = std::nullopt,
             .reference_label = "",
             .target = Target::below(1.0)},
      Figure{.scenario = "idle",
             .name = "shutdown " + with + " (stdin closed to exit)",
             .unit = "ms",
             .measured = to_millis(shutdown),
             .reference = to_millis(by_hand),
             .reference_label = "driver: TERM + reap each group",
             .target = Target::none()},
  };
}

}  // namespace bench

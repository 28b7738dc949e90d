// spawn-wait: how long `execute true` takes until one `wait` call reports that it exited, beside
// the driver itself starting the same /bin/sh -c true with posix_spawn in its own process group
// and reaping it with waitpid (the spawn scenario's reference). Where spawn polls status, this
// is the path a client is meant to take: two requests whatever the job's length, the second
// answered by the server as soon as it has reaped the job and seen its pipes close.
// spawn-checked: the same with allowed_programs set, so that the job is started from the file the
// policy checked (clone and execveat instead of posix_spawn).
#include <algorithm>

#include "failure.h"
#include "job_calls.h"
#include "process.h"
#include "scenario.h"
#include "steps.h"

namespace bench {
namespace {

// Far beyond what `true` takes: reaching it is a failure, not a sample.
constexpr std::chrono::seconds kWaitTimeout{10};

// Times `runs` executes of `true` until one wait reports each exited, against the driver's own
// posix_spawn + waitpid of the same sh -c true, on a server started with `settings`.
Figure measure(const ScenarioContext& context, std::string_view scenario, std::string_view what,
               const ServerSettings& settings) {
  const int runs = context.scale().spawn_runs;
  McpClient client = McpClient::start(context.server(scenario, settings));
  const std::vector<std::string> env = current_environment();

  Samples server_times;
  Samples driver_times;
  const int warm_up = std::max(runs / 20, 3);
  for (int i = -warm_up; i < runs; ++i) {
    // Interleaved, so that both see the same state of the machine.
    StartedJob job = execute(client, "true");
    WaitResult done = wait_for_exit(client, job.id, kWaitTimeout);
    check(done.reason == "exited" && done.status == "completed" && done.exit_code == 0,
          "wait for job {} ({}) answered reason {}, status {}, exit code {} instead of exited, "
          "completed, 0",
          job.id, job.pid, done.reason, done.status,
          done.exit_code ? std::to_string(*done.exit_code) : "none");
    Clock::duration own = spawn_and_reap_true(env);
    if (i < 0) continue;
    server_times.add(done.received - job.sent);
    driver_times.add(own);
  }
  client.shut_down(std::chrono::seconds(30));

  return Figure{.scenario = std::string(scenario),
                .name = fmt::format("{}, p50 of {}", what, runs),
                .unit = "ms",
                .measured = to_millis(server_times.median()),
                .reference = to_millis(driver_times.median()),
                .reference_label = "posix_spawn + waitpid of sh -c true",
                .target = Target::ratio_at_most(1.5)};
}

}  // namespace

std::vector<Figure> run_spawn_wait(const ScenarioContext& context) {
  return {measure(context, "spawn-wait", "execute true + one wait until exited", {})};
}

// The same with allowed_programs set: the checked /bin/sh is executed from the descriptor the
// policy opened (execveat), which posix_spawn cannot do, so the server starts it with its own
// clone and exec, as it does a confined job.
std::vector<Figure> run_spawn_checked(const ScenarioContext& context) {
  return {measure(context, "spawn-checked",
                  "execute true + one wait, allowed_programs = sh (exec of the checked file)",
                  {{"MCP_BG_ALLOWED_PROGRAMS", "sh"}})};
}

}  // namespace bench

// spawn: how long `execute true` takes until status reports it completed, beside the driver
// itself starting the same /bin/sh -c true with posix_spawn in its own process group (as the
// server starts every job) and reaping it with waitpid. The difference is the server's price
// per job: pipes, pidfd, event-loop round trips and two JSON-RPC exchanges at least.
#include <algorithm>

#include "failure.h"
#include "job_calls.h"
#include "process.h"
#include "scenario.h"
#include "steps.h"

namespace bench {

std::vector<Figure> run_spawn(const ScenarioContext& context) {
  const int runs = context.scale().spawn_runs;
  McpClient client = McpClient::start(context.server("spawn"));
  const std::vector<std::string> env = current_environment();

  Samples server_times;
  Samples driver_times;
  const int warm_up = std::max(runs / 20, 3);
  for (int i = -warm_up; i < runs; ++i) {
    // Interleaved, so that both see the same state of the machine.
    StartedJob job = execute(client, "true");
    JobStatus done = await_completion(client, job, CompletionWait{});
    Clock::duration own = spawn_and_reap_true(env);
    if (i < 0) continue;
    server_times.add(done.received - job.sent);
    driver_times.add(own);
  }
  client.shut_down(std::chrono::seconds(30));

  return {Figure{.scenario = "spawn",
                 .name = fmt::format("execute true until completed, p50 of {}", runs),
                 .unit = "ms",
                 .measured = to_millis(server_times.median()),
                 .reference = to_millis(driver_times.median()),
                 .reference_label = "posix_spawn + waitpid of sh -c true",
                 .target = Target::ratio_at_most(1.5)}};
}

}  // namespace bench

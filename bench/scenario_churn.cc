// churn: thousands of short jobs one after another, each awaited and then evicted (the server
// keeps only 10 finished jobs here). Anything a job leaks (memory, a pipe, a pidfd, an unreaped
// child) shows up as growth between the baseline, taken after a warm-up, and the end.
#include "failure.h"
#include "job_calls.h"
#include "proc_stats.h"
#include "scenario.h"

namespace bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr int kMaxFinished = 10;

struct Snapshot {
  ThreadsAndMemory memory;
  int fds = 0;
};

Snapshot take_snapshot(McpClient& client) {
  // The exit can be seen one loop iteration before the last job's pipes reach EOF and are
  // closed; a ping round trip after it lets the server finish that before the fds are counted.
  client.ping();
  return Snapshot{
      .memory = unwrap(read_threads_and_memory(client.pid()), "reading the server's status"),
      .fds = unwrap(count_open_fds(client.pid()), "counting the server's fds")};
}

void run_true(McpClient& client) { await_completion(client, execute(client, "true"), {}); }

}  // namespace

std::vector<Figure> run_churn(const ScenarioContext& context) {
  const Scale& scale = context.scale();
  McpClient client = McpClient::start(
      context.server("churn", {{"MCP_BG_MAX_FINISHED", std::to_string(kMaxFinished)}}));

  // The warm-up fills the finished-job list to its cap and lets the allocator reach its steady
  // state, so the baseline already holds what every later moment holds.
  for (int i = 0; i < scale.churn_warm_up; ++i) run_true(client);
  const Snapshot baseline = take_snapshot(client);
  for (int i = 0; i < scale.churn_jobs; ++i) run_true(client);
  const Snapshot after = take_snapshot(client);
  const int zombies =
      unwrap(count_zombie_children(client.pid()), "counting the server's zombie children");
  client.shut_down(std::chrono::seconds(30));

  const std::string label = fmt::format("after {} jobs", scale.churn_jobs);
  const std::string baseline_label = fmt::format("after {} warm-up", scale.churn_warm_up);
  return {
      Figure{.scenario = "churn",
             .name = "RSS " + label,
             .unit = "MiB",
             .measured = static_cast<double>(after.memory.rss_bytes) / kMiB,
             .reference = static_cast<double>(baseline.memory.rss_bytes) / kMiB,
             .reference_label = baseline_label,
             // "Back near the baseline": within a tenth, what allocator noise can explain.
             .target = Target::ratio_at_most(1.10)},
      Figure{.scenario = "churn",
             .name = "open fds " + label,
             .unit = "",
             .measured = static_cast<double>(after.fds),
             .reference = static_cast<double>(baseline.fds),
             .reference_label = baseline_label,
             .target = Target::same_as_reference()},
      Figure{.scenario = "churn",
             .name = "zombie children " + label,
             .unit = "",
             .measured = static_cast<double>(zombies),
             .reference = std::nullopt,
             .reference_label = "",
             .target = Target::at_most(0)},
  };
}

}  // namespace bench

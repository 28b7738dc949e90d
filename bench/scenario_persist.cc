// persist: what a persisted job (execute {persist: true}) costs, beside what it is compared with in
// issue 12: the start of a persisted `true` until one wait sees it exit, against the driver's own
// posix_spawn + waitpid (and the unpersisted execute + wait, measured alike); `status` of a
// running persisted job against `status` of an unpersisted one; capturing head -c N /dev/zero in
// a keeper against the same > /dev/null; and a new server taking back running persisted jobs
// (its list and one status of each), with the memory it then holds.
#include <sys/wait.h>

#include <algorithm>

#include "failure.h"
#include "job_calls.h"
#include "proc_stats.h"
#include "process.h"
#include "scenario.h"
#include "steps.h"

namespace bench {
namespace {

constexpr std::chrono::seconds kWaitTimeout{30};
// Long enough for the scenario, short enough that a failed run leaves nothing for long (a
// persisted job outlives the driver's server by design).
constexpr std::string_view kSleeper = "exec sleep 120";

StartedJob execute_persisted(McpClient& client, std::string_view command) {
  Reply reply = client.call_tool("execute", Json{{"command", command}, {"persist", true}});
  const Json& r = reply.result;
  check(r.value("persisted", false) && r.contains("job_id") && r["pid"].is_number_integer(),
        "execute {{persist: true}} returned an unexpected result: {}", r.dump());
  return StartedJob{.id = r["job_id"].get<std::string>(),
                    .pid = r["pid"].get<pid_t>(),
                    .status = r["status"].get<std::string>(),
                    .sent = reply.sent};
}

void end_job(McpClient& client, const std::string& id) {
  client.call_tool("kill", Json{{"job_id", id}, {"signal", "KILL"}});
  WaitResult done = wait_for_exit(client, id, kWaitTimeout);
  check(done.reason == "exited", "job {} did not end after KILL: {}", id, done.reason);
}

}  // namespace

std::vector<Figure> run_persist(const ScenarioContext& context) {
  const Scale& scale = context.scale();
  const ServerSettings settings = {
      {"MCP_BG_STATE_DIR", (context.scratch_dir("persist") / "state").string()},
      {"MCP_BG_MAX_FINISHED", "100000"}};
  McpClient client = McpClient::start(context.server("persist", settings));
  const std::vector<std::string> env = current_environment();
  std::vector<Figure> figures;

  // Start to exit seen: persisted, unpersisted, and the driver's own spawn, interleaved.
  const int runs = std::max(scale.spawn_runs / 10, 10);
  Samples persisted_times;
  Samples plain_times;
  Samples driver_times;
  for (int i = -3; i < runs; ++i) {
    StartedJob kept = execute_persisted(client, "true");
    WaitResult kept_done = wait_for_exit(client, kept.id, kWaitTimeout);
    check(kept_done.reason == "exited" && kept_done.status == "completed",
          "persisted true: wait answered {}, {}", kept_done.reason, kept_done.status);
    StartedJob plain = execute(client, "true");
    WaitResult plain_done = wait_for_exit(client, plain.id, kWaitTimeout);
    check(plain_done.reason == "exited", "true: wait answered {}", plain_done.reason);
    Clock::duration own = spawn_and_reap_true(env);
    if (i < 0) continue;
    persisted_times.add(kept_done.received - kept.sent);
    plain_times.add(plain_done.received - plain.sent);
    driver_times.add(own);
  }
  figures.push_back(Figure{.scenario = "persist",
                           .name = fmt::format("execute persist true + wait, p50 of {}", runs),
                           .unit = "ms",
                           .measured = to_millis(persisted_times.median()),
                           .reference = to_millis(driver_times.median()),
                           .reference_label = "posix_spawn + waitpid of sh -c true",
                           .target = Target::ratio_at_most(2.0)});
  figures.push_back(Figure{.scenario = "persist",
                           .name = fmt::format("execute persist true + wait, p50 of {}", runs),
                           .unit = "ms",
                           .measured = to_millis(persisted_times.median()),
                           .reference = to_millis(plain_times.median()),
                           .reference_label = "execute true + wait (not persisted)",
                           .target = Target::none()});

  // status of a running persisted job vs an unpersisted one.
  StartedJob kept_sleep = execute_persisted(client, kSleeper);
  StartedJob plain_sleep = execute(client, kSleeper);
  Samples kept_status;
  Samples plain_status;
  for (int i = 0; i < runs * 10; ++i) {
    auto a = Clock::now();
    (void)status(client, kept_sleep.id);
    auto b = Clock::now();
    (void)status(client, plain_sleep.id);
    auto c = Clock::now();
    kept_status.add(b - a);
    plain_status.add(c - b);
  }
  figures.push_back(Figure{.scenario = "persist",
                           .name = fmt::format("status of a persisted job, p50 of {}", runs * 10),
                           .unit = "us",
                           .measured = to_micros(kept_status.median()),
                           .reference = to_micros(plain_status.median()),
                           .reference_label = "status of an unpersisted job",
                           .target = Target::ratio_at_most(2.0)});
  end_job(client, kept_sleep.id);
  end_job(client, plain_sleep.id);

  // A keeper capturing head -c N /dev/zero, until every byte was seen through the server.
  const std::string zero = fmt::format("head -c {} /dev/zero", scale.zero_bytes);
  StartedJob capture = execute_persisted(client, zero);
  JobStatus captured =
      await_completion(client, capture,
                       CompletionWait{.output_bytes = scale.zero_bytes,
                                      .poll_interval = std::chrono::milliseconds(1),
                                      .timeout = std::chrono::seconds(120)});
  Clock::duration capture_time = captured.received - capture.sent;
  const auto null_start = Clock::now();
  Child child = unwrap(spawn(SpawnRequest{.argv = {"/bin/sh", "-c", zero + " > /dev/null"},
                                          .env = env,
                                          .group = ProcessGroup::kOwn}),
                       "spawning the reference");
  sys::ExitInfo reference_exit = unwrap(child.wait(), "waiting for the reference");
  check(reference_exit.exit_code == 0, "the reference failed: {}", describe_exit(reference_exit));
  Clock::duration null_time = Clock::now() - null_start;
  figures.push_back(Figure{.scenario = "persist",
                           .name = fmt::format("{} captured by a keeper", zero),
                           .unit = "ms",
                           .measured = to_millis(capture_time),
                           .reference = to_millis(null_time),
                           .reference_label = "same > /dev/null",
                           .target = Target::none()});
  figures.push_back(Figure{.scenario = "persist",
                           .name = "keeper capture rate",
                           .unit = "GB/s",
                           .measured = static_cast<double>(scale.zero_bytes) /
                                       std::chrono::duration<double>(capture_time).count() / 1e9,
                           .target = Target::at_least(1.0)});

  // A new server takes back `count` running persisted jobs: its list, then a status of each.
  const int count = std::max(scale.concurrent_jobs / 10, 10);
  std::vector<StartedJob> sleepers;
  for (int i = 0; i < count; ++i) sleepers.push_back(execute_persisted(client, kSleeper));
  client.shut_down(std::chrono::seconds(30));
  McpClient later = McpClient::start(context.server("persist-take-back", settings));
  auto before = unwrap(read_threads_and_memory(later.pid()), "reading the server's memory");
  const auto take_back_start = Clock::now();
  Reply listed = later.call_tool("list", Json{{"status", "running"}}, std::chrono::seconds(60));
  for (const auto& job : sleepers) {
    JobStatus s = status(later, job.id, std::chrono::seconds(30));
    check(s.status == "running", "job {} is {} after the take-back", job.id, s.status);
  }
  const auto take_back_time = Clock::now() - take_back_start;
  auto after = unwrap(read_threads_and_memory(later.pid()), "reading the server's memory");
  figures.push_back(Figure{.scenario = "persist",
                           .name = fmt::format("take back {} running persisted jobs", count),
                           .unit = "ms",
                           .measured = to_millis(take_back_time),
                           .target = Target::at_most(1000.0 * count / 1000.0)});
  figures.push_back(Figure{
      .scenario = "persist",
      .name = fmt::format("server RSS growth taking back {} jobs", count),
      .unit = "MB",
      .measured =
          static_cast<double>(after.rss_bytes - std::min(after.rss_bytes, before.rss_bytes)) /
          (1 << 20),
      .target = Target::at_most(64.0 * count / 1000.0)});
  (void)listed;
  for (const auto& job : sleepers)
    later.call_tool("kill", Json{{"job_id", job.id}, {"signal", "KILL"}});
  for (const auto& job : sleepers) (void)wait_for_exit(later, job.id, kWaitTimeout);
  later.shut_down(std::chrono::seconds(30));
  return figures;
}

}  // namespace bench

#include "scenario.h"

#include "failure.h"
#include "fds.h"
#include "process.h"

namespace bench {

Scale Scale::quick() {
  Scale full;
  Scale quick = full;
  quick.round_trips = full.round_trips / 10;
  quick.spawn_runs = full.spawn_runs / 10;
  quick.zero_bytes = 100ull << 20;
  quick.concurrent_jobs = full.concurrent_jobs / 10;
  quick.idle_window = std::chrono::seconds(3);
  quick.churn_jobs = full.churn_jobs / 10;
  // A fifth, not a tenth: 50 waits would say little about holding many at once.
  quick.concurrent_waits = full.concurrent_waits / 5;
  quick.wait_probes = full.wait_probes / 10;
  // A quarter, not a tenth: two pages still show the paging, and a page is the unit redacted.
  quick.redaction_bytes = full.redaction_bytes / 4;
  // The repeats feed a median and the warm-up settles the baseline: neither shrinks.
  // The HTTP load keeps its 50 clients and 10 jobs (the target is stated for them); only its
  // phases shorten.
  quick.http_warm_up = std::chrono::milliseconds(500);
  quick.http_phase = std::chrono::milliseconds(1000);
  quick.http_rounds = 2;
  return quick;
}

ScenarioContext::ScenarioContext(std::string server_path, Scale scale,
                                 std::filesystem::path run_dir, std::string before_path)
    : server_path_(std::move(server_path)),
      before_path_(std::move(before_path)),
      scale_(scale),
      run_dir_(std::move(run_dir)),
      empty_config_(run_dir_ / "empty-config.toml") {
  // An empty TOML file is a valid config that sets nothing.
  unwrap(create_file(empty_config_), "creating the empty server config");
}

ServerLaunch ScenarioContext::launch(const std::string& path, std::string log_name,
                                     const ServerSettings& settings) const {
  std::vector<std::string> env;
  for (auto& entry : current_environment()) {
    if (!entry.starts_with("MCP_BG_")) env.push_back(std::move(entry));
  }
  env.push_back("MCP_BG_CONFIG=" + empty_config_.string());
  for (const auto& [name, value] : settings) env.push_back(fmt::format("{}={}", name, value));
  return ServerLaunch{
      .path = path, .env = std::move(env), .log_path = run_dir_ / fmt::format("{}.log", log_name)};
}

ServerLaunch ScenarioContext::server(std::string_view log_name,
                                     const ServerSettings& settings) const {
  return launch(server_path_, std::string(log_name), settings);
}

std::optional<ServerLaunch> ScenarioContext::before_server(std::string_view log_name,
                                                           const ServerSettings& settings) const {
  if (before_path_.empty()) return std::nullopt;
  return launch(before_path_, fmt::format("{}-before", log_name), settings);
}

std::filesystem::path ScenarioContext::scratch_dir(std::string_view name) const {
  std::filesystem::path dir = run_dir_ / name;
  std::error_code error;
  std::filesystem::create_directory(dir, error);
  check(!error, "creating {}: {}", dir.string(), error.message());
  return dir;
}

const std::vector<Scenario>& all_scenarios() {
  static const std::vector<Scenario> scenarios = {
      {"round-trip", "status vs ping round trip over stdio (p50, p99)", run_round_trip},
      {"spawn", "execute(true) until completed vs the driver's own posix_spawn + waitpid",
       run_spawn},
      {"capture", "capturing seq 1 2000000 and head -c 1G /dev/zero vs sh -c 'CMD > /dev/null'",
       run_capture},
      {"idle", "threads, RSS, idle CPU and shutdown time with 1000 sleep jobs", run_idle},
      {"churn", "RSS, fds and zombies before and after 10,000 short jobs", run_churn},
      {"spawn-wait", "execute(true) + one wait until exited vs posix_spawn + waitpid",
       run_spawn_wait},
      {"spawn-checked",
       "spawn-wait with allowed_programs = sh: the checked file is executed by descriptor",
       run_spawn_checked},
      {"waits", "500 pending waits: status latency, threads, idle CPU, shutdown answers all",
       run_waits},
      {"redaction", "reading 8 MiB of build log / secret-dense output, redaction on vs off",
       run_redaction},
      {"http-load",
       "50 HTTP clients calling status while 10 short jobs run, vs the same clients on /healthz",
       run_http_load},
      {"persist",
       "persisted jobs: start to exit seen, status, a keeper's capture, a new server taking "
       "jobs back",
       run_persist},
      {"agent-cost",
       "bytes and calls for an agent to learn the failing line of a 10,000-line test run, "
       "default arguments (with --before: the earlier build too)",
       run_agent_cost},
      {"wait-cost",
       "capturing seq 1 2000000 with 1 and 100 pending waits on the job vs none (with "
       "--before: the earlier build too)",
       run_wait_cost},
      {"list-cost",
       "list of 50 running jobs, 5 of them listening on a TCP port (with --before: the earlier "
       "build, called in alternation)",
       run_list_cost},
      {"history-write", "execute(true) + one wait with the history kept vs state_dir = none",
       run_history_write},
      {"history-list", "list page p50 from a history of 100,000 finished jobs vs one of 100",
       run_history_list},
  };
  return scenarios;
}

}  // namespace bench

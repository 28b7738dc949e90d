#pragma once
/// The benchmark's scenarios, what each receives, and the registry main runs them from. Each
/// scenario starts its own server with the settings it needs, measures one concern beside a
/// reference taken in the same run, and returns its figures; it throws Failure when the server
/// misbehaves. One file per scenario: scenario_<name>.cc.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mcp_client.h"
#include "report.h"

namespace bench {

/// How much work each scenario does. The defaults are the full run; quick() is a smoke run.
struct Scale {
  int round_trips = 20'000;          // Of each of ping and status.
  int spawn_runs = 300;              // execute(true) and the driver's own spawn, each.
  uint64_t zero_bytes = 1ull << 30;  // head -c N /dev/zero.
  int capture_repeats = 3;           // Per command; the median is reported.
  int concurrent_jobs = 1000;        // sleep 1000 jobs running at once.
  int concurrent_waits = 500;        // wait calls pending at once, one per sleep 1000 job.
  int wait_probes = 200;             // Of each of ping and status while the waits are pending.
  std::chrono::seconds idle_window{10};
  int churn_jobs = 10'000;
  int churn_warm_up = 100;
  uint64_t redaction_bytes = 8ull << 20;  // Of each kind of text; kept whole (bound: 10 MiB).
  int redaction_repeats = 5;              // Reads of each job per server; the median is reported.
  // http-load: a warm-up, then `http_rounds` alternations of the reference load (GET /healthz)
  // and the status load, each phase `http_phase` long.
  std::chrono::milliseconds http_warm_up{2000};
  std::chrono::milliseconds http_phase{4000};
  int http_rounds = 3;

  /// A tenth of the counts (a fifth of the waits), 100 MiB instead of 1 GiB, 2 MiB of text to
  /// redact instead of 8, a 3 s idle window, and two rounds of 1 s HTTP load phases.
  static Scale quick();
};

/// MCP_BG_* settings for a server, e.g. {"MCP_BG_MAX_JOBS", "1000"}.
using ServerSettings = std::vector<std::pair<std::string, std::string>>;

/// What every scenario receives: the scale of the run and how to start a server.
class ScenarioContext {
 public:
  /// `before_path`: an earlier build of the server to measure beside this one ("" for none).
  ScenarioContext(std::string server_path, Scale scale, std::filesystem::path run_dir,
                  std::string before_path = "");

  const Scale& scale() const { return scale_; }

  /// A server with its default settings plus `settings`, and nothing inherited: MCP_BG_*
  /// variables of the driver's environment are dropped and MCP_BG_CONFIG names an empty file,
  /// so a user's config file cannot change what is measured. Its log goes to
  /// <run dir>/<log_name>.log.
  ServerLaunch server(std::string_view log_name, const ServerSettings& settings = {}) const;

  /// The same for the earlier build given with --before, if one was (its log is
  /// <log_name>-before.log). Scenarios that compare builds measure it in the same run.
  std::optional<ServerLaunch> before_server(std::string_view log_name,
                                            const ServerSettings& settings = {}) const;

  /// A new empty directory <run dir>/<name>, e.g. for a server's working_dir.
  std::filesystem::path scratch_dir(std::string_view name) const;

 private:
  ServerLaunch launch(const std::string& path, std::string log_name,
                      const ServerSettings& settings) const;

  std::string server_path_;
  std::string before_path_;
  Scale scale_;
  std::filesystem::path run_dir_;
  std::filesystem::path empty_config_;
};

using ScenarioFunction = std::vector<Figure> (*)(const ScenarioContext&);

struct Scenario {
  std::string_view name;     // As given to --only.
  std::string_view summary;  // One line for --help.
  ScenarioFunction run;
};

/// Every scenario, in the order a full run performs them.
const std::vector<Scenario>& all_scenarios();

std::vector<Figure> run_round_trip(const ScenarioContext& context);
std::vector<Figure> run_spawn(const ScenarioContext& context);
std::vector<Figure> run_capture(const ScenarioContext& context);
std::vector<Figure> run_idle(const ScenarioContext& context);
std::vector<Figure> run_churn(const ScenarioContext& context);
std::vector<Figure> run_spawn_wait(const ScenarioContext& context);
std::vector<Figure> run_spawn_checked(const ScenarioContext& context);
std::vector<Figure> run_waits(const ScenarioContext& context);
std::vector<Figure> run_redaction(const ScenarioContext& context);
std::vector<Figure> run_http_load(const ScenarioContext& context);
std::vector<Figure> run_agent_cost(const ScenarioContext& context);
std::vector<Figure> run_wait_cost(const ScenarioContext& context);
std::vector<Figure> run_list_cost(const ScenarioContext& context);
std::vector<Figure> run_persist(const ScenarioContext& context);
std::vector<Figure> run_history_write(const ScenarioContext& context);
std::vector<Figure> run_history_list(const ScenarioContext& context);

}  // namespace bench

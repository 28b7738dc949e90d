// bench_driver: measures the mcp-background-job server against references taken in the same
// run and prints one table. main only wires the pieces together: options, a directory for the
// server logs, the scenarios in order, the report.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <variant>

#include "failure.h"
#include "options.h"
#include "report.h"
#include "scenario.h"

namespace {

using namespace bench;

// A private directory for the server logs and the empty config file; kept when a run fails so
// the logs can be read, removed otherwise.
std::filesystem::path make_run_directory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "mcpbg-bench-XXXXXX").string();
  check(::mkdtemp(pattern.data()) != nullptr, "mkdtemp {}: {}", pattern, std::strerror(errno));
  return pattern;
}

// Runs the chosen scenarios and reports; returns the exit code.
int run(const Options& options) {
  RunInfo info{.server_path = options.server_path,
               .quick = options.quick,
               .cpus = ::sysconf(_SC_NPROCESSORS_ONLN)};
  std::vector<Figure> figures;
  const auto run_started = Clock::now();
  std::filesystem::path run_dir;
  try {
    run_dir = make_run_directory();
    ScenarioContext context(options.server_path, options.scale, run_dir, options.before_path);
    fmt::print(stderr, "bench_driver: {} run of {} on {} CPUs; server logs in {}\n",
               options.quick ? "quick" : "full", options.server_path, info.cpus, run_dir.string());
    for (const Scenario* scenario : options.scenarios) {
      fmt::print(stderr, "  {:<11} ...", scenario->name);
      std::fflush(stderr);
      const auto started = Clock::now();
      std::vector<Figure> produced = scenario->run(context);
      fmt::print(stderr, " {:.1f} s\n", to_seconds(Clock::now() - started));
      figures.insert(figures.end(), produced.begin(), produced.end());
    }
  } catch (const Failure& failure) {
    info.error = failure.what();
  } catch (const std::exception& e) {
    // Not the server's fault as far as we know (a driver bug): stop all the same.
    info.error = fmt::format("driver error: {}", e.what());
  }
  info.wall_seconds = to_seconds(Clock::now() - run_started);
  if (info.error) {
    fmt::print(stderr, "\nbench_driver: FAILED: {}\n", *info.error);
    if (!run_dir.empty()) fmt::print(stderr, "server logs kept in {}\n", run_dir.string());
  }

  fmt::print("\n");
  print_table(figures);
  if (options.json_path) {
    if (auto written = write_json(*options.json_path, info, figures); !written) {
      fmt::print(stderr, "bench_driver: {}\n", written.error().message);
      return 1;
    }
  }
  if (info.error) return 1;
  std::error_code ignored;
  std::filesystem::remove_all(run_dir, ignored);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A server that dies must surface as EPIPE on the next request, not kill the driver.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    auto parsed = parse_options(argc, argv);
    if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
    return run(std::get<Options>(parsed));
  } catch (const std::exception& e) {
    // Only printing and the report can get here (e.g. out of memory); say so and fail.
    std::fprintf(stderr, "bench_driver: %s\n", e.what());
    return 1;
  }
}

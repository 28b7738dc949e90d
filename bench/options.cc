#include "options.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#ifndef SERVER_PATH
#error "SERVER_PATH must name the server binary (bench/CMakeLists.txt defines it)"
#endif

namespace bench {

std::variant<Options, int> parse_options(int argc, char** argv) {
  std::string scenario_help = "Run only these scenarios (comma-separated), in this order:";
  std::vector<std::string> names;
  for (const auto& s : all_scenarios()) {
    names.emplace_back(s.name);
    scenario_help += fmt::format("\n  {:<11} {}", s.name, s.summary);
  }

  CLI::App app(
      "Benchmark for mcp-background-job: drives the real server over stdio and prints each\n"
      "figure beside a reference measured in the same run. Targets are informational; the exit\n"
      "code is non-zero only when the server misbehaves (a failed job, a protocol error, a\n"
      "missed deadline).",
      "bench_driver");
  Options options;
  options.server_path = SERVER_PATH;
  std::vector<std::string> only;
  std::string json_path;
  app.add_option("--server", options.server_path, "The server binary to measure")
      ->capture_default_str();
  app.add_option("--before", options.before_path,
                 "An earlier build of the server, measured in the same run by the scenarios "
                 "that compare builds (agent-cost, wait-cost, list-cost)")
      ->check(CLI::ExistingFile);
  app.add_flag("--quick", options.quick,
               "Smoke run: a tenth of the counts, 100M instead of 1G, a 3 s idle window, "
               "1 s HTTP load phases");
  app.add_option("--only", only, scenario_help)->delimiter(',')->check(CLI::IsMember(names));
  app.add_option("--json", json_path, "Also write the figures to this JSON file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // app.exit prints the help or the error; a bad command line is exit code 2, as for the server.
    return app.exit(e) == 0 ? 0 : 2;
  }

  options.scale = options.quick ? Scale::quick() : Scale{};
  if (!json_path.empty()) options.json_path = json_path;
  for (const auto& scenario : all_scenarios()) {
    if (only.empty()) options.scenarios.push_back(&scenario);
  }
  for (const auto& name : only) {
    for (const auto& scenario : all_scenarios()) {
      if (scenario.name == name) options.scenarios.push_back(&scenario);
    }
  }
  return options;
}

}  // namespace bench

#pragma once
/// The driver's command line, parsed once by main and read by nothing else.

#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "scenario.h"

namespace bench {

struct Options {
  std::string server_path;                 // --server, default: the binary built beside us.
  std::string before_path;                 // --before: an earlier build to compare with.
  std::vector<const Scenario*> scenarios;  // --only, default: all, in registry order.
  bool quick = false;                      // --quick
  Scale scale;
  std::optional<std::filesystem::path> json_path;  // --json
};

/// The options, or the exit code main should return at once (0 after --help, 2 for a bad flag,
/// with the message already printed).
std::variant<Options, int> parse_options(int argc, char** argv);

}  // namespace bench

#pragma once
// The engine policy both MCP fuzz targets run under: it refuses every job, so no input can start
// a process. shell = false refuses every `command` job (the shell check comes first), and the
// denied_commands pattern ".*" matches every argv job's command line, the empty one included.
// Both checks run in CommandPolicy::check_command, before the cwd, the program, or any question
// of capacity: nothing reaches spawn_process.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "policy/command_policy.h"

namespace fuzz {

inline std::shared_ptr<const policy::CommandPolicy> refuse_every_job(
    const std::filesystem::path& working_dir) {
  auto created =
      policy::CommandPolicy::create(policy::CommandRules{.denied_commands = {".*"}, .shell = false},
                                    working_dir, "/usr/bin:/bin");
  if (!created) {
    std::fprintf(stderr, "fuzz: policy: %s\n", created.error().message.c_str());
    std::abort();
  }
  return std::make_shared<const policy::CommandPolicy>(std::move(*created));
}

}  // namespace fuzz

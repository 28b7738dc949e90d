#pragma once
/// Finding the program a command names, the way execvp would: used by the spawner when the
/// policy has not already fixed the path, and by the policy to check what will run.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sys {

/// Resolves a bare program name against a PATH value the way execvp would, checking that the
/// candidate is an executable regular file. Names containing '/' are returned unchanged. With
/// `relative_to` set, relative names and relative PATH entries (including the empty entry, which
/// means ".") are taken from that directory, as the child will see them after its chdir, and the
/// result is absolute.
base::Result<std::string> resolve_program(const std::string& name, std::string_view path_value,
                                          const std::filesystem::path& relative_to = {});

/// The PATH a child with environment `env` ("NAME=value" entries) looks programs up on: its own
/// PATH entry, else the server's, else a default.
std::string_view find_path_value(const std::vector<std::string>& env);

}  // namespace sys

#pragma once
/// The state directory: where the history database and the persisted jobs' files live. It holds
/// commands and output, so it is the owner's alone: created 0700, and an existing one that others
/// may read or that belongs to someone else is refused rather than used.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "base/result.h"

namespace store {

/// `$XDG_STATE_HOME/mcp-background-job`, else `$HOME/.local/state/mcp-background-job`; empty if
/// neither variable is set to an absolute path.
std::filesystem::path default_state_dir(const std::map<std::string, std::string>& environment);

/// Creates `dir` (and its missing parents) if needed and checks it is a directory owned by this
/// user with no access for group or others. The error says what to change.
base::Result<void> prepare_state_dir(const std::filesystem::path& dir);

/// The files of the keeper of persisted job `id`: `<dir>/keepers/<id><extension>`: its socket
/// (".sock"), its log (".log"), and its job's output while it runs (".out", a store::OutputFile).
std::filesystem::path keeper_file(const std::filesystem::path& dir, std::string_view id,
                                  std::string_view extension);

}  // namespace store

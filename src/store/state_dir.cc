#include "store/state_dir.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace store {

std::filesystem::path default_state_dir(const std::map<std::string, std::string>& environment) {
  auto absolute = [&](const char* name) -> std::filesystem::path {
    auto found = environment.find(name);
    if (found == environment.end() || found->second.empty() || found->second[0] != '/') return {};
    return found->second;
  };
  if (auto state = absolute("XDG_STATE_HOME"); !state.empty()) {
    return state / "mcp-background-job";
  }
  if (auto home = absolute("HOME"); !home.empty()) {
    return home / ".local" / "state" / "mcp-background-job";
  }
  return {};
}

base::Result<void> prepare_state_dir(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir.parent_path(), error);
  if (error) {
    return base::fail(
        fmt::format("state_dir {}: cannot create its parent: {}", dir.string(), error.message()));
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return base::fail_errno(fmt::format("state_dir {}: mkdir", dir.string()));
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return base::fail_errno(fmt::format("state_dir {}: stat", dir.string()));
  }
  if (!S_ISDIR(st.st_mode)) {
    return base::fail(
        fmt::format("state_dir {} is not a directory (a symbolic link is not "
                    "followed): name a directory, or none",
                    dir.string()));
  }
  if (st.st_uid != ::geteuid()) {
    return base::fail(
        fmt::format("state_dir {} belongs to uid {}, not to this user ({}): it "
                    "holds commands and output, so it must be yours alone",
                    dir.string(), st.st_uid, ::geteuid()));
  }
  if ((st.st_mode & 077) != 0) {
    return base::fail(
        fmt::format("state_dir {} is open to other users (mode {:o}): it holds "
                    "commands and output; run chmod 700 {}",
                    dir.string(), st.st_mode & 0777, dir.string()));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return base::fail_errno(fmt::format("state_dir {} is not writable", dir.string()));
  }
  return {};
}

std::filesystem::path keeper_file(const std::filesystem::path& dir, std::string_view id,
                                  std::string_view extension) {
  return dir / "keepers" / (std::string(id) + std::string(extension));
}

}  // namespace store

#include "sys/program_path.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace sys {

base::Result<std::string> resolve_program(const std::string& name, std::string_view path_value,
                                          const std::filesystem::path& relative_to) {
  if (name.empty()) return base::fail("the program name is empty");
  auto from_base = [&](std::string path) {
    if (relative_to.empty() || path.starts_with('/')) return path;
    return (relative_to / path).string();
  };
  if (name.find('/') != std::string::npos) return from_base(name);
  size_t start = 0;
  while (start <= path_value.size()) {
    size_t end = path_value.find(':', start);
    if (end == std::string_view::npos) end = path_value.size();
    std::string_view dir = path_value.substr(start, end - start);
    // An empty PATH entry means the current directory.
    std::string candidate = from_base(fmt::format("{}/{}", dir.empty() ? "." : dir, name));
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return base::fail(fmt::format("program '{}' not found on PATH ({})", name, path_value), ENOENT);
}

std::string_view find_path_value(const std::vector<std::string>& env) {
  for (const auto& entry : env) {
    if (entry.starts_with("PATH=")) return std::string_view(entry).substr(5);
  }
  const char* own = ::getenv("PATH");
  return own != nullptr ? own : "/usr/local/bin:/usr/bin:/bin";
}

}  // namespace sys

#include "policy/environment.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>

extern char** environ;

namespace policy {
namespace {

bool in_minimal_set(std::string_view name) {
  return std::find(std::begin(kMinimalEnvironment), std::end(kMinimalEnvironment), name) !=
         std::end(kMinimalEnvironment);
}

}  // namespace

bool is_loader_variable(std::string_view name) {
  return name.starts_with("LD_") ||
         std::find(std::begin(kLoaderVariables), std::end(kLoaderVariables), name) !=
             std::end(kLoaderVariables);
}

bool name_excluded(std::string_view name, const std::vector<std::string>& patterns) {
  if (patterns.empty()) return false;
  std::string text(name);  // fnmatch needs a terminated string
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
    return ::fnmatch(pattern.c_str(), text.c_str(), FNM_CASEFOLD) == 0;
  });
}

std::vector<std::string> inheritable_environment(const EnvironmentRules& rules,
                                                 const std::vector<std::string_view>& server) {
  std::vector<std::string> kept;
  kept.reserve(server.size());
  for (std::string_view entry : server) {
    std::string_view name = entry.substr(0, entry.find('='));
    if (rules.inheritance == EnvInheritance::kMinimal && !in_minimal_set(name)) continue;
    if (name_excluded(name, rules.exclude)) continue;
    kept.emplace_back(entry);
  }
  return kept;
}

std::vector<std::string> job_environment(const EnvironmentRules& rules,
                                         const std::vector<std::string>& inheritable,
                                         const std::map<std::string, std::string>& own,
                                         Attachment attachment) {
  // Lowest precedence first: inherited, then the defaults for how the job runs, then its own env.
  std::map<std::string, std::string, std::less<>> set_here;
  if (attachment == Attachment::kTerminal) {
    // What the terminal understands; the server's own TERM describes whatever it runs under.
    set_here = {{"TERM", "xterm-256color"}};
  } else if (rules.non_interactive) {
    // Nobody watches a pipe live: no pager waiting for a key, no colour codes in the log.
    set_here = {{"TERM", "dumb"}, {"NO_COLOR", "1"}, {"PAGER", "cat"}, {"GIT_PAGER", "cat"}};
  }
  for (const auto& [name, value] : own) set_here.insert_or_assign(name, value);

  std::vector<std::string> env;
  env.reserve(inheritable.size() + set_here.size());
  for (const std::string& entry : inheritable) {
    std::string_view name = std::string_view(entry).substr(0, entry.find('='));
    if (!set_here.contains(name)) env.push_back(entry);
  }
  for (const auto& [name, value] : set_here) env.push_back(fmt::format("{}={}", name, value));
  return env;
}

std::vector<std::string> build_environment(const EnvironmentRules& rules,
                                           const std::vector<std::string_view>& inherited,
                                           const std::map<std::string, std::string>& own,
                                           Attachment attachment) {
  return job_environment(rules, inheritable_environment(rules, inherited), own, attachment);
}

std::vector<std::string_view> server_environment() {
  std::vector<std::string_view> entries;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    entries.emplace_back(*entry);
  }
  return entries;
}

std::optional<std::string_view> find_variable(const std::vector<std::string>& env,
                                              std::string_view name) {
  for (const auto& entry : env) {
    if (entry.size() > name.size() && entry[name.size()] == '=' && entry.starts_with(name)) {
      return std::string_view(entry).substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

}  // namespace policy

#pragma once
/// A job's environment, built in one place: what it inherits from the server (all of it, or a
/// minimal set), minus the operator's exclusions, then the defaults for how the job runs (pipes
/// or a terminal), then the job's own `env`. Pure: the server's environment is passed in. Used by
/// jobs::JobManager for every job it starts.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace policy {

enum class EnvInheritance {
  kInherit,  // Everything the server has.
  kMinimal,  // Only kMinimalEnvironment.
};

/// What a job inherits under EnvInheritance::kMinimal: enough to find programs and to know who and
/// where it is, nothing that carries a credential.
inline constexpr std::string_view kMinimalEnvironment[] = {"PATH", "HOME", "USER", "LANG", "TERM"};

struct EnvironmentRules {
  EnvInheritance inheritance = EnvInheritance::kInherit;
  // Glob patterns (fnmatch, case-insensitive) of variable names removed from what a job inherits.
  // They never remove a variable the job's own `env` sets: the caller asked for that one.
  std::vector<std::string> exclude;
  // Jobs without a terminal get TERM=dumb, NO_COLOR=1, PAGER=cat and GIT_PAGER=cat (unless their
  // own `env` says otherwise), so that tools neither page nor colour output nobody watches live.
  bool non_interactive = true;
};

/// How the job is attached, which decides the defaults it gets.
enum class Attachment { kPipes, kTerminal };

/// Variables that make a dynamically linked program load code (or data that steers it) from where
/// the variable says, besides every LD_*: the rest of what glibc's loader drops for a set-user-id
/// program (its "unsecure" list), TMPDIR excepted, which only says where temporary files go.
/// GCONV_PATH loads iconv modules, GETCONF_DIR names programs getconf runs, GLIBC_TUNABLES
/// steers the loader and malloc; the others point name resolution, locales, message catalogs and
/// time zones at other files.
inline constexpr std::string_view kLoaderVariables[] = {
    "GCONV_PATH",   "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES",      "LOCALDOMAIN", "LOCPATH",
    "MALLOC_TRACE", "NIS_PATH",    "NLSPATH",        "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR"};

/// True for the variables the dynamic loader and libc read to load code from elsewhere: every
/// name starting LD_, and kLoaderVariables. Compared exactly (the loader's names are upper case).
bool is_loader_variable(std::string_view name);

/// True when `name` matches one of `patterns` (fnmatch, case-insensitive).
bool name_excluded(std::string_view name, const std::vector<std::string>& patterns);

/// The part of `server` (the server's environment, "NAME=value" entries) a job may inherit under
/// `rules`: all of it or the minimal set, minus the exclusions. The server's environment does not
/// change while it runs, so the engine computes this once rather than matching every pattern
/// against every variable for every job.
std::vector<std::string> inheritable_environment(const EnvironmentRules& rules,
                                                 const std::vector<std::string_view>& server);

/// A job's whole environment from an `inheritable` set already filtered by
/// inheritable_environment: it, then the defaults for `attachment`, then `own`.
std::vector<std::string> job_environment(const EnvironmentRules& rules,
                                         const std::vector<std::string>& inheritable,
                                         const std::map<std::string, std::string>& own,
                                         Attachment attachment);

/// The whole environment of a job, "NAME=value" entries. `inherited` is the server's environment
/// ("NAME=value" entries, as in `environ`); `own` is the job's `env`. Precedence, lowest first:
/// inherited (filtered by `rules`), the defaults for `attachment`, `own`.
std::vector<std::string> build_environment(const EnvironmentRules& rules,
                                           const std::vector<std::string_view>& inherited,
                                           const std::map<std::string, std::string>& own,
                                           Attachment attachment);

/// This process's environment as entries for build_environment, read now.
std::vector<std::string_view> server_environment();

/// The value of `name` in "NAME=value" entries; nullopt when absent (not the same as empty: an
/// empty PATH means "the current directory").
std::optional<std::string_view> find_variable(const std::vector<std::string>& env,
                                              std::string_view name);

}  // namespace policy

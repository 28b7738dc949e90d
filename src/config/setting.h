#pragma once
/// Inside config/ only: one row of the settings table (everything --help, the three sources and
/// the error messages need) and the kinds of value that build the rows. The table itself is in
/// settings_table.cc; loading (config.cc), the TOML file (toml_file.cc) and the help text
/// (help.cc) read it.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "config/parse.h"

namespace config {

constexpr std::string_view kConfigFlag = "--config";
constexpr std::string_view kConfigEnv = "MCP_BG_CONFIG";
// The bearer token itself comes from the environment only: a flag would show it in ps.
constexpr std::string_view kFlagSource = "command line";
constexpr std::string_view kEnvSource = "environment";
constexpr size_t kHelpColumn = 32;
constexpr size_t kHelpWidth = 100;

// Which TOML types a setting takes besides a string, which every setting takes in the same syntax
// as its flag and environment variable.
enum class TomlForm { kInteger, kSize, kDuration, kBoolean, kStringOnly, kList };

// What a value's meaning may depend on besides its text.
struct ValueContext {
  // Relative paths resolve against this directory (the config file's); empty means the process's.
  std::filesystem::path base_dir;
  const Environment* env = nullptr;  // For "~".
};

// Parses `text` into its Config field, or returns why the text is invalid. The reason quotes the
// text; the caller adds the setting, the source and what is allowed.
using Apply =
    std::function<base::Result<void>(std::string_view text, const ValueContext&, Config&)>;
// For list settings: the items, from a TOML array or from comma-separated text (parse_list).
using ApplyList = std::function<base::Result<void>(const std::vector<std::string>& items,
                                                   const ValueContext&, Config&)>;

struct Names {
  std::string key;      // TOML key.
  std::string flag;     // Long flag, with its dashes.
  std::string env_var;  // Environment variable.
};

// One row per setting: everything --help, the three sources and the error messages need.
struct Setting {
  Names names;
  std::string type_name;     // The value's placeholder in --help.
  std::string help;          // What the setting controls.
  std::string default_text;  // The default as --help shows it.
  std::string allowed;       // What is allowed, ending every error about this setting.
  TomlForm toml_form;
  Apply apply;
  ApplyList apply_list;  // Set for list settings only (toml_form kList).
};

/// Every row, in the order --help and docs/settings.md list them.
const std::vector<Setting>& settings();

/// The error every source gives for an invalid value: "invalid LABEL (SOURCE): REASON; allowed:
/// ALLOWED".
std::string invalid(std::string_view label, std::string_view source, std::string_view reason,
                    std::string_view allowed);

/// The variable's value, or nullopt when it is not set.
std::optional<std::string> get_env(const Environment& env, std::string_view name);

// ---- Kinds of value (value_kinds.cc).
Setting integer_setting(Names names, std::string help, int Config::*member, int min, int max);
Setting size_setting(Names names, std::string help, uint64_t Config::*member, uint64_t min,
                     uint64_t max);
Setting duration_setting(Names names, std::string help, std::chrono::milliseconds Config::*member,
                         std::chrono::milliseconds min, std::chrono::milliseconds max);
Setting log_level_setting(Names names, std::string help);
Setting boolean_setting(Names names, std::string help, bool Config::*member);
// "~" and "~/x" expand with HOME (a config file or a quoted flag gets no help from the shell);
// a relative path resolves against the context's base directory.
base::Result<std::filesystem::path> resolve_path(std::string_view text,
                                                 const ValueContext& context);
// resolve_path, then made absolute against the current directory and normalised: how every
// setting that names a file or directory to write takes its path.
base::Result<std::filesystem::path> absolute_path(std::string_view text,
                                                  const ValueContext& context);
Setting directory_setting(Names names, std::string help);
// A list setting reads comma-separated text from flags and the environment and an array of
// strings (or the same text) from the config file; both reach `apply_list`.
Setting list_setting(Names names, std::string type_name, std::string help, std::string default_text,
                     std::string allowed, ApplyList apply_list);
Setting string_list_setting(Names names, std::string help, std::vector<std::string> Config::*member,
                            std::string allowed);
Setting roots_setting(Names names, std::string help);
Setting file_setting(Names names, std::string help, std::filesystem::path Config::*member);
// The state directory: a path, or "none" (an empty path: keep nothing); unset means the default.
Setting state_dir_setting(Names names, std::string help);

// A setting with a fixed set of names (any case), each standing for one value of the member.
template <class T>
Setting choice_setting(Names names, std::string help, T Config::*member,
                       std::vector<std::pair<std::string, T>> choices) {
  std::vector<std::string> spellings;
  std::string default_text;
  for (const auto& [name, value] : choices) {
    spellings.push_back(name);
    if (value == Config{}.*member) default_text = name;
  }
  return Setting{std::move(names),
                 "NAME",
                 std::move(help),
                 std::move(default_text),
                 fmt::format("one of {}", fmt::join(spellings, ", ")),
                 TomlForm::kStringOnly,
                 [member, choices](std::string_view text, const ValueContext&,
                                   Config& config) -> base::Result<void> {
                   for (const auto& [name, value] : choices) {
                     if (equals_ignoring_case(trim(text), name)) {
                       config.*member = value;
                       return {};
                     }
                   }
                   return base::fail(fmt::format("{} is not one of the choices", quote(text)));
                 }};
}

// ---- HTTP's kinds of value (http_kinds.cc).
Setting http_setting(Names names, std::string help);
Setting hosts_setting(Names names, std::string help);
Setting origins_setting(Names names, std::string help);

// ---- The bearer token (auth_token.cc).
constexpr std::string_view kTokenEnv = "MCP_BG_AUTH_TOKEN";
constexpr std::string_view kTokenAllowed =
    "one word of printable ASCII, from 16 to 4096 characters (e.g. the output of `openssl rand "
    "-hex 32`)";

// The bearer token, checked wherever it came from. No reason quotes it: errors are printed.
base::Result<std::string> check_token(std::string_view text);
Setting token_file_setting(Names names, std::string help);

}  // namespace config

#pragma once
/// Inside config/ only: the TOML config file. Which file (--config, MCP_BG_CONFIG or the XDG
/// default), its text, and its keys applied to a Config with the settings table's parsers.

#include <filesystem>
#include <optional>
#include <string>

#include "base/result.h"
#include "config/config.h"
#include "config/setting.h"

namespace CLI {
class Option;
}  // namespace CLI

namespace config {

struct ConfigFile {
  std::filesystem::path path;
  std::string origin;  // Why this file: "from --config", "from MCP_BG_CONFIG", "default location".
  bool required;       // A missing file is an error only when someone named it.
};

// The file named by --config, else by MCP_BG_CONFIG, else the XDG default (which may not exist).
base::Result<std::optional<ConfigFile>> choose_config_file(const CLI::Option& flag,
                                                           const std::string& flag_value,
                                                           const Environment& env);

// The file's text, or nullopt when an optional file does not exist.
base::Result<std::optional<std::string>> read_config_file(const ConfigFile& file);

// Every key of the file's text applied to `config`; an unknown key or an invalid value is an error.
base::Result<void> apply_config_file(const ConfigFile& file, const std::string& text,
                                     const Environment& env, Config& config);

}  // namespace config

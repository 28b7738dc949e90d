// The TOML config file: which file, its text, and its keys applied to a Config.
#include "config/toml_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <sstream>
#include <system_error>

#include "base/unique_fd.h"
#include "sys/small_file.h"

namespace config {
namespace {

std::string_view toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// A float as decimal text parse_duration reads ("1.5", never "1e-05"), so that a TOML float and the
// same number written as a string give the same value or the same error.
std::string float_text(double value) {
  std::string text = fmt::format("{}", value);
  if (!std::isfinite(value) || text.find_first_of("eE") == std::string::npos) return text;
  text = fmt::format("{:.9f}", value);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

// The text a setting's parser reads for a TOML value, or why a value of this type is not taken.
base::Result<std::string> toml_text(const toml::node& node, TomlForm form) {
  if (const auto* string = node.as_string()) return string->get();
  if (const auto* integer = node.as_integer()) {
    if (form != TomlForm::kStringOnly) return std::to_string(integer->get());
  }
  if (const auto* floating = node.as_floating_point()) {
    if (form == TomlForm::kDuration) return float_text(floating->get());
  }
  if (const auto* boolean = node.as_boolean()) {
    if (form == TomlForm::kBoolean) return std::string(boolean->get() ? "true" : "false");
  }
  std::string_view expected;
  switch (form) {
    case TomlForm::kInteger:
      expected = "an integer or a string";
      break;
    case TomlForm::kSize:
      expected = "an integer (bytes) or a string";
      break;
    case TomlForm::kDuration:
      expected = "a number (seconds) or a string";
      break;
    case TomlForm::kBoolean:
      expected = "a boolean or a string";
      break;
    case TomlForm::kStringOnly:
      expected = "a string";
      break;
    case TomlForm::kList:
      expected = "an array of strings or a string";
      break;
  }
  if (node.is_table() || node.is_array()) {
    return base::fail(fmt::format("got {}, expected {}", toml_type_name(node), expected));
  }
  std::ostringstream shown;
  node.visit([&shown](const auto& value) { shown << value; });
  return base::fail(fmt::format("{} is {}, not {}", shown.str(), toml_type_name(node), expected));
}

}  // namespace

std::optional<std::string> get_env(const Environment& env, std::string_view name) {
  auto it = env.find(std::string(name));
  if (it == env.end()) return std::nullopt;
  return it->second;
}

// The file named by --config, else by MCP_BG_CONFIG, else the XDG default (which may not exist).
base::Result<std::optional<ConfigFile>> choose_config_file(const CLI::Option& flag,
                                                           const std::string& flag_value,
                                                           const Environment& env) {
  constexpr std::string_view kAllowed = "the path of a TOML file";
  if (flag.count() > 0) {
    if (flag_value.empty()) {
      return base::fail(invalid(kConfigFlag, kFlagSource, "\"\" is empty", kAllowed));
    }
    return ConfigFile{flag_value, fmt::format("from {}", kConfigFlag), true};
  }
  if (auto named = get_env(env, kConfigEnv)) {
    if (named->empty())
      return base::fail(invalid(kConfigEnv, kEnvSource, "\"\" is empty", kAllowed));
    return ConfigFile{*named, fmt::format("from {}", kConfigEnv), true};
  }
  // The XDG base directory spec says to ignore an empty or relative XDG_CONFIG_HOME.
  std::filesystem::path dir;
  auto xdg = get_env(env, "XDG_CONFIG_HOME");
  auto home = get_env(env, "HOME");
  if (xdg && !xdg->empty() && std::filesystem::path(*xdg).is_absolute()) {
    dir = *xdg;
  } else if (home && !home->empty()) {
    dir = std::filesystem::path(*home) / ".config";
  } else {
    return std::nullopt;
  }
  return ConfigFile{dir / "mcp-background-job" / "config.toml", "default location", false};
}

// The file's text, or nullopt when an optional file does not exist.
base::Result<std::optional<std::string>> read_config_file(const ConfigFile& file) {
  const std::string where = fmt::format("config file {} ({})", file.path.string(), file.origin);
  base::UniqueFd fd{::open(file.path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    if (errno == ENOENT && !file.required) return std::nullopt;
    if (errno == ENOENT) return base::fail(fmt::format("{} does not exist", where));
    return base::fail_errno(fmt::format("cannot open {}", where));
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return base::fail_errno(fmt::format("cannot stat {}", where));
  if (S_ISDIR(info.st_mode)) return base::fail(fmt::format("{} is a directory", where));

  auto text = sys::read_to_end(fd.get(), where);
  if (!text) return tl::unexpected(text.error());
  return std::move(*text);
}

base::Result<void> apply_config_file(const ConfigFile& file, const std::string& text,
                                     const Environment& env, Config& config) {
  const std::string path = file.path.string();
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    return base::fail(fmt::format("config file {}: syntax error at line {}, column {}: {}", path,
                                  error.source().begin.line, error.source().begin.column,
                                  error.description()));
  }

  std::vector<std::string> unknown;
  for (const auto& entry : table) {
    const toml::key& key = entry.first;
    const bool known = std::any_of(settings().begin(), settings().end(),
                                   [&key](const Setting& s) { return s.names.key == key.str(); });
    if (!known) {
      unknown.push_back(fmt::format("'{}' (line {})", key.str(), key.source().begin.line));
    }
  }
  if (!unknown.empty()) {
    std::vector<std::string> valid;
    for (const Setting& setting : settings()) valid.push_back(setting.names.key);
    return base::fail(fmt::format("config file {}: unknown key{} {}; valid keys: {}", path,
                                  unknown.size() > 1 ? "s" : "", fmt::join(unknown, ", "),
                                  fmt::join(valid, ", ")));
  }

  std::error_code error;
  const ValueContext context{std::filesystem::absolute(file.path, error).parent_path(), &env};
  for (const Setting& setting : settings()) {
    const toml::node* node = table.get(setting.names.key);
    if (node == nullptr) continue;
    const std::string source =
        fmt::format("config file {}, line {}", path, node->source().begin.line);
    if (const toml::array* array = node->as_array(); array != nullptr && setting.apply_list) {
      std::vector<std::string> items;
      for (const toml::node& element : *array) {
        const auto* item = element.as_string();
        if (item == nullptr) {
          return base::fail(
              invalid(setting.names.key, source,
                      fmt::format("an item is {}, not a string", toml_type_name(element)),
                      setting.allowed));
        }
        items.push_back(item->get());
      }
      if (auto applied = setting.apply_list(items, context, config); !applied) {
        return base::fail(
            invalid(setting.names.key, source, applied.error().message, setting.allowed));
      }
      continue;
    }
    auto value_text = toml_text(*node, setting.toml_form);
    if (!value_text) {
      return base::fail(
          invalid(setting.names.key, source, value_text.error().message, setting.allowed));
    }
    auto applied = setting.apply(*value_text, context, config);
    if (!applied) {
      return base::fail(
          invalid(setting.names.key, source, applied.error().message, setting.allowed));
    }
  }
  return {};
}

}  // namespace config

// The kinds of value a setting takes (numbers, sizes, durations, names, paths, lists): each
// builds a row of the settings table with its placeholder, default, what is allowed and its parser.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "config/setting.h"

namespace config {
namespace {

base::Result<void> out_of_range(std::string_view text) {
  return base::fail(fmt::format("{} is out of range", quote(text)));
}

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "?";
}

// The directory `text` names, checked to exist and to be enterable, as its canonical path.
base::Result<std::filesystem::path> existing_directory(std::string_view text,
                                                       const ValueContext& context) {
  if (text.empty()) return base::fail("\"\" is empty");
  auto path = resolve_path(text, context);
  if (!path) return tl::unexpected(path.error());
  // Name the path that was checked when it is not the text the user wrote.
  std::string shown = quote(text);
  if (path->string() != text) shown += fmt::format(" (resolved to {})", path->string());

  std::error_code error;
  const auto status = std::filesystem::status(*path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return base::fail(fmt::format("{} does not exist", shown));
  }
  if (error) return base::fail(fmt::format("{} cannot be checked: {}", shown, error.message()));
  if (!std::filesystem::is_directory(status)) {
    return base::fail(fmt::format("{} is not a directory", shown));
  }
  // Every job would fail to chdir into a directory the server cannot enter; say so now.
  if (::access(path->c_str(), X_OK) != 0) {
    return base::fail(fmt::format("{} cannot be entered: {}", shown, std::strerror(errno)));
  }
  auto canonical = std::filesystem::canonical(*path, error);
  if (error) return base::fail(fmt::format("{} cannot be resolved: {}", shown, error.message()));
  return canonical;
}

base::Result<void> apply_directory(std::string_view text, const ValueContext& context,
                                   Config& config) {
  auto directory = existing_directory(text, context);
  if (!directory) return tl::unexpected(directory.error());
  config.working_dir = std::move(*directory);
  return {};
}

}  // namespace

Setting integer_setting(Names names, std::string help, int Config::*member, int min, int max) {
  return Setting{std::move(names),
                 "N",
                 std::move(help),
                 std::to_string(Config{}.*member),
                 fmt::format("a whole number from {} to {}", min, max),
                 TomlForm::kInteger,
                 [member, min, max](std::string_view text, const ValueContext&,
                                    Config& config) -> base::Result<void> {
                   auto value = parse_integer(text);
                   if (!value) return tl::unexpected(value.error());
                   if (*value < min || *value > max) return out_of_range(text);
                   config.*member = static_cast<int>(*value);
                   return {};
                 }};
}

Setting size_setting(Names names, std::string help, uint64_t Config::*member, uint64_t min,
                     uint64_t max) {
  return Setting{std::move(names),
                 "SIZE",
                 std::move(help),
                 format_size(Config{}.*member),
                 fmt::format("a size from {} to {} (bytes, or a number with unit B, K, M or G; "
                             "1K = 1KB = 1KiB = 1024 bytes)",
                             format_size(min), format_size(max)),
                 TomlForm::kSize,
                 [member, min, max](std::string_view text, const ValueContext&,
                                    Config& config) -> base::Result<void> {
                   auto value = parse_size(text);
                   if (!value) return tl::unexpected(value.error());
                   if (*value < min || *value > max) return out_of_range(text);
                   config.*member = *value;
                   return {};
                 }};
}

Setting duration_setting(Names names, std::string help, std::chrono::milliseconds Config::*member,
                         std::chrono::milliseconds min, std::chrono::milliseconds max) {
  return Setting{
      std::move(names),
      "DURATION",
      std::move(help),
      format_duration(Config{}.*member),
      fmt::format("a duration from {} to {} (seconds, or a number with unit ms, s, m, h or d)",
                  format_duration(min), format_duration(max)),
      TomlForm::kDuration,
      [member, min, max](std::string_view text, const ValueContext&,
                         Config& config) -> base::Result<void> {
        auto value = parse_duration(text);
        if (!value) return tl::unexpected(value.error());
        if (*value < min || *value > max) return out_of_range(text);
        config.*member = *value;
        return {};
      }};
}

Setting log_level_setting(Names names, std::string help) {
  return Setting{
      std::move(names),
      "LEVEL",
      std::move(help),
      std::string(log_level_name(Config{}.log_level)),
      "one of trace, debug, info, warn (or warning), error, off, in any case",
      TomlForm::kStringOnly,
      [](std::string_view text, const ValueContext&, Config& config) -> base::Result<void> {
        auto level = parse_log_level(text);
        if (!level) return tl::unexpected(level.error());
        config.log_level = *level;
        return {};
      }};
}

Setting boolean_setting(Names names, std::string help, bool Config::*member) {
  return Setting{
      std::move(names),
      "BOOL",
      std::move(help),
      Config{}.*member ? "true" : "false",
      "true, false, 1, 0, yes or no, in any case",
      TomlForm::kBoolean,
      [member](std::string_view text, const ValueContext&, Config& config) -> base::Result<void> {
        auto value = parse_boolean(text);
        if (!value) return tl::unexpected(value.error());
        config.*member = *value;
        return {};
      }};
}

// "~" and "~/x" expand with HOME (a config file or a quoted flag gets no help from the shell);
// a relative path resolves against the context's base directory.
base::Result<std::filesystem::path> resolve_path(std::string_view text,
                                                 const ValueContext& context) {
  std::filesystem::path path{std::string(text)};
  if (text == "~" || text.starts_with("~/")) {
    const std::string* home = nullptr;
    if (context.env != nullptr) {
      auto it = context.env->find("HOME");
      if (it != context.env->end() && !it->second.empty()) home = &it->second;
    }
    if (home == nullptr) {
      return base::fail(fmt::format("{} starts with ~ but HOME is not set", quote(text)));
    }
    path = std::filesystem::path(*home);
    if (text.size() > 2) path /= std::string(text.substr(2));
  }
  if (path.is_relative() && !context.base_dir.empty()) path = context.base_dir / path;
  return path;
}

base::Result<std::filesystem::path> absolute_path(std::string_view text,
                                                  const ValueContext& context) {
  auto path = resolve_path(text, context);
  if (!path) return tl::unexpected(path.error());
  std::error_code error;
  auto absolute = std::filesystem::absolute(*path, error);
  if (error) return base::fail(fmt::format("{}: {}", quote(text), error.message()));
  return absolute.lexically_normal();
}

Setting directory_setting(Names names, std::string help) {
  return Setting{std::move(names),
                 "DIR",
                 std::move(help),
                 "the server's current directory, or the first allowed_roots directory if that "
                 "is outside them",
                 "an existing directory (a relative path in the config file is relative to the "
                 "file's directory)",
                 TomlForm::kStringOnly,
                 apply_directory};
}

// A list setting reads comma-separated text from flags and the environment and an array of
// strings (or the same text) from the config file; both reach `apply_list`.
Setting list_setting(Names names, std::string type_name, std::string help, std::string default_text,
                     std::string allowed, ApplyList apply_list) {
  Apply apply = [apply_list](std::string_view text, const ValueContext& context, Config& config) {
    return apply_list(parse_list(text), context, config);
  };
  return Setting{std::move(names),
                 std::move(type_name),
                 std::move(help),
                 std::move(default_text),
                 std::move(allowed) +
                     "; comma-separated (\\, for a comma inside an item; \"\" for "
                     "none), or an array of strings in the config file",
                 TomlForm::kList,
                 std::move(apply),
                 std::move(apply_list)};
}

Setting string_list_setting(Names names, std::string help, std::vector<std::string> Config::*member,
                            std::string allowed) {
  const std::vector<std::string> defaults = Config{}.*member;
  return list_setting(std::move(names), "LIST", std::move(help),
                      defaults.empty() ? "none" : fmt::format("{}", fmt::join(defaults, ", ")),
                      std::move(allowed),
                      [member](const std::vector<std::string>& items, const ValueContext&,
                               Config& config) -> base::Result<void> {
                        config.*member = items;
                        return {};
                      });
}

Setting roots_setting(Names names, std::string help) {
  return list_setting(
      std::move(names), "DIRS", std::move(help), "the working directory",
      "existing directories (relative paths in the config file are relative to the file's "
      "directory), at least one",
      [](const std::vector<std::string>& items, const ValueContext& context,
         Config& config) -> base::Result<void> {
        if (items.empty()) return base::fail("the list is empty: no job could run anywhere");
        std::vector<std::filesystem::path> roots;
        for (const std::string& item : items) {
          auto root = existing_directory(item, context);
          if (!root) return tl::unexpected(root.error());
          roots.push_back(std::move(*root));
        }
        config.allowed_roots = std::move(roots);
        return {};
      });
}

Setting state_dir_setting(Names names, std::string help) {
  return Setting{
      std::move(names),
      "DIR",
      std::move(help),
      "$XDG_STATE_HOME/mcp-background-job (else ~/.local/state/mcp-background-job)",
      "a directory, created 0700 if missing (a relative path in the config file is "
      "relative to the file's directory), or none to keep no history",
      TomlForm::kStringOnly,
      [](std::string_view text, const ValueContext& context, Config& config) -> base::Result<void> {
        if (trim(text) == "none") {
          config.state_dir = std::filesystem::path();
          return {};
        }
        if (trim(text).empty()) {
          config.state_dir.reset();
          return {};
        }
        auto path = absolute_path(text, context);
        if (!path) return tl::unexpected(path.error());
        config.state_dir = std::move(*path);
        return {};
      }};
}

Setting file_setting(Names names, std::string help, std::filesystem::path Config::*member) {
  return Setting{
      std::move(names),
      "PATH",
      std::move(help),
      "none",
      "a file path in an existing directory (a relative path in the config file is "
      "relative to the file's directory), or \"\" for none",
      TomlForm::kStringOnly,
      [member](std::string_view text, const ValueContext& context,
               Config& config) -> base::Result<void> {
        if (trim(text).empty()) {
          (config.*member).clear();
          return {};
        }
        auto absolute = absolute_path(text, context);
        if (!absolute) return tl::unexpected(absolute.error());
        std::error_code error;
        if (std::filesystem::is_directory(*absolute, error)) {
          return base::fail(fmt::format("{} is a directory", quote(text)));
        }
        if (!std::filesystem::is_directory(absolute->parent_path(), error)) {
          return base::fail(fmt::format("the directory of {} does not exist", quote(text)));
        }
        config.*member = std::move(*absolute);
        return {};
      }};
}

}  // namespace config

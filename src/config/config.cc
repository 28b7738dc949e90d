#include "config/config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <system_error>
#include <utility>

#include "base/paths.h"
#include "config/help.h"
#include "config/setting.h"
#include "config/toml_file.h"

namespace config {
namespace {

#ifdef MCPBG_VERSION
constexpr std::string_view kVersion = MCPBG_VERSION;
#else
constexpr std::string_view kVersion = "0.1.0";
#endif

constexpr std::string_view kProgram = "mcp-background-job";

LoadOutcome failure(std::string message) {
  return LoadOutcome{std::nullopt, 2, std::move(message)};
}

std::string without_trailing_newlines(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

std::string join_paths(const std::vector<std::filesystem::path>& paths) {
  std::string out;
  for (const auto& path : paths) out += (out.empty() ? "" : ", ") + path.string();
  return out;
}

}  // namespace

std::string invalid(std::string_view label, std::string_view source, std::string_view reason,
                    std::string_view allowed) {
  return fmt::format("invalid {} ({}): {}; allowed: {}", label, source, reason, allowed);
}

// Which source gave a setting its final value, named as errors name it: "--http (command
// line)", "MCP_BG_HTTP (environment)" or "http (config file PATH)".
std::string where_set(std::string_view key, const std::vector<CLI::Option*>& flag_options,
                      const Environment& env, const std::optional<ConfigFile>& file) {
  const std::vector<Setting>& table = settings();
  for (size_t i = 0; i < table.size(); ++i) {
    if (table[i].names.key != key) continue;
    if (flag_options[i]->count() > 0) {
      return fmt::format("{} ({})", table[i].names.flag, kFlagSource);
    }
    if (get_env(env, table[i].names.env_var)) {
      return fmt::format("{} ({})", table[i].names.env_var, kEnvSource);
    }
    if (file) return fmt::format("{} (config file {})", key, file->path.string());
  }
  return std::string(key);
}

LoadOutcome load_config(const std::vector<std::string>& args, const Environment& env) {
  const std::vector<Setting>& table = settings();

  CLI::App app{
      "An MCP server (stdio, or Streamable HTTP with --http) that runs shell commands "
      "as background jobs.",
      std::string(kProgram)};
  app.get_formatter()->column_width(kHelpColumn);
  app.set_help_flag("-h,--help", "Print this help and exit.");
  app.set_version_flag("--version", fmt::format("{} {}", kProgram, kVersion),
                       "Print the version and exit.");
  app.footer(footer());

  // Flags are taken as text and parsed by the same code as the other sources, so that an error
  // reads the same wherever the value came from.
  std::vector<std::string> flag_values(table.size());
  std::vector<CLI::Option*> flag_options;
  for (size_t i = 0; i < table.size(); ++i) {
    flag_options.push_back(app.add_option(table[i].names.flag, flag_values[i], describe(table[i]))
                               ->type_name(table[i].type_name));
  }
  std::string config_path;
  CLI::Option* config_option =
      app.add_option(
             std::string(kConfigFlag), config_path,
             wrap("The TOML config file. A file named here must exist; the default one may be "
                  "absent.",
                  kHelpWidth - kHelpColumn) +
                 "\n" +
                 wrap(fmt::format("env: {}, default: $XDG_CONFIG_HOME/mcp-background-job/"
                                  "config.toml, else $HOME/.config/mcp-background-job/config.toml",
                                  kConfigEnv),
                      kHelpWidth - kHelpColumn))
          ->type_name("PATH");

  // CLI11 consumes a vector from the back.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return LoadOutcome{std::nullopt, 0, without_trailing_newlines(app.help())};
  } catch (const CLI::CallForVersion& version) {
    return LoadOutcome{std::nullopt, 0, version.what()};
  } catch (const CLI::ParseError& error) {
    return failure(fmt::format("{}; see --help", error.what()));
  }

  // Lowest precedence first, so that each source overwrites what the one below it set.
  Config config;

  auto file = choose_config_file(*config_option, config_path, env);
  if (!file) return failure(file.error().message);
  if (*file) {
    auto text = read_config_file(**file);
    if (!text) return failure(text.error().message);
    if (*text) {
      if (auto applied = apply_config_file(**file, **text, env, config); !applied) {
        return failure(applied.error().message);
      }
    }
  }

  const ValueContext process_context{{}, &env};
  for (const Setting& setting : table) {
    auto value = get_env(env, setting.names.env_var);
    if (!value) continue;
    if (auto applied = setting.apply(*value, process_context, config); !applied) {
      return failure(
          invalid(setting.names.env_var, kEnvSource, applied.error().message, setting.allowed));
    }
  }

  for (size_t i = 0; i < table.size(); ++i) {
    if (flag_options[i]->count() == 0) continue;
    if (auto applied = table[i].apply(flag_values[i], process_context, config); !applied) {
      return failure(
          invalid(table[i].names.flag, kFlagSource, applied.error().message, table[i].allowed));
    }
  }

  if (auto token = get_env(env, kTokenEnv)) {
    if (!config.auth_token_file.empty()) {
      return failure(
          fmt::format("both {} and auth_token_file ({}) give an auth token; set only one of them",
                      kTokenEnv, config.auth_token_file.string()));
    }
    auto checked = check_token(*token);
    if (!checked) {
      return failure(invalid(kTokenEnv, kEnvSource, checked.error().message, kTokenAllowed));
    }
    config.auth_token = std::move(*checked);
  }
  // Beyond this machine, anyone who can reach the port could run commands: only with a token.
  if (config.http && !config.http->loopback() && config.auth_token.empty()) {
    return failure(fmt::format(
        "{}: {} is not a loopback address, and serving beyond this machine needs an auth "
        "token: set {} (the token) or auth_token_file (a file holding it), or serve on "
        "127.0.0.1",
        where_set("http", flag_options, env, *file), config.http->host, kTokenEnv));
  }

  auto inside_a_root = [&](const std::filesystem::path& directory) {
    return std::any_of(
        config.allowed_roots.begin(), config.allowed_roots.end(),
        [&](const std::filesystem::path& root) { return base::path_inside(directory, root); });
  };
  if (config.working_dir.empty()) {
    std::error_code error;
    auto cwd = std::filesystem::current_path(error);
    if (!error) cwd = std::filesystem::canonical(cwd, error);
    if (error && config.allowed_roots.empty()) {
      return failure(fmt::format(
          "cannot determine the current directory, the default working_dir: {}; set --working-dir",
          error.message()));
    }
    // Without a working_dir of its own, a server started outside its roots (a client starts it
    // wherever it likes) runs jobs in the first root rather than refusing to start.
    config.working_dir = !error && (config.allowed_roots.empty() || inside_a_root(cwd))
                             ? std::move(cwd)
                             : config.allowed_roots.front();
  }
  if (config.allowed_roots.empty()) {
    config.allowed_roots = {config.working_dir};
  } else if (!inside_a_root(config.working_dir)) {
    // Every job without a cwd would be refused: say so at start-up instead.
    return failure(fmt::format(
        "working_dir {} is outside every allowed_roots directory ({}); add it to allowed_roots "
        "or choose a working_dir inside one",
        config.working_dir.string(), join_paths(config.allowed_roots)));
  }
  return LoadOutcome{std::move(config), 0, ""};
}

Environment current_environment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text{*entry};
    const size_t equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    // getenv returns the first of duplicate entries; emplace keeps the first too.
    env.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return env;
}

}  // namespace config

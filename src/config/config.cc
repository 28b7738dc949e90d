#include "config/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <sstream>
#include <system_error>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "base/authority.h"
#include "base/paths.h"
#include "base/unique_fd.h"
#include "config/parse.h"

namespace config {
namespace {

#ifdef MCPBG_VERSION
constexpr std::string_view kVersion = MCPBG_VERSION;
#else
constexpr std::string_view kVersion = "0.1.0";
#endif

constexpr std::string_view kProgram = "mcp-background-job";
constexpr std::string_view kConfigFlag = "--config";
constexpr std::string_view kConfigEnv = "MCP_BG_CONFIG";
// The bearer token itself comes from the environment only: a flag would show it in ps.
constexpr std::string_view kTokenEnv = "MCP_BG_AUTH_TOKEN";
constexpr size_t kMinTokenLength = 16;
constexpr size_t kMaxTokenLength = 4096;
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

base::Result<void> out_of_range(std::string_view text) {
  return base::fail(fmt::format("{} is out of range", quote(text)));
}

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
  return Setting{std::move(names),
                 "BOOL",
                 std::move(help),
                 Config{}.*member ? "true" : "false",
                 "true, false, 1, 0, yes or no, in any case",
                 TomlForm::kBoolean,
                 [member](std::string_view text, const ValueContext&,
                          Config& config) -> base::Result<void> {
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

// The state directory: a path (created if missing), or "none" to keep no history.
Setting state_dir_setting(Names names, std::string help) {
  return Setting{std::move(names),
                 "DIR",
                 std::move(help),
                 "$XDG_STATE_HOME/mcp-background-job (else ~/.local/state/mcp-background-job)",
                 "a directory, created 0700 if missing (a relative path in the config file is "
                 "relative to the file's directory), or none to keep no history",
                 TomlForm::kStringOnly,
                 [](std::string_view text, const ValueContext& context,
                    Config& config) -> base::Result<void> {
                   if (trim(text) == "none") {
                     config.state_dir = std::filesystem::path();
                     return {};
                   }
                   if (trim(text).empty()) {
                     config.state_dir.reset();
                     return {};
                   }
                   auto path = resolve_path(text, context);
                   if (!path) return tl::unexpected(path.error());
                   std::error_code error;
                   auto absolute = std::filesystem::absolute(*path, error);
                   if (error) return base::fail(fmt::format("{}: {}", quote(text), error.message()));
                   config.state_dir = absolute.lexically_normal();
                   return {};
                 }};
}

// A list setting reads comma-separated text from flags and the environment and an array of
// strings (or the same text) from the config file; both reach `apply_list`.
Setting list_setting(Names names, std::string type_name, std::string help, std::string default_text,
                     std::string allowed, ApplyList apply_list) {
  Apply apply = [apply_list](std::string_view text, const ValueContext& context,
                             Config& config) { return apply_list(parse_list(text), context, config); };
  return Setting{std::move(names),
                 std::move(type_name),
                 std::move(help),
                 std::move(default_text),
                 std::move(allowed) + "; comma-separated (\\, for a comma inside an item; \"\" for "
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

Setting file_setting(Names names, std::string help, std::filesystem::path Config::*member) {
  return Setting{std::move(names),
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
                   auto path = resolve_path(text, context);
                   if (!path) return tl::unexpected(path.error());
                   std::error_code error;
                   auto absolute = std::filesystem::absolute(*path, error);
                   if (error) return base::fail(fmt::format("{}: {}", quote(text), error.message()));
                   if (std::filesystem::is_directory(absolute, error)) {
                     return base::fail(fmt::format("{} is a directory", quote(text)));
                   }
                   if (!std::filesystem::is_directory(absolute.parent_path(), error)) {
                     return base::fail(fmt::format("the directory of {} does not exist",
                                                   quote(text)));
                   }
                   config.*member = absolute.lexically_normal();
                   return {};
                 }};
}

// HOST:PORT, with an IPv6 host in brackets; the host an IP address or "localhost". Whether a
// non-loopback host may be served is decided once every source is read (it needs auth_token).
base::Result<HttpAddress> parse_http_address(std::string_view text) {
  std::string_view trimmed = trim(text);
  size_t colon = trimmed.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return base::fail(fmt::format("{} is not HOST:PORT", quote(text)));
  }
  std::string host(trimmed.substr(0, colon));
  std::string_view port_text = trimmed.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return base::fail(fmt::format("{} is not HOST:PORT", quote(text)));
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return base::fail(fmt::format("{}: an IPv6 address goes in brackets ([::1]:PORT)", quote(text)));
  }
  auto port = parse_integer(port_text);
  if (!port || *port < 0 || *port > 65535) {
    return base::fail(fmt::format("{}: the port is not a number from 0 to 65535", quote(text)));
  }
  in_addr v4{};
  in6_addr v6{};
  if (host != "localhost" && ::inet_pton(AF_INET, host.c_str(), &v4) != 1 &&
      ::inet_pton(AF_INET6, host.c_str(), &v6) != 1) {
    return base::fail(fmt::format("{}: the host is not an IP address or localhost", quote(text)));
  }
  return HttpAddress{std::move(host), static_cast<uint16_t>(*port)};
}

Setting http_setting(Names names, std::string help) {
  return Setting{std::move(names),
                 "HOST:PORT",
                 std::move(help),
                 "none (stdio)",
                 "HOST:PORT with an IP address or localhost as the host (IPv6 in brackets; a "
                 "non-loopback one needs an auth token) and a port from 0 (any free one) to "
                 "65535, or \"\" for stdio",
                 TomlForm::kStringOnly,
                 [](std::string_view text, const ValueContext&, Config& config) -> base::Result<void> {
                   if (trim(text).empty()) {
                     config.http.reset();
                     return {};
                   }
                   auto address = parse_http_address(text);
                   if (!address) return tl::unexpected(address.error());
                   config.http = std::move(*address);
                   return {};
                 }};
}

// The bearer token, checked wherever it came from. No reason quotes it: errors are printed.
base::Result<std::string> check_token(std::string_view text) {
  std::string_view token = trim(text);
  if (token.empty()) return base::fail("the token is empty");
  if (!std::all_of(token.begin(), token.end(),
                   [](unsigned char c) { return c > 0x20 && c < 0x7f; })) {
    return base::fail("the token holds a space, a control character or a non-ASCII byte; it "
                      "must be one word of printable ASCII");
  }
  if (token.size() < kMinTokenLength) {
    return base::fail(fmt::format("the token is shorter than {} characters", kMinTokenLength));
  }
  if (token.size() > kMaxTokenLength) {
    return base::fail(fmt::format("the token is longer than {} characters", kMaxTokenLength));
  }
  return std::string(token);
}

constexpr std::string_view kTokenAllowed =
    "one word of printable ASCII, from 16 to 4096 characters (e.g. the output of `openssl rand "
    "-hex 32`)";

// The token file: a regular file only its owner may read or write (as ssh asks of a private
// key), holding the token and perhaps a trailing newline.
base::Result<std::string> read_token_file(const std::filesystem::path& path) {
  base::UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) return base::fail_errno(fmt::format("cannot open {}", quote(path.string())));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return base::fail_errno(fmt::format("cannot stat {}", quote(path.string())));
  }
  if (!S_ISREG(info.st_mode)) {
    return base::fail(fmt::format("{} is not a regular file", quote(path.string())));
  }
  if ((info.st_mode & 077) != 0) {
    return base::fail(fmt::format("{} may be read or written by others than its owner (mode "
                                  "{:04o}); make it private: chmod 600 {}",
                                  quote(path.string()), info.st_mode & 07777, path.string()));
  }
  if (info.st_size > static_cast<off_t>(kMaxTokenLength + 2)) {
    return base::fail(fmt::format("{} is larger than a token ({} bytes)", quote(path.string()),
                                  info.st_size));
  }
  std::string text(static_cast<size_t>(info.st_size) + 1, '\0');
  size_t filled = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), text.data() + filled, text.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::fail_errno(fmt::format("cannot read {}", quote(path.string())));
    if (n == 0 || filled + static_cast<size_t>(n) == text.size()) {
      filled += static_cast<size_t>(n);
      break;
    }
    filled += static_cast<size_t>(n);
  }
  text.resize(filled);
  auto token = check_token(text);
  if (!token) {
    return base::fail(fmt::format("{}: {}", quote(path.string()), token.error().message));
  }
  return token;
}

Setting token_file_setting(Names names, std::string help) {
  return Setting{std::move(names),
                 "PATH",
                 std::move(help),
                 "none",
                 fmt::format("a file only its owner may read (chmod 600) holding the token ({}; "
                             "surrounding blanks and newlines are dropped), or \"\" for none; a "
                             "relative path in the config file is relative to the file's "
                             "directory",
                             kTokenAllowed),
                 TomlForm::kStringOnly,
                 [](std::string_view text, const ValueContext& context,
                    Config& config) -> base::Result<void> {
                   if (trim(text).empty()) {
                     config.auth_token_file.clear();
                     config.auth_token.clear();
                     return {};
                   }
                   auto path = resolve_path(text, context);
                   if (!path) return tl::unexpected(path.error());
                   std::error_code error;
                   auto absolute = std::filesystem::absolute(*path, error);
                   if (error) {
                     return base::fail(fmt::format("{}: {}", quote(text), error.message()));
                   }
                   auto token = read_token_file(absolute);
                   if (!token) return tl::unexpected(token.error());
                   config.auth_token_file = absolute.lexically_normal();
                   config.auth_token = std::move(*token);
                   return {};
                 }};
}

Setting hosts_setting(Names names, std::string help) {
  return list_setting(
      std::move(names), "HOSTS", std::move(help), "none",
      "host names or IP addresses (IPv6 with or without brackets), without a port",
      [](const std::vector<std::string>& items, const ValueContext&,
         Config& config) -> base::Result<void> {
        std::vector<std::string> hosts;
        for (const std::string& item : items) {
          auto host = base::canonical_host(item);
          if (!host) return base::fail(fmt::format("{}: {}", quote(item), host.error().message));
          hosts.push_back(std::move(*host));
        }
        config.http_allowed_hosts = std::move(hosts);
        return {};
      });
}

Setting origins_setting(Names names, std::string help) {
  return list_setting(
      std::move(names), "ORIGINS", std::move(help), "none",
      "origins: http:// or https://, a host and an optional port, nothing after (e.g. "
      "https://app.example.com)",
      [](const std::vector<std::string>& items, const ValueContext&,
         Config& config) -> base::Result<void> {
        std::vector<std::string> origins;
        for (const std::string& item : items) {
          if (item == "*") {
            return base::fail("\"*\" would let every web page call the server: list the origins "
                              "of the pages that may");
          }
          auto origin = base::parse_origin(item);
          if (!origin) {
            return base::fail(fmt::format("{}: {}", quote(item), origin.error().message));
          }
          origins.push_back(origin->serialize());
        }
        config.http_cors_origins = std::move(origins);
        return {};
      });
}

const std::vector<Setting>& settings() {
  using std::chrono::milliseconds;
  using namespace std::chrono_literals;
  constexpr uint64_t kKiB = 1024;
  constexpr uint64_t kMiB = kKiB << 10;
  constexpr uint64_t kGiB = kMiB << 10;
  static const std::vector<Setting> table = {
      directory_setting({"working_dir", "--working-dir", "MCP_BG_WORKING_DIR"},
                        "Directory a job runs in when `execute` names no cwd."),
      integer_setting({"max_jobs", "--max-jobs", "MCP_BG_MAX_JOBS"},
                      "Jobs running at once; `execute` beyond this is queued (refused when "
                      "queue is false or the queue is full).",
                      &Config::max_jobs, 1, 10000),
      size_setting({"max_output_size", "--max-output-size", "MCP_BG_MAX_OUTPUT_SIZE"},
                   "Output bytes kept per job (the head and the most recent tail); the middle "
                   "beyond this is dropped and counted.",
                   &Config::max_output_size, kKiB, 64 * kGiB),
      integer_setting({"max_finished", "--max-finished", "MCP_BG_MAX_FINISHED"},
                      "Finished jobs kept at most; the oldest finished job is evicted first.",
                      &Config::max_finished, 0, 100000),
      duration_setting({"retention", "--retention", "MCP_BG_RETENTION"},
                       "How long a finished job is kept before it is evicted.", &Config::retention,
                       0ms, milliseconds(24h * 30)),
      duration_setting({"cleanup_interval", "--cleanup-interval", "MCP_BG_CLEANUP_INTERVAL"},
                       "How often finished jobs past their retention are evicted.",
                       &Config::cleanup_interval, 100ms, milliseconds(24h)),
      log_level_setting({"log_level", "--log-level", "MCP_BG_LOG_LEVEL"},
                        "Least severe log message that is written."),
      size_setting({"max_message_size", "--max-message-size", "MCP_BG_MAX_MESSAGE_SIZE"},
                   "Largest JSON-RPC message accepted: on stdio a longer line is rejected and "
                   "skipped, over HTTP a longer body is answered 413.",
                   &Config::max_message_size, kKiB, kGiB),
      size_setting({"max_read_bytes", "--max-read-bytes", "MCP_BG_MAX_READ_BYTES"},
                   "Most bytes one `output` read returns (the ceiling for its max_bytes).",
                   &Config::max_read_bytes, kKiB, 64 * kMiB),
      size_setting({"stdin_buffer_size", "--stdin-buffer-size", "MCP_BG_STDIN_BUFFER_SIZE"},
                   "Input queued for a job that is not reading its stdin before `interact` "
                   "refuses more.",
                   &Config::stdin_buffer_size, kKiB, kGiB),
      duration_setting({"max_interact_wait", "--max-interact-wait", "MCP_BG_MAX_INTERACT_WAIT"},
                       "Longest wait_ms a caller of `interact` may ask for.",
                       &Config::max_interact_wait, 100ms, milliseconds(10min)),
      duration_setting({"max_wait", "--max-wait", "MCP_BG_MAX_WAIT"},
                       "Longest a `wait` (or `execute` with wait_seconds) may block; longer "
                       "requests are clamped. Keep it below your client's tool-call timeout.",
                       &Config::max_wait, 1000ms, milliseconds(10min)),
      duration_setting({"job_timeout", "--job-timeout", "MCP_BG_JOB_TIMEOUT"},
                       "Default time limit of a job (0: none); `execute` timeout_seconds "
                       "overrides it. At the limit the job is stopped and marked timed_out.",
                       &Config::job_timeout, 0ms, milliseconds(24h * 30)),
      duration_setting({"shutdown_grace", "--shutdown-grace", "MCP_BG_SHUTDOWN_GRACE"},
                       "At shutdown, the time between SIGTERM to every job's process group and "
                       "SIGKILL to what remains.",
                       &Config::shutdown_grace, 0ms, milliseconds(60s)),
      boolean_setting({"non_interactive_env", "--non-interactive-env",
                       "MCP_BG_NON_INTERACTIVE_ENV"},
                      "Give jobs without a pty TERM=dumb, NO_COLOR=1, PAGER=cat and GIT_PAGER=cat "
                      "(a job's own env overrides them), so that tools neither page nor colour.",
                      &Config::non_interactive_env),
      // What may run.
      string_list_setting({"allowed_commands", "--allowed-commands", "MCP_BG_ALLOWED_COMMANDS"},
                          "RE2 patterns; when set, a job's whole command line must match one. A "
                          "convenience, not a boundary: see shell and allowed_programs.",
                          &Config::allowed_commands, "RE2 patterns"),
      string_list_setting({"denied_commands", "--denied-commands", "MCP_BG_DENIED_COMMANDS"},
                          "RE2 patterns; a match anywhere in a job's command line refuses it. A "
                          "convenience, not a boundary: quoting or a script gets around it.",
                          &Config::denied_commands, "RE2 patterns"),
      string_list_setting({"allowed_programs", "--allowed-programs", "MCP_BG_ALLOWED_PROGRAMS"},
                          "Program names (looked up on the server's PATH) or absolute paths a "
                          "job's program must resolve to; shell jobs run /bin/sh, so they need sh "
                          "listed. Empty: any program.",
                          &Config::allowed_programs, "program names or absolute paths"),
      boolean_setting({"shell", "--shell", "MCP_BG_SHELL"},
                      "Accept `command` jobs (run by /bin/sh -c); false: only `argv` jobs.",
                      &Config::shell),
      roots_setting({"allowed_roots", "--allowed-roots", "MCP_BG_ALLOWED_ROOTS"},
                    "Directories a job's cwd must lie inside, checked on its real path (no .. or "
                    "symlink escape); with sandbox = landlock, the only places jobs may write "
                    "(besides the temp directory, /dev/shm and terminal and null-like devices)."),
      // Confinement.
      choice_setting<Sandbox>({"sandbox", "--sandbox", "MCP_BG_SANDBOX"},
                              "Confine every job: landlock lets jobs write only inside "
                              "allowed_roots, the temp directory, /dev/shm and terminal and null-like "
                              "devices. Start-up fails if the "
                              "kernel cannot.",
                              &Config::sandbox,
                              {{"none", Sandbox::kNone}, {"landlock", Sandbox::kLandlock}}),
      boolean_setting({"network", "--network", "MCP_BG_NETWORK"},
                      "Let jobs bind and connect TCP sockets; false denies both with Landlock "
                      "(kernel ABI 4 or later).",
                      &Config::network),
      // Per-job resource limits.
      duration_setting({"max_cpu_time", "--max-cpu-time", "MCP_BG_MAX_CPU_TIME"},
                       "CPU time each process of a job may use (0: no limit; rounded up to whole "
                       "seconds).",
                       &Config::max_cpu_time, 0ms, milliseconds(24h * 30)),
      size_setting({"max_memory", "--max-memory", "MCP_BG_MAX_MEMORY"},
                   "Resident memory of a job's whole process tree (0: no limit); beyond it the "
                   "job is killed and fails with reason memory_limit.",
                   &Config::max_memory, 0, 1024 * kGiB),
      size_setting({"max_address_space", "--max-address-space", "MCP_BG_MAX_ADDRESS_SPACE"},
                   "Virtual memory of each process of a job (0: no limit); allocations beyond it "
                   "fail.",
                   &Config::max_address_space, 0, 1024 * kGiB),
      integer_setting({"max_processes", "--max-processes", "MCP_BG_MAX_PROCESSES"},
                      "Processes a job may have at once (0: no limit); a fork beyond it fails.",
                      &Config::max_processes, 0, 1000000),
      integer_setting({"max_open_files", "--max-open-files", "MCP_BG_MAX_OPEN_FILES"},
                      "Open files of each process of a job (0: no limit).",
                      &Config::max_open_files, 0, 1 << 20),
      size_setting({"max_file_size", "--max-file-size", "MCP_BG_MAX_FILE_SIZE"},
                   "Largest file a job may write (0: no limit); a write beyond it fails.",
                   &Config::max_file_size, 0, 1024 * kGiB),
      // Environment.
      choice_setting<EnvPolicy>({"env_policy", "--env-policy", "MCP_BG_ENV_POLICY"},
                                "What jobs inherit from the server's environment: inherit (all "
                                "but env_exclude) or minimal (PATH, HOME, USER, LANG, TERM).",
                                &Config::env_policy,
                                {{"inherit", EnvPolicy::kInherit}, {"minimal", EnvPolicy::kMinimal}}),
      string_list_setting({"env_exclude", "--env-exclude", "MCP_BG_ENV_EXCLUDE"},
                          "Glob patterns (any case) of variables removed from what jobs inherit; "
                          "a job's own env may still set them.",
                          &Config::env_exclude, "glob patterns (* ? [...])"),
      string_list_setting({"allowed_loader_env", "--allowed-loader-env",
                           "MCP_BG_ALLOWED_LOADER_ENV"},
                          "With allowed_programs set, jobs get no variable of the dynamic loader "
                          "(LD_*, GCONV_PATH, ...: they load code into the program) from their "
                          "env or the server's; these names are let through.",
                          &Config::allowed_loader_env, "variable names"),
      // Scheduling.
      boolean_setting({"queue", "--queue", "MCP_BG_QUEUE"},
                      "Queue an `execute` beyond max_jobs (status queued) until a slot frees; "
                      "false: refuse it.",
                      &Config::queue),
      integer_setting({"max_queued", "--max-queued", "MCP_BG_MAX_QUEUED"},
                      "Jobs waiting in the queue at most; beyond it `execute` is refused.",
                      &Config::max_queued, 0, 100000),
      integer_setting({"max_starts_per_minute", "--max-starts-per-minute",
                       "MCP_BG_MAX_STARTS_PER_MINUTE"},
                      "Calls of `execute` accepted per minute (a token bucket allowing bursts of "
                      "this many; 0: no limit).",
                      &Config::max_starts_per_minute, 0, 1000000),
      // What leaves the server.
      boolean_setting({"redact", "--redact", "MCP_BG_REDACT"},
                      "Replace well-known secret shapes (private keys, cloud and forge tokens, "
                      "bearer headers, password assignments) and redact_patterns in the output "
                      "returned to clients by [REDACTED].",
                      &Config::redact),
      string_list_setting({"redact_patterns", "--redact-patterns", "MCP_BG_REDACT_PATTERNS"},
                          "More RE2 patterns whose matches are redacted.",
                          &Config::redact_patterns, "RE2 patterns"),
      file_setting({"audit_log", "--audit-log", "MCP_BG_AUDIT_LOG"},
                   "Append one JSON line per state-changing call, denial and job end to this "
                   "file.",
                   &Config::audit_log),
      size_setting({"audit_log_max_size", "--audit-log-max-size", "MCP_BG_AUDIT_LOG_MAX_SIZE"},
                   "Beyond this size the audit log is renamed to PATH.1 (replacing the last one) "
                   "and a new one started.",
                   &Config::audit_log_max_size, 4 * kKiB, 64 * kGiB),
      state_dir_setting({"state_dir", "--state-dir", "MCP_BG_STATE_DIR"},
                        "Directory (0700) of the history database: every job is recorded there, "
                        "so list, status, output and tail still answer for jobs of earlier "
                        "servers (within retention and max_finished). none keeps nothing."),
      http_setting({"http", "--http", "MCP_BG_HTTP"},
                   "Serve MCP over Streamable HTTP at /mcp on this address instead of stdio."),
      token_file_setting({"auth_token_file", "--auth-token-file", "MCP_BG_AUTH_TOKEN_FILE"},
                         "Over HTTP, require every request (but GET /healthz) to carry "
                         "'Authorization: Bearer TOKEN', with the token read from this file at "
                         "start-up. MCP_BG_AUTH_TOKEN gives the token itself instead (there is no "
                         "flag for it: it would show in ps)."),
      hosts_setting({"http_allowed_hosts", "--http-allowed-hosts", "MCP_BG_HTTP_ALLOWED_HOSTS"},
                    "Host names and addresses accepted in a request's Host and Origin besides "
                    "localhost, 127.0.0.1 and [::1] (and the address bound, when it is a "
                    "specific one): the names clients use to reach the server."),
      origins_setting({"http_cors_origins", "--http-cors-origins", "MCP_BG_HTTP_CORS_ORIGINS"},
                      "Origins of web pages that may call the server from a browser (CORS): "
                      "their preflights are answered and responses carry "
                      "Access-Control-Allow-Origin."),
      integer_setting({"http_max_connections", "--http-max-connections",
                       "MCP_BG_HTTP_MAX_CONNECTIONS"},
                      "HTTP connections open at once; one more is closed at once.",
                      &Config::http_max_connections, 1, 100000),
      integer_setting({"http_max_sessions", "--http-max-sessions", "MCP_BG_HTTP_MAX_SESSIONS"},
                      "MCP sessions at once over HTTP; a new one ends the least recently used "
                      "session that has no request running.",
                      &Config::http_max_sessions, 1, 100000),
      duration_setting({"http_header_timeout", "--http-header-timeout",
                        "MCP_BG_HTTP_HEADER_TIMEOUT"},
                       "Time a new HTTP connection has to send its first request's header.",
                       &Config::http_header_timeout, 100ms, milliseconds(10min)),
      duration_setting({"http_idle_timeout", "--http-idle-timeout", "MCP_BG_HTTP_IDLE_TIMEOUT"},
                       "Time an HTTP connection may stay idle between requests before it is "
                       "closed.",
                       &Config::http_idle_timeout, 100ms, milliseconds(1h)),
      integer_setting({"http_max_streams_per_session", "--http-max-streams-per-session",
                       "MCP_BG_HTTP_MAX_STREAMS_PER_SESSION"},
                      "SSE streams one MCP session may hold open at once over HTTP.",
                      &Config::http_max_streams_per_session, 1, 1000),
  };
  return table;
}

std::string invalid(std::string_view label, std::string_view source, std::string_view reason,
                    std::string_view allowed) {
  return fmt::format("invalid {} ({}): {}; allowed: {}", label, source, reason, allowed);
}

LoadOutcome failure(std::string message) {
  return LoadOutcome{std::nullopt, 2, std::move(message)};
}

// Greedy word wrap; CLI11 indents the lines after a newline to the description column.
std::string wrap(std::string_view text, size_t width) {
  std::string out;
  size_t line_length = 0;
  std::istringstream words{std::string(text)};
  std::string word;
  while (words >> word) {
    if (line_length > 0 && line_length + 1 + word.size() > width) {
      out += '\n';
      line_length = 0;
    } else if (line_length > 0) {
      out += ' ';
      ++line_length;
    }
    out += word;
    line_length += word.size();
  }
  return out;
}

std::string describe(const Setting& setting) {
  const size_t width = kHelpWidth - kHelpColumn;
  return fmt::format("{}\n{}\n{}", wrap(setting.help, width),
                     wrap("allowed: " + setting.allowed, width),
                     wrap(fmt::format("env: {}, toml: {}, default: {}", setting.names.env_var,
                                      setting.names.key, setting.default_text),
                          width));
}

constexpr std::string_view kTokenHelp =
    "MCP_BG_AUTH_TOKEN (environment only; no flag, which would show in ps): the bearer token HTTP "
    "requests must carry, as the content of auth_token_file would be; set one or the other. A "
    "non-loopback http address is refused without one.";

std::string footer() {
  const std::vector<std::string> paragraphs = {
      "Precedence: command-line flag > environment variable > config file > default. An invalid "
      "value is an error in any source, even one that a higher source overrides.",
      "Config file (TOML, optional): --config PATH or MCP_BG_CONFIG names it; otherwise "
      "$XDG_CONFIG_HOME/mcp-background-job/config.toml is read if it exists, else "
      "$HOME/.config/mcp-background-job/config.toml. Its keys are the toml names above; an "
      "unknown key is an error.",
      "Sizes: a number of bytes, or a number with a unit B, K/KB/KiB, M/MB/MiB, G/GB/GiB (any "
      "case, optional space, decimals allowed: 1.5M). Every unit is binary: 1K = 1KB = 1KiB = "
      "1024 bytes. In the config file a size may also be an integer (bytes).",
      "Durations: a number of seconds, or a number with a unit ms, s, m, h, d (500ms, 0.5s, "
      "1.5h). In the config file a duration may also be a number (seconds).",
  };
  std::string out;
  for (const std::string& paragraph : paragraphs) {
    if (!out.empty()) out += "\n\n";
    out += wrap(paragraph, kHelpWidth);
  }
  // Apart from the list: a fifth literal in it trips clang-tidy's missing-comma heuristic.
  out += "\n\n" + wrap(kTokenHelp, kHelpWidth);
  return out;
}

std::string without_trailing_newlines(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

struct ConfigFile {
  std::filesystem::path path;
  std::string origin;  // Why this file: "from --config", "from MCP_BG_CONFIG", "default location".
  bool required;       // A missing file is an error only when someone named it.
};

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

  std::string text;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::fail_errno(fmt::format("cannot read {}", where));
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

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
          return base::fail(invalid(setting.names.key, source,
                                    fmt::format("an item is {}, not a string",
                                                toml_type_name(element)),
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

}  // namespace

namespace {
std::string join_paths(const std::vector<std::filesystem::path>& paths) {
  std::string out;
  for (const auto& path : paths) out += (out.empty() ? "" : ", ") + path.string();
  return out;
}
}  // namespace


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

  CLI::App app{"An MCP server (stdio, or Streamable HTTP with --http) that runs shell commands "
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
      return failure(fmt::format(
          "both {} and auth_token_file ({}) give an auth token; set only one of them", kTokenEnv,
          config.auth_token_file.string()));
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

bool HttpAddress::loopback() const {
  auto canonical = base::canonical_host(host);
  return canonical && base::is_loopback_host(*canonical);
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

#pragma once
/// The server's settings, resolved once at start-up from flags > environment > TOML file > defaults
/// into one immutable Config. Only main() calls load_config; everything else receives a Config.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace config {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

struct Config {
  // Directory a job runs in when `execute` names no cwd. Default: the server's own cwd at start.
  std::filesystem::path working_dir;
  // Jobs running at once; `execute` beyond it is a tool error.
  int max_jobs = 10;
  // Output bytes kept per job (head + most recent tail); the middle beyond it is dropped and counted.
  uint64_t max_output_size = 10ull << 20;
  // Finished jobs kept at most, and for how long; the oldest finished job is evicted first.
  int max_finished = 100;
  std::chrono::milliseconds retention = std::chrono::hours(1);
  // How often the eviction timer runs.
  std::chrono::milliseconds cleanup_interval = std::chrono::minutes(1);
  LogLevel log_level = LogLevel::kInfo;
  // Largest JSON-RPC message accepted on stdio; a longer line is rejected and skipped.
  uint64_t max_message_size = 4ull << 20;
  // Ceiling for `max_bytes` in `output` (and the most any read returns).
  uint64_t max_read_bytes = 1ull << 20;
  // Input queued for a job that is not reading its stdin, before `interact` refuses more.
  uint64_t stdin_buffer_size = 1ull << 20;
  // Longest `interact` wait_ms a caller may ask for.
  std::chrono::milliseconds max_interact_wait = std::chrono::seconds(30);
  // Ceiling of `wait`'s timeout_seconds and `execute`'s wait_seconds: below the ~60 s after which
  // common clients cancel a tool call.
  std::chrono::milliseconds max_wait = std::chrono::seconds(50);
  // Default time limit of a job, ended (TERM, then KILL) and marked timed_out beyond it. Zero:
  // no limit.
  std::chrono::milliseconds job_timeout{0};
  // At shutdown, time between TERM to every job's process group and KILL to what remains.
  std::chrono::milliseconds shutdown_grace = std::chrono::seconds(2);
  // Jobs without a pty get TERM=dumb, NO_COLOR=1, PAGER=cat, GIT_PAGER=cat unless their env
  // overrides them; off, they inherit the server's values.
  bool non_interactive_env = true;
};

/// What start-up should do: run with `config`, or print `message` and exit with `exit_code`
/// (0 for --help/--version, printed to stdout; 2 for an invalid setting, printed to stderr).
struct LoadOutcome {
  std::optional<Config> config;
  int exit_code = 0;
  std::string message;
};

using Environment = std::map<std::string, std::string>;

/// `args` is argv without the program name. `env` is a snapshot of the environment.
/// Every invalid value is an error naming the setting, where it came from, the value, and what is
/// allowed; nothing falls back to a default silently. Unknown TOML keys are errors too.
LoadOutcome load_config(const std::vector<std::string>& args, const Environment& env);

/// The process environment as an Environment (for main and for tests).
Environment current_environment();

}  // namespace config

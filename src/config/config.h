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
enum class Sandbox { kNone, kLandlock };
enum class EnvPolicy { kInherit, kMinimal };

/// Names an environment variable holding a secret, in any case: removed from what jobs inherit
/// unless the operator sets env_exclude otherwise.
inline const std::vector<std::string>& default_env_exclude() {
  static const std::vector<std::string> patterns = {"*TOKEN*",       "*SECRET*",     "*PASSWORD*",
                                                    "*PASSWD*",      "*API_KEY*",    "*APIKEY*",
                                                    "*PRIVATE_KEY*", "*CREDENTIAL*", "AWS_*"};
  return patterns;
}

// Where the HTTP transport listens: an IP literal (or "localhost") and a TCP port (0: any free
// one).
struct HttpAddress {
  std::string host;
  uint16_t port = 0;
  bool operator==(const HttpAddress&) const = default;
  // localhost, 127.0.0.0/8 or ::1: reachable from this machine only.
  bool loopback() const;
};

struct Config {
  // Directory a job runs in when `execute` names no cwd. Default: the server's own cwd at start.
  std::filesystem::path working_dir;
  // Jobs running at once; `execute` beyond it is a tool error.
  int max_jobs = 10;
  // Output bytes kept per job (head + most recent tail); the middle beyond it is dropped and
  // counted.
  uint64_t max_output_size = 10ull << 20;
  // Finished jobs kept at most, and for how long; the oldest finished job is evicted first.
  int max_finished = 100;
  std::chrono::milliseconds retention = std::chrono::hours(1);
  // How often the eviction timer runs.
  std::chrono::milliseconds cleanup_interval = std::chrono::minutes(1);
  LogLevel log_level = LogLevel::kInfo;
  // Largest JSON-RPC message accepted (a line on stdio, a request body over HTTP).
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

  // ---- What may run. Pattern lists over shell strings are a convenience, not a boundary; the
  // boundary is shell = false with allowed_programs, plus confinement.
  // RE2 patterns; when non-empty, a job's whole command line must match one of them.
  std::vector<std::string> allowed_commands;
  // RE2 patterns; a match anywhere in a job's command line refuses it.
  std::vector<std::string> denied_commands;
  // Program names or absolute paths a job's program must resolve to (empty: any).
  std::vector<std::string> allowed_programs;
  // False: only argv jobs are accepted (no /bin/sh -c).
  bool shell = true;
  // Directories (real paths) a job's cwd must lie inside. Default: {working_dir}.
  std::vector<std::filesystem::path> allowed_roots;

  // ---- Confinement of every job.
  Sandbox sandbox = Sandbox::kNone;
  // False: jobs may not bind or connect TCP sockets (Landlock ABI >= 4).
  bool network = true;

  // ---- Per-job resource limits; zero means none. `execute` may only tighten them.
  std::chrono::milliseconds max_cpu_time{0};  // CPU time of each process (RLIMIT_CPU).
  uint64_t max_memory = 0;                    // Resident memory of the job's process tree, watched.
  uint64_t max_address_space = 0;             // Virtual memory of each process (RLIMIT_AS).
  int max_processes = 0;                      // Processes in the job at once.
  int max_open_files = 0;                     // Open files of each process (RLIMIT_NOFILE).
  uint64_t max_file_size = 0;                 // Largest file a job may write (RLIMIT_FSIZE).

  // ---- The environment jobs inherit from the server.
  EnvPolicy env_policy = EnvPolicy::kInherit;
  // Glob patterns (any case) of variable names removed from what jobs inherit.
  std::vector<std::string> env_exclude = default_env_exclude();
  // Loader variables (LD_*, GCONV_PATH...) jobs may still carry while allowed_programs is set.
  std::vector<std::string> allowed_loader_env;

  // ---- Scheduling under load.
  // True: `execute` beyond max_jobs queues the job; false: it is refused.
  bool queue = true;
  bool persist = false;  // execute's `persist` when the call does not say
  int max_queued = 100;
  // Executes allowed per minute (a token bucket); zero: no limit.
  int max_starts_per_minute = 0;

  // ---- What leaves the server.
  // Replace well-known secret shapes and redact_patterns in returned output by [REDACTED].
  bool redact = true;
  std::vector<std::string> redact_patterns;  // RE2
  // One JSON line per state-changing call, denial and job end; empty: no audit log.
  std::filesystem::path audit_log;
  // Beyond this size the audit log is renamed to PATH.1 and a new one started.
  uint64_t audit_log_max_size = 10ull << 20;

  // ---- What outlives the server.
  // Where the history database lives. Unset: $XDG_STATE_HOME/mcp-background-job (else
  // ~/.local/state/...), resolved by main; an empty path: keep nothing ("none").
  std::optional<std::filesystem::path> state_dir;

  // ---- Transport.
  // Set: serve MCP over Streamable HTTP at this address instead of stdio. A non-loopback address
  // needs auth_token.
  std::optional<HttpAddress> http;
  // The bearer token every HTTP request (but GET /healthz) must carry; empty: none. From the
  // environment (MCP_BG_AUTH_TOKEN, never a flag: it would show in ps) or auth_token_file.
  // Never logged, shown by a tool, or quoted in an error.
  std::string auth_token;
  std::filesystem::path auth_token_file;  // where auth_token was read from, if from a file
  // Host names and addresses accepted in Host and Origin besides localhost, 127.0.0.1, [::1]
  // (canonical: see base/authority.h).
  std::vector<std::string> http_allowed_hosts;
  // Origins (scheme://host[:port], canonical) whose pages may call cross-origin.
  std::vector<std::string> http_cors_origins;
  // Bounds of the HTTP transport.
  int http_max_connections = 128;
  int http_max_sessions = 64;  // beyond: the least recently used idle session is dropped
  std::chrono::milliseconds http_header_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds http_idle_timeout = std::chrono::seconds(60);
  int http_max_streams_per_session = 4;  // SSE streams one session holds open at once
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

// The settings table: one row per setting, in the order --help and docs/settings.md list them.
#include "config/setting.h"

namespace config {

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
      boolean_setting(
          {"non_interactive_env", "--non-interactive-env", "MCP_BG_NON_INTERACTIVE_ENV"},
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
      choice_setting<Sandbox>(
          {"sandbox", "--sandbox", "MCP_BG_SANDBOX"},
          "Confine every job: landlock lets jobs write only inside "
          "allowed_roots, the temp directory, /dev/shm and terminal and null-like "
          "devices. Start-up fails if the "
          "kernel cannot.",
          &Config::sandbox, {{"none", Sandbox::kNone}, {"landlock", Sandbox::kLandlock}}),
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
                      "Open files of each process of a job (0: no limit).", &Config::max_open_files,
                      0, 1 << 20),
      size_setting({"max_file_size", "--max-file-size", "MCP_BG_MAX_FILE_SIZE"},
                   "Largest file a job may write (0: no limit); a write beyond it fails.",
                   &Config::max_file_size, 0, 1024 * kGiB),
      // Environment.
      choice_setting<EnvPolicy>(
          {"env_policy", "--env-policy", "MCP_BG_ENV_POLICY"},
          "What jobs inherit from the server's environment: inherit (all "
          "but env_exclude) or minimal (PATH, HOME, USER, LANG, TERM).",
          &Config::env_policy,
          {{"inherit", EnvPolicy::kInherit}, {"minimal", EnvPolicy::kMinimal}}),
      string_list_setting({"env_exclude", "--env-exclude", "MCP_BG_ENV_EXCLUDE"},
                          "Glob patterns (any case) of variables removed from what jobs inherit; "
                          "a job's own env may still set them.",
                          &Config::env_exclude, "glob patterns (* ? [...])"),
      string_list_setting(
          {"allowed_loader_env", "--allowed-loader-env", "MCP_BG_ALLOWED_LOADER_ENV"},
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
      integer_setting(
          {"max_starts_per_minute", "--max-starts-per-minute", "MCP_BG_MAX_STARTS_PER_MINUTE"},
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
                          "More RE2 patterns whose matches are redacted.", &Config::redact_patterns,
                          "RE2 patterns"),
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
      boolean_setting({"persist", "--persist", "MCP_BG_PERSIST"},
                      "The default of execute's `persist`: true runs every job under a keeper of "
                      "its own, so that it outlives this server and any later server takes it "
                      "back (needs state_dir).",
                      &Config::persist),
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
      integer_setting(
          {"http_max_connections", "--http-max-connections", "MCP_BG_HTTP_MAX_CONNECTIONS"},
          "HTTP connections open at once; one more is closed at once.",
          &Config::http_max_connections, 1, 100000),
      integer_setting({"http_max_sessions", "--http-max-sessions", "MCP_BG_HTTP_MAX_SESSIONS"},
                      "MCP sessions at once over HTTP; a new one ends the least recently used "
                      "session that has no request running.",
                      &Config::http_max_sessions, 1, 100000),
      duration_setting(
          {"http_header_timeout", "--http-header-timeout", "MCP_BG_HTTP_HEADER_TIMEOUT"},
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

}  // namespace config

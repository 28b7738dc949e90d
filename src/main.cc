// mcp-background-job: an MCP server, spoken to over stdio (or Streamable HTTP with --http), that
// runs shell commands as background jobs. main() only wires the modules together; see docs/ARCHITECTURE.md.
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "config/config.h"
#include "history/job_history.h"
#include "jobs/job_manager.h"
#include "mcp/server.h"
#include "observe/metrics.h"
#include "policy/audit_log.h"
#include "policy/redactor.h"
#include "mcp/tools/common.h"
#include "store/state_dir.h"
#include "sys/process.h"
#include "sys/watchdog.h"
#include "transport/http/http_server.h"
#include "transport/stdio_transport.h"

#ifndef MCPBG_VERSION
#define MCPBG_VERSION "0.1.0"
#endif

namespace {

namespace asio = boost::asio;

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kTrace:
      return spdlog::level::trace;
    case config::LogLevel::kDebug:
      return spdlog::level::debug;
    case config::LogLevel::kInfo:
      return spdlog::level::info;
    case config::LogLevel::kWarn:
      return spdlog::level::warn;
    case config::LogLevel::kError:
      return spdlog::level::err;
    case config::LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

// stdout belongs to the protocol: every log line goes to stderr.
void set_up_logging(config::LogLevel level) {
  auto logger = spdlog::stderr_logger_st("mcp-background-job");
  logger->set_pattern("[%Y-%m-%dT%H:%M:%S.%e] [mcp-background-job] [%l] %v");
  logger->set_level(to_spdlog(level));
  spdlog::set_default_logger(logger);
}

// What may run, built once from the settings. The patterns compile and the programs resolve
// here (on the server's own PATH), so a mistake in them stops start-up rather than the first job.
base::Result<std::shared_ptr<const policy::CommandPolicy>> build_command_policy(
    const config::Config& config) {
  const char* own_path = std::getenv("PATH");
  auto built = policy::CommandPolicy::create(
      {.allowed_commands = config.allowed_commands,
       .denied_commands = config.denied_commands,
       .allowed_programs = config.allowed_programs,
       .shell = config.shell,
       .allowed_roots = config.allowed_roots,
       .allowed_loader_env = config.allowed_loader_env},
      config.working_dir, own_path != nullptr ? own_path : "/usr/local/bin:/usr/bin:/bin");
  if (!built) return tl::unexpected(built.error());
  return std::make_shared<const policy::CommandPolicy>(std::move(*built));
}

policy::EnvironmentRules environment_rules(const config::Config& config) {
  return {.inheritance = config.env_policy == config::EnvPolicy::kMinimal
                             ? policy::EnvInheritance::kMinimal
                             : policy::EnvInheritance::kInherit,
          .exclude = config.env_exclude,
          .non_interactive = config.non_interactive_env};
}

// The server's confinement of every job, from the settings. CPU time is whole seconds to the
// kernel: a part of a second counts as one.
jobs::ConfinementSettings confinement_settings(const config::Config& config) {
  auto cpu_seconds = static_cast<uint64_t>((config.max_cpu_time.count() + 999) / 1000);
  return {.defaults = {.limits = {.cpu_seconds = cpu_seconds,
                                  .memory_bytes = config.max_memory,
                                  .address_space_bytes = config.max_address_space,
                                  .processes = config.max_processes,
                                  .open_files = config.max_open_files,
                                  .file_size_bytes = config.max_file_size},
                       .sandbox = config.sandbox == config::Sandbox::kLandlock,
                       .network = config.network},
          .allowed_roots = config.allowed_roots};
}

// At shutdown, how long to keep trying to deliver queued messages to a client that may no
// longer be reading.
constexpr std::chrono::seconds kFlushBound{2};

constexpr const char* kTerminalHint =
    "mcp-background-job is an MCP server: it speaks JSON-RPC on stdin/stdout and is meant to be\n"
    "started by an MCP client, not typed at. To use it, register this binary with your client,\n"
    "for example:\n"
    "  claude mcp add background-job -- %s\n"
    "See README.md for Claude Desktop, Cursor and Codex. Press Ctrl-D or Ctrl-C to quit.\n";

int run_server(int argc, char** argv) {
  // Whatever started us may have leaked fds to us; they must not leak on into every job.
  if (auto marked = sys::mark_inherited_fds_cloexec(); !marked) {
    std::fprintf(stderr, "mcp-background-job: %s\n", marked.error().message.c_str());
    return 1;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  auto outcome = config::load_config(args, config::current_environment());
  if (!outcome.config) {
    (outcome.exit_code == 0 ? std::cout : std::cerr) << outcome.message;
    if (!outcome.message.empty() && outcome.message.back() != '\n') {
      (outcome.exit_code == 0 ? std::cout : std::cerr) << '\n';
    }
    return outcome.exit_code;
  }
  const config::Config& config = *outcome.config;
  // Read once into the config: jobs inherit this process's environment, and whatever env_exclude
  // says, none of them should see the token that guards the server.
  ::unsetenv("MCP_BG_AUTH_TOKEN");
  auto command_policy = build_command_policy(config);
  if (!command_policy) {
    std::cerr << "invalid " << command_policy.error().message << '\n';
    return 2;
  }
  // Checked even with redact = false: a broken pattern is a mistake worth hearing about now.
  auto redactor = policy::Redactor::create(config.redact_patterns);
  if (!redactor) {
    std::cerr << "invalid " << redactor.error().message << '\n';
    return 2;
  }

  // Forked while the process is still single-threaded and holds no loop: see sys/watchdog.h.
  auto watchdog = sys::Watchdog::start();

  // A job or client that goes away must surface as EPIPE on write, not kill the server.
  std::signal(SIGPIPE, SIG_IGN);
  set_up_logging(config.log_level);
  if (!watchdog) {
    spdlog::error("cannot start the watchdog ({}): jobs will not be stopped if this server is "
                  "killed without a chance to shut down",
                  watchdog.error().message);
  }
  if (!config.http && ::isatty(STDIN_FILENO)) std::fprintf(stderr, kTerminalHint, argv[0]);

  // After the watchdog's fork: the audit log writes from a thread of its own.
  std::unique_ptr<policy::AuditLog> audit_log;
  if (!config.audit_log.empty()) {
    auto opened = policy::AuditLog::open(
        {.path = config.audit_log, .max_size = config.audit_log_max_size});
    if (!opened) {
      std::cerr << "invalid " << opened.error().message << '\n';
      return 2;
    }
    audit_log = std::move(*opened);
    spdlog::info("audit log: {}", config.audit_log.string());
  }

  asio::io_context io(1);  // One thread runs everything; the hint lets asio skip locking.

  jobs::EngineSettings engine{
      .working_dir = config.working_dir,
      .max_jobs = config.max_jobs,
      .max_finished = config.max_finished,
      .retention = config.retention,
      .cleanup_interval = config.cleanup_interval,
      .job_timeout = config.job_timeout,
      .limits = {.max_output_size = config.max_output_size,
                 .stdin_buffer_size = config.stdin_buffer_size},
      .policy = *command_policy,
      .environment = environment_rules(config),
      .queue = config.queue,
      .max_queued = config.max_queued,
      .max_starts_per_minute = config.max_starts_per_minute,
      .confinement = confinement_settings(config),
      .redactor = config.redact ? &*redactor : nullptr};
  jobs::JobManager jobs(io.get_executor(), engine, watchdog ? &*watchdog : nullptr);
  // Confinement the operator asked for is enforced or the server does not start: never a job
  // that silently runs unconfined.
  if (auto confined = jobs.check_confinement(); !confined) {
    std::fprintf(stderr, "mcp-background-job: %s\n", confined.error().message.c_str());
    return 2;
  }
  // The history of jobs, so that list, status, output and tail outlive this server. A state
  // directory the operator named must work, or the server does not start; the default one is
  // worth a warning only.
  std::unique_ptr<history::JobHistory> job_history;
  {
    std::filesystem::path state_dir =
        config.state_dir.value_or(store::default_state_dir(config::current_environment()));
    if (!state_dir.empty()) {
      auto opened = history::JobHistory::open(state_dir, jobs, config.redact ? &*redactor : nullptr);
      if (opened) {
        job_history = std::move(*opened);
        spdlog::info("history: {}", job_history->database().string());
      } else if (config.state_dir) {
        std::fprintf(stderr, "mcp-background-job: state_dir: %s\n", opened.error().message.c_str());
        return 2;
      } else {
        spdlog::warn("no history of jobs is kept ({}); set state_dir to a usable directory, or "
                     "to none to silence this",
                     opened.error().message);
      }
    }
  }
  // Should the watchdog die (it never exits while we live), reap it and say so.
  asio::posix::stream_descriptor watchdog_exit(io);
  if (watchdog) {
    watchdog_exit.assign(static_cast<int>(::syscall(SYS_pidfd_open, watchdog->pid(), 0)));
    watchdog_exit.async_wait(asio::posix::descriptor_base::wait_read,
                             [&](boost::system::error_code ec) {
                               if (ec) return;
                               ::waitpid(watchdog->pid(), nullptr, WNOHANG);
                               spdlog::error("the watchdog process exited; jobs will not be "
                                             "stopped if this server is killed");
                             });
  }

  const mcp::ToolLimits tool_limits{.max_read_bytes = config.max_read_bytes,
                                    .max_interact_wait = config.max_interact_wait,
                                    .max_wait = config.max_wait,
                                    .policy = mcp::tools::describe_policy(config)};
  const mcp::Safeguards safeguards{.redactor = config.redact ? &*redactor : nullptr,
                                   .audit_log = audit_log.get()};
  // Metrics are served over HTTP only (GET /metrics).
  std::optional<observe::Metrics> metrics;
  if (config.http) metrics.emplace(jobs);
  // A session's server tags the jobs it starts with the session ("stdio" on stdio).
  auto make_server = [&](mcp::McpServer::Send send, const std::string& session_id) {
    return std::make_unique<mcp::McpServer>(
        io.get_executor(), jobs, tool_limits, MCPBG_VERSION, std::move(send), safeguards,
        mcp::Placement{.session_id = session_id,
                       .metrics = metrics ? &*metrics : nullptr,
                       .history = job_history.get()});
  };

  std::unique_ptr<mcp::McpServer> server;
  bool stopping = false;
  std::function<void(std::string_view)> stop;

  // One transport: stdio (one client, one McpServer), or HTTP (an McpServer per session).
  std::optional<transport::StdioTransport> stdio;
  std::optional<http::HttpServer> http_server;
  if (config.http) {
    http_server.emplace(
        io.get_executor(),
        http::HttpSettings{
            .host = config.http->host,
            .port = config.http->port,
            .max_body_size = config.max_message_size,
            .max_connections = static_cast<size_t>(config.http_max_connections),
            .max_sessions = static_cast<size_t>(config.http_max_sessions),
            .header_timeout = config.http_header_timeout,
            .idle_timeout = config.http_idle_timeout,
            .max_streams_per_session = static_cast<size_t>(config.http_max_streams_per_session),
            .guard = {.allowed_hosts = config.http_allowed_hosts,
                      .cors_origins = config.http_cors_origins,
                      .auth_token = config.auth_token}},
        jobs, MCPBG_VERSION, make_server, metrics ? &*metrics : nullptr);
    auto bound = http_server->start();
    if (!bound) {
      std::fprintf(stderr, "mcp-background-job: %s\n", bound.error().message.c_str());
      return 2;
    }
    // A fixed format, for scripts and tests that start the server on port 0.
    std::string host = bound->address().is_v6() ? "[" + bound->address().to_string() + "]"
                                                : bound->address().to_string();
    std::fprintf(stderr, "mcp-background-job: serving MCP at http://%s:%u/mcp\n", host.c_str(),
                 static_cast<unsigned>(bound->port()));
    // Where the token came from, never the token.
    if (!config.auth_token.empty()) {
      spdlog::info("http: every request but GET /healthz needs the bearer token from {}",
                   config.auth_token_file.empty() ? std::string("MCP_BG_AUTH_TOKEN")
                                                  : config.auth_token_file.string());
    } else {
      spdlog::info("http: no auth token: any local process can call this server");
    }
  } else {
    stdio.emplace(
        io.get_executor(), STDIN_FILENO, STDOUT_FILENO, config.max_message_size,
        transport::StdioTransport::Handlers{
            .on_message = [&](std::string_view line) { server->handle(mcp::decode(line)); },
            .on_oversized =
                [&](uint64_t size) { server->reject_oversized(size, config.max_message_size); },
            .on_closed = [&] { stop("stdin closed"); }});
    server = make_server(
        [&](mcp::Outgoing message) { stdio->send(mcp::serialize(message.message)); }, "stdio");
  }

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (!ec) stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
  });

  // Shutdown: stop every job (TERM, then KILL after the grace), deliver what is queued for the
  // client, then leave the loop. Runs once, whatever asked for it first.
  stop = [&](std::string_view why) {
    if (stopping) return;
    stopping = true;
    spdlog::info("shutting down ({}): stopping {} running job(s)", why, jobs.running_count());
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          if (http_server) http_server->stop();  // no new sessions while jobs stop
          co_await jobs.shutdown(config.shutdown_grace);
          watchdog_exit.cancel();
          // Requests that waited on the jobs have their answers now; the rest are told the
          // server is going. Clients get a bounded time to take them.
          if (http_server) co_await http_server->close(kFlushBound);
          // Deliver what is queued (responses, job-end messages), but a client that closed stdin
          // may have stopped reading stdout too: never wait on it for long.
          if (stdio) {
            using namespace asio::experimental::awaitable_operators;
            asio::steady_timer flush_deadline(io, kFlushBound);
            co_await (stdio->flush() || flush_deadline.async_wait(asio::use_awaitable));
          }
          signals.cancel();
          io.stop();
        },
        asio::detached);
  };

  if (stdio) stdio->start();
  io.run();
  if (audit_log) {
    // Every job's end is in it by now (shutdown waited for them): write it all out.
    audit_log->close();
    auto stats = audit_log->stats();
    if (stats.dropped > 0 || stats.failed > 0) {
      spdlog::warn("audit log: {} records written, {} dropped (queue full), {} lost to write "
                   "errors",
                   stats.written, stats.dropped, stats.failed);
    }
  }
  return 0;
}

}  // namespace

// The outermost boundary: an exception that escapes everything else (out of memory, a bug) is
// logged and ends the server with a failure status instead of std::terminate's abort.
int main(int argc, char** argv) {
  try {
    return run_server(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mcp-background-job: fatal: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "mcp-background-job: fatal: unknown exception\n");
  }
  return 1;
}

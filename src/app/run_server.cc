// run_server: the server's start-up, its loop and its shutdown. It reads the settings, builds the
// engine, the safeguards and one transport (stdio, or HTTP with an McpServer per session), runs
// the loop, and stops every job before it returns.
#include "app/run_server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>

#include "app/audit.h"
#include "app/engine_settings.h"
#include "app/http_settings.h"
#include "app/job_history.h"
#include "app/logging.h"
#include "app/watchdog_watch.h"
#include "config/config.h"
#include "jobs/job_manager.h"
#include "keeper/keepers.h"
#include "mcp/server.h"
#include "mcp/tools/common.h"
#include "observe/metrics.h"
#include "policy/redactor.h"
#include "sys/subreaper.h"
#include "sys/watchdog.h"
#include "transport/http/http_server.h"
#include "transport/stdio_transport.h"

#ifndef MCPBG_VERSION
#define MCPBG_VERSION "0.1.0"
#endif

namespace app {
namespace {

namespace asio = boost::asio;

// At shutdown, how long to keep trying to deliver queued messages to a client that may no
// longer be reading.
constexpr std::chrono::seconds kFlushBound{2};

constexpr const char* kTerminalHint =
    "mcp-background-job is an MCP server: it speaks JSON-RPC on stdin/stdout and is meant to be\n"
    "started by an MCP client, not typed at. To use it, register this binary with your client,\n"
    "for example:\n"
    "  claude mcp add background-job -- %s\n"
    "See README.md for Claude Desktop, Cursor and Codex. Press Ctrl-D or Ctrl-C to quit.\n";

}  // namespace

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
    spdlog::error(
        "cannot start the watchdog ({}): jobs will not be stopped if this server is "
        "killed without a chance to shut down",
        watchdog.error().message);
  }
  if (!config.http && ::isatty(STDIN_FILENO)) std::fprintf(stderr, kTerminalHint, argv[0]);

  // After the watchdog's fork: the audit log writes from a thread of its own.
  auto audit_log = open_audit_log(config);
  if (!audit_log) {
    std::cerr << "invalid " << audit_log.error().message << '\n';
    return 2;
  }

  asio::io_context io(1);  // One thread runs everything; the hint lets asio skip locking.

  jobs::EngineSettings engine =
      engine_settings(config, *command_policy, config.redact ? &*redactor : nullptr);
  jobs::JobManager jobs(io.get_executor(), engine, watchdog ? &*watchdog : nullptr);
  // Confinement the operator asked for is enforced or the server does not start: never a job
  // that silently runs unconfined.
  if (auto confined = jobs.check_confinement(); !confined) {
    std::fprintf(stderr, "mcp-background-job: %s\n", confined.error().message.c_str());
    return 2;
  }
  auto job_history = open_job_history(config, jobs, config.redact ? &*redactor : nullptr);
  if (!job_history) {
    std::fprintf(stderr, "mcp-background-job: %s\n", job_history.error().message.c_str());
    return 2;
  }
  // Persisted jobs (execute {persist: true}) run under keepers, found in the state directory.
  std::optional<keeper::Keepers> keepers;
  if (*job_history) {
    keepers.emplace(jobs, **job_history, (*job_history)->database().parent_path(),
                    std::vector<std::string>(argv + 1, argv + argc));
    (*job_history)->set_take_back([&](std::string_view id) { return keepers->take_back(id); });
  }
  // Should the watchdog die (it never exits while we live), reap it and say so.
  asio::posix::stream_descriptor watchdog_exit(io);
  if (watchdog) watch_watchdog(watchdog_exit, watchdog->pid());

  const mcp::ToolLimits tool_limits{.max_read_bytes = config.max_read_bytes,
                                    .max_interact_wait = config.max_interact_wait,
                                    .max_wait = config.max_wait,
                                    .persist_by_default = config.persist,
                                    .policy = mcp::tools::describe_policy(config)};
  const mcp::Safeguards safeguards{.redactor = config.redact ? &*redactor : nullptr,
                                   .audit_log = audit_log->get()};
  // Metrics are served over HTTP only (GET /metrics).
  std::optional<observe::Metrics> metrics;
  if (config.http) metrics.emplace(jobs);
  // A session's server tags the jobs it starts with the session ("stdio" on stdio).
  auto make_server = [&](mcp::McpServer::Send send, const std::string& session_id) {
    return std::make_unique<mcp::McpServer>(
        io.get_executor(), jobs, tool_limits, MCPBG_VERSION, std::move(send), safeguards,
        mcp::Placement{.session_id = session_id,
                       .metrics = metrics ? &*metrics : nullptr,
                       .history = job_history->get(),
                       .keepers = keepers ? &*keepers : nullptr});
  };

  std::unique_ptr<mcp::McpServer> server;
  bool stopping = false;
  std::function<void(std::string_view)> stop;

  // One transport: stdio (one client, one McpServer), or HTTP (an McpServer per session).
  std::optional<transport::StdioTransport> stdio;
  std::optional<http::HttpServer> http_server;
  if (config.http) {
    http_server.emplace(io.get_executor(), http_settings(config), jobs, MCPBG_VERSION, make_server,
                        metrics ? &*metrics : nullptr);
    auto bound = http_server->start();
    if (!bound) {
      std::fprintf(stderr, "mcp-background-job: %s\n", bound.error().message.c_str());
      return 2;
    }
    announce_http(*bound, config);
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
  // Every job's end is in it by now (shutdown waited for them): write it all out.
  if (*audit_log) close_audit_log(**audit_log);
  return 0;
}

}  // namespace app

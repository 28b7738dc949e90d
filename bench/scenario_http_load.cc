// http-load: the HTTP transport under load. 50 clients, each on its own keep-alive connection
// and legacy session, call status on one of 10 jobs in a closed loop (a call as soon as the last
// answered), while 10 more sessions keep those jobs running: each job prints a line every 5 ms
// for about 2 s and is started again as soon as `wait` says it ended, so the server answers while
// it captures output, reaps and starts jobs. The reference, against the same server, connections
// and jobs: the same 50 clients doing GET /healthz, the floor set by the HTTP layer (read, parse,
// route, write) with no MCP work. Reference and status phases alternate after a warm-up, so the
// machine's other tenants weigh on both alike.
//
// The load generator is one thread: Beast client coroutines on one io_context, the server's own
// design. Its CPU use is reported beside the server's, to show which side was the limit.
#include <sys/resource.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <limits>

#include "failure.h"
#include "http_client.h"
#include "http_server_process.h"
#include "job_calls.h"
#include "proc_stats.h"
#include "scenario.h"

namespace bench {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr int kClients = 50;
constexpr int kJobs = 10;
// A short job prints a line every 5 ms for 1.5 to 2.4 s: the lengths differ by slot so the ten
// do not end (and leave a gap before their successors start) all at once. One perl process per
// job prints and sleeps without a fork per line (perl is in Debian's essential set); a shell
// loop calling `sleep` would start 200 processes a second per job and load the machine with
// forks rather than the server with output.
std::string job_command(int slot) {
  return fmt::format(
      "perl -e '$| = 1; for my $i (1 .. {}) {{ print \"line $i of a short job\\n\"; "
      "select(undef, undef, undef, 0.005) }}'",
      300 + 20 * slot);
}
constexpr std::chrono::seconds kJobWait{30};  // A job lasts at most about 2.4 s.
constexpr std::chrono::seconds kStartTimeout{10};
constexpr std::chrono::seconds kStopTimeout{30};
constexpr double kMiB = 1024.0 * 1024.0;
// The targets for status over HTTP on this 2-core machine.
constexpr double kTargetCallsPerSecond = 10'000;
constexpr double kTargetP99Millis = 20;

enum class Load { kHealthz = 0, kStatus = 1 };

struct LoadStats {
  Samples latencies;    // Successful calls that began and ended within one measured phase.
  uint64_t errors = 0;  // In the warm-up and the measured phases alike.
  std::string first_error;
  Clock::duration measured{};  // The measured phases' total length.
  Clock::duration server_cpu{};
  Clock::duration driver_cpu{};
};

// What the coroutines share. One thread runs them all, so plain fields suffice.
struct Run {
  explicit Run(const asio::any_io_executor& executor)
      : ready_event(executor, Clock::time_point::max()) {}

  Load load = Load::kStatus;
  // Changes at every phase boundary: a call that spans one is not recorded.
  uint64_t phase = 0;
  bool measuring = false;
  bool stopping = false;
  std::array<std::string, kJobs> job_ids;  // The job each slot runs now.
  int clients_open = 0;
  int slots_running = 0;           // Slots whose first job has started.
  bool ready = false;              // Every client open and every slot running.
  asio::steady_timer ready_event;  // Never expires; cancelled when `ready` becomes true.
  uint64_t jobs_completed = 0;
  // jobs_running in the /healthz answers of the measured phases.
  int64_t fewest_running = std::numeric_limits<int64_t>::max();
  int64_t most_running = 0;
  std::array<LoadStats, 2> stats;
  ThreadsAndMemory server_at_start;  // When ready, before the warm-up.

  LoadStats& of(Load which) { return stats[static_cast<size_t>(which)]; }

  void note_progress() {
    if (ready || clients_open < kClients || slots_running < kJobs) return;
    ready = true;
    ready_event.cancel();
  }
  asio::awaitable<void> until_ready() {
    if (!ready) co_await ready_event.async_wait(asio::as_tuple(asio::use_awaitable));
  }
};

std::string string_field(const Json& object, std::string_view key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Clock::duration driver_cpu_time() {
  rusage usage{};
  check(::getrusage(RUSAGE_SELF, &usage) == 0, "getrusage: {}", std::strerror(errno));
  auto to_duration = [](const timeval& t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
  };
  return std::chrono::duration_cast<Clock::duration>(to_duration(usage.ru_utime) +
                                                     to_duration(usage.ru_stime));
}

// Built outside the coroutines: GCC 12 rejects a braced initializer list holding string
// literals in a coroutine body ("array used as initializer").
Json execute_arguments(int slot) { return Json{{"command", job_command(slot)}}; }

// One job slot: runs the short job, waits for its end, starts it again, until the run stops.
asio::awaitable<void> keep_job_running(Run& run, tcp::endpoint server, int slot) {
  HttpMcpClient client(co_await asio::this_coro::executor, server);
  co_await client.connect();
  co_await client.initialize(fmt::format("bench-job-{}", slot));
  bool first = true;
  while (!run.stopping) {
    HttpExchange started = co_await client.call_tool("execute", execute_arguments(slot));
    check(!started.error, "execute over HTTP failed: {}", started.error.value_or(""));
    const std::string id = string_field(started.body, "job_id");
    check(!id.empty(), "execute over HTTP returned no job_id: {}", started.body.dump());
    run.job_ids[static_cast<size_t>(slot)] = id;
    if (first) {
      first = false;
      ++run.slots_running;
      run.note_progress();
    }
    if (started.connection_lost) co_await client.reconnect();
    HttpExchange waited = co_await client.call_tool("wait", wait_arguments(id, kJobWait),
                                                    kJobWait + HttpMcpClient::kDefaultTimeout);
    check(!waited.error, "wait over HTTP failed: {}", waited.error.value_or(""));
    const auto exit_code = waited.body.find("exit_code");
    check(string_field(waited.body, "status") == "completed" && exit_code != waited.body.end() &&
              *exit_code == 0,
          "a short job did not complete with exit code 0: {}", waited.body.dump());
    ++run.jobs_completed;
    if (waited.connection_lost) co_await client.reconnect();
  }
  co_await client.end_session();
}

// Whether a successful exchange carries what its load promises; the error if not.
std::optional<std::string> check_body(Load load, const Json& body) {
  if (load == Load::kHealthz) {
    auto running = body.find("jobs_running");
    if (string_field(body, "status") == "ok" && running != body.end() &&
        running->is_number_integer()) {
      return std::nullopt;
    }
    return fmt::format("/healthz answered {}", body.dump());
  }
  if (!string_field(body, "status").empty()) return std::nullopt;
  return fmt::format("status answered without a job status: {}", body.dump());
}

// One load client: calls in a closed loop, whichever load the run is in, until it stops.
asio::awaitable<void> call_in_a_loop(Run& run, tcp::endpoint server, int index) {
  HttpMcpClient client(co_await asio::this_coro::executor, server);
  co_await client.connect();
  co_await client.initialize(fmt::format("bench-load-{}", index));
  ++run.clients_open;
  run.note_progress();
  co_await run.until_ready();
  Json arguments = Json::object();
  // Each client starts at another job, so the calls spread over all ten.
  for (size_t n = static_cast<size_t>(index); !run.stopping; ++n) {
    const Load load = run.load;
    const uint64_t phase = run.phase;
    HttpExchange exchange;
    if (load == Load::kHealthz) {
      exchange = co_await client.get("/healthz");
    } else {
      arguments["job_id"] = run.job_ids[n % kJobs];
      exchange = co_await client.call_tool("status", arguments);
    }
    if (!exchange.error) exchange.error = check_body(load, exchange.body);
    LoadStats& stats = run.of(load);
    if (exchange.error) {
      ++stats.errors;
      if (stats.first_error.empty()) stats.first_error = *exchange.error;
    } else if (run.measuring && run.phase == phase) {
      stats.latencies.add(exchange.latency);
      if (load == Load::kHealthz) {
        const int64_t running = exchange.body["jobs_running"].get<int64_t>();
        run.fewest_running = std::min(run.fewest_running, running);
        run.most_running = std::max(run.most_running, running);
      }
    }
    if (exchange.connection_lost) co_await client.reconnect();
  }
  co_await client.end_session();
}

// The timeline: wait until every client and job is up, warm up on status, then alternate the
// reference and the status load, reading the server's and the driver's CPU time around each.
asio::awaitable<void> conduct(Run& run, const Scale& scale, pid_t server) {
  co_await run.until_ready();
  run.server_at_start = unwrap(read_threads_and_memory(server), "reading the server's status");
  asio::steady_timer timer(co_await asio::this_coro::executor);
  run.load = Load::kStatus;
  ++run.phase;
  timer.expires_after(scale.http_warm_up);
  co_await timer.async_wait(asio::use_awaitable);
  for (int round = 0; round < scale.http_rounds; ++round) {
    for (Load load : {Load::kHealthz, Load::kStatus}) {
      const auto server_before = unwrap(read_cpu_time(server), "reading the server's CPU time");
      const auto driver_before = driver_cpu_time();
      const auto began = Clock::now();
      run.load = load;
      run.measuring = true;
      ++run.phase;
      timer.expires_after(scale.http_phase);
      co_await timer.async_wait(asio::use_awaitable);
      run.measuring = false;
      ++run.phase;
      LoadStats& stats = run.of(load);
      stats.measured += Clock::now() - began;
      stats.driver_cpu += driver_cpu_time() - driver_before;
      stats.server_cpu +=
          unwrap(read_cpu_time(server), "reading the server's CPU time") - server_before;
    }
  }
  run.stopping = true;
}

std::vector<Figure> make_figures(const Run& run, const ThreadsAndMemory& server_at_end) {
  const LoadStats& status = run.stats[static_cast<size_t>(Load::kStatus)];
  const LoadStats& health = run.stats[static_cast<size_t>(Load::kHealthz)];
  check(status.latencies.size() > 0 && health.latencies.size() > 0,
        "no successful calls were measured (status errors: {}, first: {}; /healthz errors: {}, "
        "first: {})",
        status.errors, status.first_error, health.errors, health.first_error);
  auto rate = [](const LoadStats& s) {
    return static_cast<double>(s.latencies.size()) / to_seconds(s.measured);
  };
  auto cpu_per_call = [](const LoadStats& s) {
    return to_micros(s.server_cpu) / static_cast<double>(s.latencies.size());
  };
  auto percent = [](Clock::duration cpu, const LoadStats& s) {
    return 100.0 * to_seconds(cpu) / to_seconds(s.measured);
  };
  const std::string reference = "GET /healthz, same clients";
  auto latency = [&](std::string name, double fraction, Target target) {
    return Figure{.scenario = "http-load",
                  .name = std::move(name),
                  .unit = "ms",
                  .measured = to_millis(status.latencies.percentile(fraction)),
                  .reference = to_millis(health.latencies.percentile(fraction)),
                  .reference_label = reference,
                  .target = target};
  };
  return {
      Figure{.scenario = "http-load",
             .name = fmt::format("status calls/s ({} clients, {} jobs running)", kClients, kJobs),
             .unit = "calls/s",
             .measured = rate(status),
             .reference = rate(health),
             .reference_label = reference,
             .target = Target::at_least(kTargetCallsPerSecond)},
      latency(fmt::format("status p50 ({} calls)", status.latencies.size()), 0.50, Target::none()),
      latency("status p99", 0.99, Target::below(kTargetP99Millis)),
      latency("status max", 1.0, Target::none()),
      Figure{.scenario = "http-load",
             .name = "status errors (HTTP, JSON-RPC, isError, connection)",
             .unit = "",
             .measured = static_cast<double>(status.errors),
             .reference = static_cast<double>(health.errors),
             .reference_label = "/healthz errors",
             .target = Target::at_most(0)},
      Figure{.scenario = "http-load",
             .name = "server CPU per status call",
             .unit = "us",
             .measured = cpu_per_call(status),
             .reference = cpu_per_call(health),
             .reference_label = "per GET /healthz",
             .target = Target::none()},
      Figure{.scenario = "http-load",
             .name = "server CPU during status load (% of a core)",
             .unit = "%",
             .measured = percent(status.server_cpu, status),
             .reference = percent(health.server_cpu, health),
             .reference_label = "during /healthz load",
             .target = Target::none()},
      Figure{.scenario = "http-load",
             .name = "driver CPU during status load (% of a core)",
             .unit = "%",
             .measured = percent(status.driver_cpu, status),
             .reference = percent(health.driver_cpu, health),
             .reference_label = "during /healthz load",
             .target = Target::none()},
      Figure{.scenario = "http-load",
             .name = "server peak RSS (VmHWM)",
             .unit = "MiB",
             .measured = static_cast<double>(server_at_end.peak_rss_bytes) / kMiB,
             .reference = static_cast<double>(run.server_at_start.rss_bytes) / kMiB,
             .reference_label = "RSS with all sessions open, before the load",
             .target = Target::none()},
      Figure{.scenario = "http-load",
             .name = "jobs running, fewest seen by /healthz",
             .unit = "",
             .measured = static_cast<double>(run.fewest_running),
             .reference = static_cast<double>(run.most_running),
             .reference_label = "most seen",
             .target = Target::none()},
      Figure{.scenario = "http-load",
             .name = "short jobs run to completion during the run",
             .unit = "",
             .measured = static_cast<double>(run.jobs_completed),
             .reference = std::nullopt,
             .reference_label = "",
             .target = Target::none()},
  };
}

}  // namespace

std::vector<Figure> run_http_load(const ScenarioContext& context) {
  const Scale& scale = context.scale();
  asio::io_context io(1);
  // Declared after the io_context, so destroyed before it: coroutine frames still suspended
  // when a failure stops the loop refer to these, but only the loop's destruction ends them.
  Run run(io.get_executor());
  HttpServerProcess server(
      io.get_executor(),
      context.server("http-load",
                     {// Ten jobs plus a finished one still draining while its successor starts.
                      {"MCP_BG_MAX_JOBS", "20"},
                      {"MCP_BG_WORKING_DIR", context.scratch_dir("http-load-work").string()}}),
      kStartTimeout);

  std::exception_ptr failure;
  int active = 0;
  auto on_done = [&](const std::exception_ptr& error) {
    if (error) {
      // The first failure ends the run; the loop stops with the rest suspended.
      if (!failure) failure = error;
      io.stop();
      return;
    }
    // Every client and job slot has ended its session: stop the server, which ends copy_log.
    if (--active == 0) server.terminate(Clock::now() + kStopTimeout);
  };
  asio::co_spawn(io, server.copy_log(), [&](const std::exception_ptr& error) {
    if (error && !failure) failure = error;
  });
  for (int slot = 0; slot < kJobs; ++slot) {
    ++active;
    asio::co_spawn(io, keep_job_running(run, server.endpoint(), slot), on_done);
  }
  for (int index = 0; index < kClients; ++index) {
    ++active;
    asio::co_spawn(io, call_in_a_loop(run, server.endpoint(), index), on_done);
  }
  ThreadsAndMemory server_at_end;
  ++active;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await conduct(run, scale, server.pid());
        // The high-water mark is read while the server still lives.
        server_at_end =
            unwrap(read_threads_and_memory(server.pid()), "reading the server's status");
      },
      on_done);
  io.run();
  if (failure) std::rethrow_exception(failure);
  server.await_exit(Clock::now() + kStopTimeout);

  for (Load load : {Load::kStatus, Load::kHealthz}) {
    const LoadStats& stats = run.of(load);
    if (stats.errors > 0) {
      fmt::print(stderr, "\n  http-load: {} {} error(s); the first: {}\n", stats.errors,
                 load == Load::kStatus ? "status" : "/healthz", stats.first_error);
    }
  }
  return make_figures(run, server_at_end);
}

}  // namespace bench

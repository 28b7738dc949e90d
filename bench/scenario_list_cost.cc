// list-cost: what `list` of 50 running jobs costs now that each row says which TCP ports the
// job listens on (sys/listening_ports: every process's descriptors, and /proc/net/tcp{,6} once
// per page when any holds a socket). Five of the fifty jobs listen. With --before, the earlier
// build serves the same jobs and the two are called in alternation, so both see the same noise;
// without it, the reference is ping on the same server.
#include <fmt/format.h>

#include <thread>

#include "failure.h"
#include "job_calls.h"
#include "scenario.h"

namespace bench {
namespace {

constexpr int kJobs = 50;
constexpr int kListeners = 5;
// Beyond Job::kStatsReuse (50 ms), so that each paced call walks /proc afresh, as a person's
// or an agent's occasional list does; back-to-back calls reuse the last walk.
constexpr auto kPace = std::chrono::milliseconds(60);

// A listener on a port the kernel picks, in a job of its own.
constexpr std::string_view kListener =
    "exec python3 -c \"import socket,time; s=socket.socket(); s.bind(('127.0.0.1',0)); "
    "s.listen(); time.sleep(1000)\"";

struct Served {
  McpClient client;
  Samples back_to_back;
  Samples paced;
};

Served serve(ServerLaunch launch) {
  Served served{McpClient::start(std::move(launch)), {}, {}};
  for (int i = 0; i < kJobs; ++i) {
    StartedJob job = execute(served.client, i < kListeners ? kListener : "exec sleep 1000");
    check(job.status == "running", "job {} did not start: {}", i, job.status);
  }
  return served;
}

// How many rows of a list answer name a port.
int rows_with_ports(const Json& list) {
  int rows = 0;
  for (const auto& row : list.at("jobs")) rows += row.contains("ports") ? 1 : 0;
  return rows;
}

Clock::duration list_once(McpClient& client) {
  Reply reply = client.call_tool("list", Json{{"status", "running"}});
  check(reply.result.at("jobs").size() == kJobs, "list answered {} running jobs, not {}",
        reply.result.at("jobs").size(), kJobs);
  return reply.round_trip();
}

}  // namespace

std::vector<Figure> run_list_cost(const ScenarioContext& context) {
  const int calls = std::max(100, context.scale().round_trips / 20);
  const int paced_calls = calls / 5;
  const ServerSettings settings = {{"MCP_BG_MAX_JOBS", "100"}};
  Served now = serve(context.server("list-cost", settings));
  std::optional<Served> before;
  if (auto launch = context.before_server("list-cost", settings)) before.emplace(serve(*launch));

  // The listeners are up once this build's list shows all five (python takes a moment).
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (rows_with_ports(now.client.call_tool("list", Json{{"status", "running"}}).result) <
         kListeners) {
    check(Clock::now() < deadline, "the {} listeners did not show ports within 20 s", kListeners);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pacing a poll, not a guess
  }

  Samples ping_times;
  for (int i = -calls / 10; i < calls; ++i) {
    Reply ping = now.client.ping();
    Clock::duration took = list_once(now.client);
    std::optional<Clock::duration> took_before;
    if (before) took_before = list_once(before->client);
    if (i < 0) continue;  // warm-up
    ping_times.add(ping.round_trip());
    now.back_to_back.add(took);
    if (before) before->back_to_back.add(*took_before);
  }
  for (int i = 0; i < paced_calls; ++i) {
    std::this_thread::sleep_for(kPace);  // lets the last walk of /proc age out (see kPace)
    now.paced.add(list_once(now.client));
    if (before) before->paced.add(list_once(before->client));
  }
  now.client.shut_down(std::chrono::seconds(30));
  if (before) before->client.shut_down(std::chrono::seconds(30));

  auto figure = [&](std::string name, const Samples& measured, const Samples* reference,
                    double fraction, std::string label) {
    return Figure{
        .scenario = "list-cost",
        .name = std::move(name),
        .unit = "us",
        .measured = to_micros(measured.percentile(fraction)),
        .reference = reference ? std::optional<double>(to_micros(reference->percentile(fraction)))
                               : std::nullopt,
        .reference_label = std::move(label),
        .target = Target::none()};
  };
  std::vector<Figure> figures;
  const std::string what = fmt::format("list of {} running jobs ({} listening)", kJobs, kListeners);
  if (before) {
    figures.push_back(figure(fmt::format("{}, back to back, p50 ({} calls)", what, calls),
                             now.back_to_back, &before->back_to_back, 0.5, "--before build p50"));
    figures.push_back(figure(fmt::format("{}, back to back, p99", what), now.back_to_back,
                             &before->back_to_back, 0.99, "--before build p99"));
    figures.push_back(figure(fmt::format("{}, fresh walk, p50 ({} calls)", what, paced_calls),
                             now.paced, &before->paced, 0.5, "--before build p50"));
    figures.push_back(figure(fmt::format("{}, fresh walk, p99", what), now.paced, &before->paced,
                             0.99, "--before build p99"));
  } else {
    figures.push_back(figure(fmt::format("{}, back to back, p50 ({} calls)", what, calls),
                             now.back_to_back, &ping_times, 0.5, "ping p50"));
    figures.push_back(figure(fmt::format("{}, fresh walk, p50 ({} calls)", what, paced_calls),
                             now.paced, nullptr, 0.5, ""));
  }
  return figures;
}

}  // namespace bench

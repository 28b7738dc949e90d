// history-write: what recording every job in the history database costs a client: execute
// `true` + one wait until it exited, on a server with a state_dir beside one with state_dir =
// none, interleaved. The writes happen on the history's own thread, so the ratio should stay
// near 1.
// history-list: the p50 of a `list` page read from a history of 100,000 finished jobs (the first
// page, and one from the middle through its cursor) beside the same page from a history of 100.
// The page is read through the primary key (tests/unit/store/history_db_test.cc checks the
// plan), so its cost must not grow with the history.
#include <algorithm>

#include "failure.h"
#include "job_calls.h"
#include "scenario.h"
#include "store/history_db.h"
#include "store/state_dir.h"

namespace bench {
namespace {

constexpr std::chrono::seconds kWaitTimeout{10};

}  // namespace

std::vector<Figure> run_history_write(const ScenarioContext& context) {
  const int runs = context.scale().spawn_runs;
  auto state_dir = context.scratch_dir("history-write-state");
  McpClient with = McpClient::start(
      context.server("history-write", {{"MCP_BG_STATE_DIR", (state_dir / "state").string()}}));
  McpClient without =
      McpClient::start(context.server("history-write-none", {{"MCP_BG_STATE_DIR", "none"}}));

  auto one = [&](McpClient& client) {
    StartedJob job = execute(client, "true");
    WaitResult done = wait_for_exit(client, job.id, kWaitTimeout);
    check(done.reason == "exited" && done.status == "completed",
          "wait for job {} answered reason {}, status {} instead of exited, completed", job.id,
          done.reason, done.status);
    return done.received - job.sent;
  };
  Samples recorded;
  Samples unrecorded;
  const int warm_up = std::max(runs / 20, 3);
  for (int i = -warm_up; i < runs; ++i) {
    // Interleaved, so that both see the same state of the machine.
    auto with_history = one(with);
    auto without_history = one(without);
    if (i < 0) continue;
    recorded.add(with_history);
    unrecorded.add(without_history);
  }
  with.shut_down(std::chrono::seconds(30));
  without.shut_down(std::chrono::seconds(30));
  return {Figure{.scenario = "history-write",
                 .name = fmt::format("execute true + one wait, history kept, p50 of {}", runs),
                 .unit = "ms",
                 .measured = to_millis(recorded.median()),
                 .reference = to_millis(unrecorded.median()),
                 .reference_label = "the same with state_dir = none",
                 .target = Target::ratio_at_most(1.2)}};
}

namespace {

// A state directory whose database holds `rows` finished jobs, written in one transaction.
std::filesystem::path filled_state_dir(const ScenarioContext& context, std::string_view name,
                                       int rows) {
  auto dir = context.scratch_dir(name) / "state";
  auto prepared = store::prepare_state_dir(dir);
  check(prepared.has_value(), "{}", prepared ? "" : prepared.error().message);
  auto db = store::HistoryDb::open(dir / "history.sqlite3", store::BusyTimeout{5000});
  check(db.has_value(), "{}", db ? "" : db.error().message);
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto filled = db->in_transaction([&]() -> base::Result<void> {
    for (int i = 0; i < rows; ++i) {
      store::JobRecord job;
      job.id = fmt::format("00000000-0000-4000-8000-{:012d}", i);
      job.server_id = "bench-filler";
      job.client = "bench";
      job.session = "stdio";
      job.command = fmt::format("make test SHARD={}", i);
      job.cwd = "/src/project";
      job.status = i % 10 == 0 ? "failed" : "completed";
      job.exit_code = i % 10 == 0 ? 1 : 0;
      job.created = now - 2000;
      job.started = now - 1990;
      job.ended = now - 1000;
      job.output_bytes = 4096;
      if (auto saved = db->save(job); !saved) return saved;
    }
    return {};
  });
  check(filled.has_value(), "{}", filled ? "" : filled.error().message);
  return dir;
}

}  // namespace

std::vector<Figure> run_history_list(const ScenarioContext& context) {
  const int calls = std::max(context.scale().round_trips / 20, 100);
  constexpr int kBig = 100'000;
  constexpr int kSmall = 100;
  // Retention and max_finished keep every row: the server prunes the database when it opens it.
  auto settings = [](const std::filesystem::path& dir) {
    return ServerSettings{{"MCP_BG_STATE_DIR", dir.string()},
                          {"MCP_BG_MAX_FINISHED", "100000"},
                          {"MCP_BG_RETENTION", "24h"}};
  };
  McpClient big = McpClient::start(
      context.server("history-list-100000", settings(filled_state_dir(context, "big", kBig))));
  McpClient small = McpClient::start(
      context.server("history-list-100", settings(filled_state_dir(context, "small", kSmall))));

  auto page = [&](McpClient& client, const Json& arguments, size_t expected) {
    Reply reply = client.call_tool("list", arguments);
    check(reply.result["jobs"].size() == expected, "list answered {} jobs instead of {}",
          reply.result["jobs"].size(), expected);
    return reply.round_trip();
  };
  const Json first_page = Json::object();
  const Json middle_page{{"cursor", fmt::format("history:{}", kBig / 2)}};
  Samples big_first, big_middle, small_first;
  const int warm_up = std::max(calls / 20, 3);
  for (int i = -warm_up; i < calls; ++i) {
    auto a = page(big, first_page, 50);
    auto b = page(big, middle_page, 50);
    auto c = page(small, first_page, 50);
    if (i < 0) continue;
    big_first.add(a);
    big_middle.add(b);
    small_first.add(c);
  }
  big.shut_down(std::chrono::seconds(30));
  small.shut_down(std::chrono::seconds(30));

  auto figure = [&](std::string name, const Samples& samples) {
    return Figure{.scenario = "history-list",
                  .name = std::move(name),
                  .unit = "us",
                  .measured = to_micros(samples.median()),
                  .reference = to_micros(small_first.median()),
                  .reference_label = "first page of a 100-job history, p50",
                  .target = Target::ratio_at_most(1.5)};
  };
  return {
      figure(fmt::format("list, first page of 50 of 100,000 jobs, p50 of {}", calls), big_first),
      figure(fmt::format("list, page of 50 at job 50,000 of 100,000, p50 of {}", calls),
             big_middle)};
}

}  // namespace bench

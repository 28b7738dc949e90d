// agent-cost: what an agent pays, in bytes of tool results and in calls, to learn how a long test
// run ended and which line failed, using default arguments only. The run prints 10,000 lines
// (go test style) with its one failure in the middle and exits 1. Two ways an agent goes about
// it:
//  - execute with wait_seconds (the run ends within it), then
//  - execute, then wait (no arguments but the job id),
// and in both, while the failing line has not been shown, output from the last next_offset (the
// way a result says to read on), or from the start once that is the end of the output. The bytes
// are those of each result's text block, the JSON the client hands the model. With --before, the
// earlier build does the same in the same run.
#include <fstream>

#include "failure.h"
#include "scenario.h"

namespace bench {
namespace {

constexpr std::string_view kFailingLine = "math_test.go:42: add(1, 2) = 3, want 4";
constexpr int kMostCalls = 20;

std::filesystem::path write_test_run(const ScenarioContext& context) {
  const std::filesystem::path script = context.scratch_dir("agent-cost") / "run-tests.sh";
  std::ofstream out(script);
  out << "seq -f '=== RUN   TestCase%04g' 1 4999\n"
         "echo '=== RUN   TestAdd'\n"
      << "echo '    " << kFailingLine << "'\n"
      << "echo '--- FAIL: TestAdd (0.00s)'\n"
         "seq -f '=== RUN   TestCase%04g' 5001 9996\n"
         "echo 'FAIL'\n"
         "echo 'exit status 1'\n"
         "printf 'FAIL\\texample.com/math\\t0.412s\\n'\n"
         "exit 1\n";
  check(out.good(), "writing {}", script.string());
  return script;
}

struct Cost {
  uint64_t bytes = 0;
  int calls = 0;
};

enum class Approach { kExecuteWaiting, kExecuteThenWait };

// One agent's calls until a result has shown the failing line and the exit status.
Cost learn_the_failure(const ServerLaunch& launch, const std::string& command, Approach approach) {
  McpClient client = McpClient::start(launch);
  Cost cost;
  bool seen_line = false;
  bool seen_exit = false;
  // structuredContent, which the text block holds as compact JSON.
  auto take = [&](const Json& result) {
    ++cost.calls;
    cost.bytes += result.dump().size();
    seen_line = seen_line || result.value("output", "").find(kFailingLine) != std::string::npos;
    seen_exit = seen_exit || result.value("exit_code", Json()) == 1;
  };
  Json execute_arguments{{"command", command}};
  if (approach == Approach::kExecuteWaiting) execute_arguments["wait_seconds"] = 30;
  Json last = client.call_tool("execute", execute_arguments, std::chrono::seconds(40)).result;
  take(last);
  const std::string job_id = last.at("job_id").get<std::string>();
  if (approach == Approach::kExecuteThenWait) {
    last = client.call_tool("wait", Json{{"job_id", job_id}}, std::chrono::seconds(40)).result;
    take(last);
  }
  // Read on from next_offset; at the end of the output with the line still unseen, read from
  // the start (output's default offset), as an agent would.
  uint64_t offset = last.value<uint64_t>("next_offset", 0);
  bool from_start = false;
  while (!(seen_line && seen_exit)) {
    check(cost.calls < kMostCalls, "the failing line was not shown in {} calls", kMostCalls);
    Json arguments{{"job_id", job_id}};
    if (offset > 0) arguments["offset"] = offset;
    Json page = client.call_tool("output", arguments).result;
    take(page);
    const auto next = page.value<uint64_t>("next_offset", 0);
    if (next <= offset) {
      check(!from_start, "output from {} did not move on: {}", offset, page.dump().substr(0, 300));
      from_start = true;
      offset = 0;
    } else {
      offset = next;
    }
  }
  client.shut_down(std::chrono::seconds(10));
  return cost;
}

}  // namespace

std::vector<Figure> run_agent_cost(const ScenarioContext& context) {
  const std::string command = "sh " + write_test_run(context).string();
  std::vector<Figure> figures;
  for (auto [approach, label] : {std::pair{Approach::kExecuteWaiting, "execute(wait_seconds)"},
                                 std::pair{Approach::kExecuteThenWait, "execute, wait"}}) {
    const Cost now = learn_the_failure(context.server("agent-cost"), command, approach);
    std::optional<Cost> before;
    if (auto launch = context.before_server("agent-cost")) {
      before = learn_the_failure(*launch, command, approach);
    }
    const std::string reference_label = before ? "--before build, same calls" : "";
    figures.push_back(
        Figure{.scenario = "agent-cost",
               .name = fmt::format("{} then output pages: bytes to the failing line", label),
               .unit = "B",
               .measured = static_cast<double>(now.bytes),
               .reference = before ? std::optional<double>(static_cast<double>(before->bytes))
                                   : std::nullopt,
               .reference_label = reference_label,
               .target = Target::at_most(4096)});
    figures.push_back(
        Figure{.scenario = "agent-cost",
               .name = fmt::format("{} then output pages: calls to the failing line", label),
               .unit = "",
               .measured = static_cast<double>(now.calls),
               .reference = before ? std::optional<double>(before->calls) : std::nullopt,
               .reference_label = reference_label,
               .target = Target::at_most(2)});
  }
  return figures;
}

}  // namespace bench

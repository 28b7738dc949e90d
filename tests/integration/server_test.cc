// The real binary over raw pipes: framing, malformed input, shutdown and exit codes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "helpers/process_probe.h"
#include "helpers/scratch_dir.h"
#include "integration/server_process.h"

namespace test {
namespace {

using namespace std::chrono_literals;

// Waits, with a deadline, for a condition about the outside world (another process's state).
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);  // re-check interval under the deadline
  }
  return true;
}

TEST(Server, AnswersMalformedInputAndKeepsServing) {
  ServerProcess server;
  server.send_line("{this is not json");
  auto parse_error = server.next();
  ASSERT_TRUE(parse_error);
  EXPECT_EQ((*parse_error)["error"]["code"], -32700);
  EXPECT_TRUE((*parse_error)["id"].is_null());
  server.send_line(R"({"jsonrpc":"2.0","id":1})");
  EXPECT_EQ((*server.next())["error"]["code"], -32600);
  server.initialize();
  EXPECT_EQ(server.request("ping")["result"], Json::object());
}

TEST(Server, RejectsAnOversizedMessageAndKeepsServing) {
  ServerProcess server({"--max-message-size", "1KB"});
  server.send_line(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":")" +
                   std::string(5000, 'x') + "\"}}");
  auto rejected = server.next();
  ASSERT_TRUE(rejected);
  EXPECT_EQ((*rejected)["error"]["code"], -32600);
  EXPECT_NE((*rejected)["error"]["message"].get<std::string>().find("1024"), std::string::npos);
  EXPECT_EQ(server.request("ping")["result"], Json::object());
}

TEST(Server, WritesOnlyProtocolMessagesToStdout) {
  ServerProcess server({}, {{"MCP_BG_LOG_LEVEL", "debug"}});
  server.initialize();
  auto job = server.call("execute", Json{{"command", "echo to-the-job-log"}});
  ASSERT_TRUE(job.contains("job_id"));
  ASSERT_TRUE(eventually([&] {
    return server.call("status", {{"job_id", job["job_id"]}})["status"] == "completed";
  }));
  server.close_stdin();
  // Every stdout line parses as JSON-RPC (next() would throw otherwise); logs went to stderr.
  while (auto message = server.next(2s)) EXPECT_EQ((*message)["jsonrpc"], "2.0");
  EXPECT_NE(server.stderr_text().find("started"), std::string::npos);
  auto status = server.wait_exit();
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status));
}

TEST(Server, ClosingStdinStopsEveryJobAndExitsZero) {
  test::ScratchDir scratch("mcpbg-int");
  std::string dir = scratch.path().string();
  ServerProcess server({"--shutdown-grace", "300ms"});
  server.initialize();
  auto stubborn = server.call("execute", Json{{"argv", {TEST_CHILD_PATH, "ignore-term"}}});
  auto parent =
      server.call("execute", Json{{"argv", {TEST_CHILD_PATH, "grandchild", dir + "/gc.pid"}}});
  pid_t grandchild = 0;
  ASSERT_TRUE(eventually([&] { return (grandchild = pid_in_file(dir + "/gc.pid")) > 0; }));
  ASSERT_TRUE(eventually([&] {
    return server.call("status", {{"job_id", stubborn["job_id"]}})["output_bytes"] == 6;
  }));
  server.close_stdin();
  auto status = server.wait_exit();
  ASSERT_TRUE(status) << "the server did not exit after stdin closed";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_TRUE(process_gone(stubborn["pid"].get<pid_t>()));
  EXPECT_TRUE(process_gone(parent["pid"].get<pid_t>()));
  EXPECT_TRUE(eventually([&] { return process_gone(grandchild); }));
}

TEST(Server, SigtermAndSigintStopJobsAndExitZero) {
  for (int sig : {SIGTERM, SIGINT}) {
    ServerProcess server;
    server.initialize();
    auto job = server.call("execute", Json{{"command", "sleep 1000"}});
    ::kill(server.pid(), sig);
    auto status = server.wait_exit();
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 0);
    EXPECT_TRUE(eventually([&] { return process_gone(job["pid"].get<pid_t>()); }));
  }
}

TEST(Server, AnInvalidSettingStopsStartUpWithExitTwo) {
  ServerProcess server({}, {{"MCP_BG_MAX_OUTPUT_SIZE", "lots"}});
  auto status = server.wait_exit();
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  std::string message = server.stderr_text();
  EXPECT_NE(message.find("MCP_BG_MAX_OUTPUT_SIZE"), std::string::npos) << message;
  EXPECT_NE(message.find("lots"), std::string::npos) << message;
}

TEST(Server, ResponsesMayArriveOutOfOrder) {
  ServerProcess server;
  server.initialize();
  auto job = server.call("execute", Json{{"argv", {"cat"}}});
  // A slow interact does not hold up a status call sent after it.
  server.send(Json{
      {"jsonrpc", "2.0"},
      {"id", "slow"},
      {"method", "tools/call"},
      {"params",
       {{"name", "interact"},
        {"arguments",
         {{"job_id", job["job_id"]}, {"input", ""}, {"newline", false}, {"wait_ms", 3000}}}}}});
  server.send(Json{{"jsonrpc", "2.0"},
                   {"id", "fast"},
                   {"method", "tools/call"},
                   {"params", {{"name", "list"}, {"arguments", Json::object()}}}});
  auto first = server.next();
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["id"], "fast");
  auto slow = server.response("slow");
  ASSERT_TRUE(slow);
  EXPECT_EQ((*slow)["result"]["structuredContent"]["output"], "");
}

TEST(Server, ExitsWhenTheClientClosesStdinAndNoLongerReads) {
  ServerProcess server;
  // More responses than the stdout pipe holds, none of them read.
  std::string padding(1000, 'p');
  for (int i = 0; i < 2000; ++i) {
    server.send(Json{{"jsonrpc", "2.0"}, {"id", padding + std::to_string(i)}, {"method", "ping"}});
  }
  server.close_stdin();
  auto status = server.wait_exit(10s);
  ASSERT_TRUE(status) << "the server waited for a client that stopped reading";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST(Server, NoJobOutlivesAServerKilledWithSigkill) {
  test::ScratchDir scratch("mcpbg-int");
  std::string dir = scratch.path().string();
  ServerProcess server;
  server.initialize();
  auto stubborn = server.call("execute", Json{{"argv", {TEST_CHILD_PATH, "ignore-term"}}});
  auto parent =
      server.call("execute", Json{{"argv", {TEST_CHILD_PATH, "grandchild", dir + "/gc.pid"}}});
  auto shell = server.call("execute", Json{{"command", "sleep 1000 & sleep 1000; wait"}});
  pid_t grandchild = 0;
  ASSERT_TRUE(eventually([&] { return (grandchild = pid_in_file(dir + "/gc.pid")) > 0; }));
  ASSERT_TRUE(eventually([&] {
    return server.call("status", {{"job_id", stubborn["job_id"]}})["output_bytes"] == 6;
  }));
  ::kill(server.pid(), SIGKILL);  // no chance to shut down
  ASSERT_TRUE(server.wait_exit());
  // The watchdog TERMs every group, and KILLs what ignores TERM a second later.
  auto started = std::chrono::steady_clock::now();
  for (pid_t pid : {stubborn["pid"].get<pid_t>(), parent["pid"].get<pid_t>(), grandchild,
                    shell["pid"].get<pid_t>()}) {
    EXPECT_TRUE(eventually([&] { return process_gone(pid); }, 3s)) << "pid " << pid << " survived";
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST(Server, JobsDoNotInheritFdsTheServerInherited) {
  // Opened without O_CLOEXEC, so the server inherits it as a stray fd, as from a careless parent.
  int stray = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(stray, 3);
  ServerProcess server;
  ::close(stray);
  server.initialize();
  auto job = server.call("execute", Json{{"argv", {"/bin/ls", "/proc/self/fd"}}});
  Json tail;
  ASSERT_TRUE(eventually([&] {
    tail = server.call("tail", {{"job_id", job["job_id"]}});
    return tail["status"] == "completed";
  }));
  // 0, 1, 2, and the directory ls itself opened: nothing else.
  EXPECT_EQ(tail["output"], "0\n1\n2\n3\n");
}

}  // namespace
}  // namespace test

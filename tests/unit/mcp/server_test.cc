// The protocol engine driven directly: messages in, messages out, real jobs underneath.
#include "mcp/server.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "helpers/run_until.h"

namespace mcp {
namespace {

using namespace std::chrono_literals;

class ServerTest : public ::testing::Test {
 protected:
  ServerTest()
      : jobs_(io_.get_executor(), jobs::EngineSettings{.working_dir = "/tmp"}),
        server_(io_.get_executor(), jobs_, ToolLimits{}, "9.9.9", [this](mcp::Outgoing message) {
          sent_.push_back(Json::parse(mcp::serialize(message.message)));
        }) {}

  ~ServerTest() override {
    for (const auto& job : jobs_.jobs_newest_first()) {
      if (job->running()) job->kill(SIGKILL, 0ms);
    }
    test::run_until(io_, [&] { return jobs_.running_count() == 0; });
  }

  // Sends one message and returns the response with that id (driving the loop until it comes).
  Json request(const Json& message) {
    server_.handle(mcp::decode(message.dump()));
    Json id = message["id"];
    Json found;
    test::run_until(io_, [&] {
      for (const auto& m : sent_) {
        if (m.contains("id") && m["id"] == id) found = m;
      }
      return !found.is_null();
    });
    return found;
  }
  Json call(const std::string& tool, const Json& arguments, Json meta = nullptr) {
    Json params{{"name", tool}, {"arguments", arguments}};
    if (!meta.is_null()) params["_meta"] = meta;
    return request(
        Json{{"jsonrpc", "2.0"}, {"id", ++next_id_}, {"method", "tools/call"}, {"params", params}});
  }
  Json last() { return sent_.back(); }

  boost::asio::io_context io_;
  jobs::JobManager jobs_;
  McpServer server_;
  std::vector<Json> sent_;
  int next_id_ = 100;
};

TEST_F(ServerTest, NegotiatesTheLegacyVersion) {
  auto response = request(Json::parse(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"));
  EXPECT_EQ(response["result"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ(response["result"]["serverInfo"]["version"], "9.9.9");
  EXPECT_TRUE(response["result"]["capabilities"].contains("tools"));
  response = request(Json::parse(
      R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2024-01-01","capabilities":{}}})"));
  EXPECT_EQ(response["result"]["protocolVersion"], "2025-11-25");
  EXPECT_EQ(request(Json::parse(R"({"jsonrpc":"2.0","id":3,"method":"ping"})"))["result"],
            Json::object());
}

TEST_F(ServerTest, ServesTheModernEraWithoutAHandshake) {
  Json meta{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
            {"io.modelcontextprotocol/clientCapabilities", Json::object()}};
  auto discover = request(Json{
      {"jsonrpc", "2.0"}, {"id", 1}, {"method", "server/discover"}, {"params", {{"_meta", meta}}}});
  EXPECT_EQ(discover["result"]["resultType"], "complete");
  EXPECT_EQ(discover["result"]["supportedVersions"][0], "2026-07-28");
  EXPECT_EQ(discover["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "mcp-background-job");
  auto list = request(
      Json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}, {"params", {{"_meta", meta}}}});
  EXPECT_EQ(list["result"]["resultType"], "complete");
  EXPECT_EQ(list["result"]["cacheScope"], "public");
  EXPECT_EQ(list["result"]["tools"].size(), 9u);
  auto result = call("list", Json::object(), meta);
  EXPECT_EQ(result["result"]["resultType"], "complete");

  Json old_meta{{"io.modelcontextprotocol/protocolVersion", "2030-01-01"},
                {"io.modelcontextprotocol/clientCapabilities", Json::object()}};
  auto unsupported = request(Json{
      {"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/list"}, {"params", {{"_meta", old_meta}}}});
  EXPECT_EQ(unsupported["error"]["code"], -32022);
  EXPECT_EQ(unsupported["error"]["data"]["requested"], "2030-01-01");
  EXPECT_EQ(unsupported["error"]["data"]["supported"][0], "2026-07-28");
  Json no_caps{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"}};
  auto missing = request(Json{
      {"jsonrpc", "2.0"}, {"id", 4}, {"method", "tools/list"}, {"params", {{"_meta", no_caps}}}});
  EXPECT_EQ(missing["error"]["code"], -32602);
  auto ping = request(
      Json{{"jsonrpc", "2.0"}, {"id", 5}, {"method", "ping"}, {"params", {{"_meta", meta}}}});
  EXPECT_EQ(ping["error"]["code"], -32601);  // ping is gone in 2026-07-28
}

// What the official conformance suite (server-stateless, SEP-2575) found: server/discover with the
// version missing from _meta was answered as if it were fine, and a modern initialize started a
// legacy handshake.
TEST_F(ServerTest, RejectsModernRequestsThatLackTheirVersion) {
  auto bare = request(Json{
      {"jsonrpc", "2.0"}, {"id", 101}, {"method", "server/discover"}, {"params", Json::object()}});
  EXPECT_EQ(bare["error"]["code"], -32602);
  EXPECT_NE(
      bare["error"]["message"].get<std::string>().find("io.modelcontextprotocol/protocolVersion"),
      std::string::npos);
  Json no_version{{"io.modelcontextprotocol/clientInfo", {{"name", "t"}, {"version", "1"}}},
                  {"io.modelcontextprotocol/clientCapabilities", Json::object()}};
  auto discover = request(Json{{"jsonrpc", "2.0"},
                               {"id", 102},
                               {"method", "server/discover"},
                               {"params", {{"_meta", no_version}}}});
  EXPECT_EQ(discover["error"]["code"], -32602);
  EXPECT_FALSE(discover.contains("result"));
  auto list = request(Json{{"jsonrpc", "2.0"},
                           {"id", 103},
                           {"method", "tools/list"},
                           {"params", {{"_meta", no_version}}}});
  EXPECT_EQ(list["error"]["code"], -32602);

  Json meta{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
            {"io.modelcontextprotocol/clientCapabilities", Json::object()}};
  auto init = request(Json{{"jsonrpc", "2.0"},
                           {"id", 104},
                           {"method", "initialize"},
                           {"params", {{"protocolVersion", "2025-11-25"}, {"_meta", meta}}}});
  EXPECT_EQ(init["error"]["code"], -32601);
  EXPECT_NE(init["error"]["message"].get<std::string>().find("server/discover"), std::string::npos);

  // A legacy request whose _meta holds only legacy keys (a progress token) is still legacy.
  auto legacy = request(Json{{"jsonrpc", "2.0"},
                             {"id", 105},
                             {"method", "tools/list"},
                             {"params", {{"_meta", {{"progressToken", 7}}}}}});
  EXPECT_TRUE(legacy.contains("result"));
  EXPECT_FALSE(legacy["result"].contains("resultType"));
}

TEST_F(ServerTest, AnswersMalformedMessagesWithTheRightErrors) {
  server_.handle(mcp::decode("{not json"));
  EXPECT_EQ(last()["error"]["code"], -32700);
  EXPECT_TRUE(last()["id"].is_null());
  server_.handle(mcp::decode(R"({"id":1,"method":"ping"})"));  // no jsonrpc
  EXPECT_EQ(last()["error"]["code"], -32600);
  EXPECT_EQ(last()["id"], 1);
  server_.handle(mcp::decode(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])"));
  EXPECT_EQ(last()["error"]["code"], -32600);
  server_.handle(mcp::decode(R"("just a string")"));
  EXPECT_EQ(last()["error"]["code"], -32600);
  server_.handle(mcp::decode(R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})"));
  EXPECT_EQ(last()["error"]["code"], -32600);
  server_.handle(mcp::decode(R"({"jsonrpc":"2.0","id":9,"method":"no/such"})"));
  EXPECT_EQ(last()["error"]["code"], -32601);
  size_t before = sent_.size();
  server_.handle(mcp::decode(R"({"jsonrpc":"2.0","method":"notifications/whatever"})"));
  server_.handle(mcp::decode(R"({"jsonrpc":"2.0","id":5,"result":{}})"));  // a stray response
  EXPECT_EQ(sent_.size(), before);
  server_.reject_oversized(5000000, 4194304);
  EXPECT_EQ(last()["error"]["code"], -32600);
}

// What fuzz_mcp_message found (fuzz/corpus/fuzz_mcp_message/ keeps the inputs): each one ended
// the server (an uncaught exception, a stack overflow) or was undefined behaviour.
TEST_F(ServerTest, SurvivesWhatTheFuzzerFound) {
  server_.handle(mcp::decode(R"({"jsonrpc":2,"id":1,"method":"ping"})"));
  EXPECT_EQ(last()["error"]["code"], -32600);
  EXPECT_EQ(last()["id"], 1);
  auto init = request(Json::parse(
      R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":5,"clientInfo":{"name":[],"version":{}}}})"));
  EXPECT_EQ(init["result"]["protocolVersion"], "2025-11-25");
  // 800 KB, under max_message_size: Json's recursive copy overflowed the stack.
  std::string deep(400000, '[');
  deep.append(400000, ']');
  server_.handle(
      mcp::decode(R"({"jsonrpc":"2.0","id":3,"method":"ping","params":{"x":)" + deep + "}}"));
  EXPECT_EQ(last()["error"]["code"], -32600);
  EXPECT_EQ(last()["id"], 3);
  size_t before = sent_.size();
  server_.handle(
      mcp::decode(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":)" +
                  deep + "}}"));
  EXPECT_EQ(sent_.size(), before);
  // 1e300 cast to int64_t: an integer check, a time limit, a wait.
  auto huge_bytes = call("output", Json::parse(R"({"job_id":"x","max_bytes":1e300})"));
  EXPECT_EQ(huge_bytes["result"]["isError"], true);
  auto huge_wait = call("wait", Json::parse(R"({"job_id":"x","timeout_seconds":1e300})"));
  EXPECT_EQ(huge_wait["result"]["isError"], true);
  auto huge_timeout = call("execute", Json::parse(R"({"argv":["true"],"timeout_seconds":1e300})"));
  EXPECT_FALSE(huge_timeout["result"].contains("isError")) << huge_timeout.dump();
}

TEST_F(ServerTest, UnknownToolIsAProtocolErrorAndBadArgumentsAToolError) {
  auto unknown = call("nope", Json::object());
  EXPECT_EQ(unknown["error"]["code"], -32602);
  EXPECT_NE(unknown["error"]["message"].get<std::string>().find("execute"), std::string::npos);
  auto bad = call("tail", Json{{"job_id", "x"}, {"lines", 0}});
  EXPECT_EQ(bad["result"]["isError"], true);
  EXPECT_EQ(bad["result"]["content"][0]["text"], "argument 'lines' must be at least 1 (got 0)");
  auto malformed_id = call("status", Json{{"job_id", "123"}});
  EXPECT_NE(malformed_id["result"]["content"][0]["text"].get<std::string>().find("not a job id"),
            std::string::npos);
  auto unknown_id = call("status", Json{{"job_id", "3f0c9a52-6a1e-4b9e-9d55-2f1d8f3c7e10"}});
  EXPECT_NE(unknown_id["result"]["content"][0]["text"].get<std::string>().find("no such job"),
            std::string::npos);
  auto both = call("execute", Json{{"command", "true"}, {"argv", {"true"}}});
  EXPECT_EQ(both["result"]["isError"], true);
  auto neither = call("execute", Json::object());
  EXPECT_NE(neither["result"]["content"][0]["text"].get<std::string>().find("exactly one"),
            std::string::npos);
}

TEST_F(ServerTest, ToolResultsCarryStructuredContentAndTheSameJsonAsText) {
  auto started = call("execute", Json{{"command", "printf 'a\\nb\\n'"}});
  const Json& job = started["result"]["structuredContent"];
  EXPECT_EQ(Json::parse(started["result"]["content"][0]["text"].get<std::string>()), job);
  std::string id = job["job_id"];
  ASSERT_TRUE(test::run_until(io_, [&] { return jobs_.running_count() == 0; }));
  auto tail = call("tail", Json{{"job_id", id}, {"lines", 1}});
  EXPECT_EQ(tail["result"]["structuredContent"]["output"], "b\n");
  EXPECT_EQ(tail["result"]["structuredContent"]["status"], "completed");
  auto output = call("output", Json{{"job_id", id}, {"offset", 99}});
  EXPECT_EQ(output["result"]["isError"], true);  // past the end
}

TEST_F(ServerTest, CancelledCallsGetNoResponse) {
  auto started = call("execute", Json{{"argv", {"cat"}}});
  std::string id = started["result"]["structuredContent"]["job_id"];
  server_.handle(mcp::decode(Json{
      {"jsonrpc", "2.0"},
      {"id", "slow"},
      {"method", "tools/call"},
      {"params",
       {{"name", "interact"},
        {"arguments", {{"job_id", id}, {"input", ""}, {"newline", false}, {"wait_ms", 30000}}}}}}
                                 .dump()));
  io_.poll();
  size_t before = sent_.size();
  server_.handle(mcp::decode(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow"}})"));
  // Were the wait still going, the job's end would make interact answer: end the job and
  // check that no answer ever comes for the cancelled request.
  auto killed = call("kill", Json{{"job_id", id}, {"signal", "KILL"}});
  EXPECT_EQ(killed["result"]["structuredContent"]["result"], "signalled");
  ASSERT_TRUE(test::run_until(io_, [&] { return jobs_.running_count() == 0; }));
  io_.run_for(300ms);
  for (size_t i = before; i < sent_.size(); ++i) EXPECT_NE(sent_[i].value("id", Json()), "slow");
}

}  // namespace
}  // namespace mcp

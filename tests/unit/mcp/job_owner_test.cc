// Who started a job (client and session), `list {mine: true}`, and the tool calls a server
// counts: two servers (two sessions) over one engine, with real jobs.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <csignal>
#include <sstream>

#include "helpers/run_until.h"
#include "mcp/server.h"
#include "mcp/tools/common.h"

namespace mcp {
namespace {

using namespace std::chrono_literals;

const std::string kSessionA = "aaaaaaaa11111111aaaaaaaa11111111";
const std::string kSessionB = "bbbbbbbb22222222bbbbbbbb22222222";

TEST(StartedBy, MatchesTheSessionOrElseTheClientOfASessionlessJob) {
  using jobs::JobOwner;
  EXPECT_TRUE(tools::started_by({"alpha", "s1"}, {"alpha", "s1"}));
  EXPECT_TRUE(tools::started_by({"alpha", "s1"}, {"renamed", "s1"}));  // the session decides
  EXPECT_FALSE(tools::started_by({"alpha", "s1"}, {"alpha", "s2"}));
  EXPECT_FALSE(tools::started_by({"alpha", ""}, {"alpha", "s1"}));
  // A caller without a session: jobs started without one, by a client of its name.
  EXPECT_TRUE(tools::started_by({"alpha", ""}, {"alpha", ""}));
  EXPECT_FALSE(tools::started_by({"alpha", "s1"}, {"alpha", ""}));
  EXPECT_FALSE(tools::started_by({"beta", ""}, {"alpha", ""}));
  // Neither: owns nothing, not even the jobs of other anonymous callers.
  EXPECT_FALSE(tools::started_by({"", ""}, {"", ""}));
}

TEST(ShownSession, ShowsOnlyAPrefixOfAnHttpSession) {
  EXPECT_EQ(tools::shown_session(kSessionA), "aaaaaaaa");
  EXPECT_EQ(tools::shown_session("stdio"), "stdio");
  EXPECT_TRUE(tools::shown_session("").is_null());
}

// The value of one sample ("name{labels}") in a text exposition; -1 when absent.
double sample(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

class JobOwnerTest : public ::testing::Test {
 protected:
  struct Client {
    std::unique_ptr<McpServer> server;
    std::vector<Json> sent;
  };

  JobOwnerTest() : jobs_(io_.get_executor(), settings()), metrics_(jobs_) {
    spdlog::set_level(spdlog::level::warn);
    a_.server = make(a_, kSessionA);
    b_.server = make(b_, kSessionB);
    stateless_.server = make(stateless_, "");
  }
  ~JobOwnerTest() override {
    for (const auto& job : jobs_.jobs_newest_first()) {
      if (job->running()) job->kill(SIGKILL, 0ms);
    }
    test::run_until(io_, [&] { return jobs_.running_count() == 0; });
  }
  static jobs::EngineSettings settings() {
    jobs::EngineSettings settings{.working_dir = "/tmp"};
    auto policy =
        policy::CommandPolicy::create({.denied_commands = {"forbidden"}}, "/tmp", "/usr/bin:/bin");
    EXPECT_TRUE(policy.has_value());
    settings.policy = std::make_shared<policy::CommandPolicy>(std::move(*policy));
    return settings;
  }
  std::unique_ptr<McpServer> make(Client& client, const std::string& session) {
    return std::make_unique<McpServer>(
        io_.get_executor(), jobs_, ToolLimits{}, "9.9.9",
        [&client](mcp::Outgoing message) {
          client.sent.push_back(Json::parse(mcp::serialize(message.message)));
        },
        Safeguards{}, Placement{.session_id = session, .metrics = &metrics_});
  }

  Json request(Client& client, const Json& message) {
    client.server->handle(mcp::decode(message.dump()));
    Json found;
    EXPECT_TRUE(test::run_until(io_, [&] {
      for (const auto& m : client.sent) {
        if (m.contains("id") && m["id"] == message["id"]) found = m;
      }
      return !found.is_null();
    }));
    return found;
  }
  void initialize(Client& client, const std::string& name) {
    request(client, Json{{"jsonrpc", "2.0"},
                         {"id", "init"},
                         {"method", "initialize"},
                         {"params",
                          {{"protocolVersion", "2025-11-25"},
                           {"capabilities", Json::object()},
                           {"clientInfo", {{"name", name}, {"version", "1"}}}}}});
  }
  Json call(Client& client, const std::string& tool, const Json& arguments, Json meta = nullptr) {
    Json params{{"name", tool}, {"arguments", arguments}};
    if (!meta.is_null()) params["_meta"] = meta;
    return request(client, Json{{"jsonrpc", "2.0"},
                                {"id", ++next_id_},
                                {"method", "tools/call"},
                                {"params", params}})["result"];
  }
  static Json modern_meta(std::optional<std::string> client) {
    Json meta{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
              {"io.modelcontextprotocol/clientCapabilities", Json::object()}};
    if (client) meta["io.modelcontextprotocol/clientInfo"] = {{"name", *client}, {"version", "1"}};
    return meta;
  }
  static std::vector<std::string> ids(const Json& list_result) {
    std::vector<std::string> out;
    for (const auto& row : list_result["structuredContent"]["jobs"]) out.push_back(row["job_id"]);
    return out;
  }

  boost::asio::io_context io_;
  jobs::JobManager jobs_;
  observe::Metrics metrics_;
  Client a_, b_, stateless_;
  int next_id_ = 0;
};

TEST_F(JobOwnerTest, EverySessionSeesEveryJobWithItsOwnerAndMineFilters) {
  initialize(a_, "alpha");
  initialize(b_, "beta");
  std::string job_a = call(a_, "execute", {{"command", "sleep 30"}})["structuredContent"]["job_id"];
  std::string job_b = call(b_, "execute", {{"command", "sleep 30"}})["structuredContent"]["job_id"];
  std::string job_modern = call(stateless_, "execute", {{"command", "sleep 30"}},
                                modern_meta("gamma"))["structuredContent"]["job_id"];

  for (Client* client : {&a_, &b_}) {
    Json all = call(*client, "list", Json::object());
    EXPECT_EQ(ids(all), (std::vector<std::string>{job_modern, job_b, job_a}));
    auto rows = all["structuredContent"]["jobs"];
    EXPECT_EQ(rows[2]["client"], "alpha");
    EXPECT_EQ(rows[2]["session"], "aaaaaaaa");
    EXPECT_EQ(rows[1]["client"], "beta");
    EXPECT_EQ(rows[1]["session"], "bbbbbbbb");
    EXPECT_EQ(rows[0]["client"], "gamma");
    EXPECT_TRUE(rows[0]["session"].is_null());
  }
  EXPECT_EQ(ids(call(a_, "list", {{"mine", true}})), std::vector<std::string>{job_a});
  EXPECT_EQ(ids(call(b_, "list", {{"mine", true}})), std::vector<std::string>{job_b});
  EXPECT_EQ(ids(call(b_, "list", {{"mine", true}, {"status", "completed"}})),
            std::vector<std::string>{});
  auto status = call(b_, "status", {{"job_id", job_a}})["structuredContent"];
  EXPECT_EQ(status["client"], "alpha");
  EXPECT_EQ(status["session"], "aaaaaaaa");

  // Without a session, a caller is known by the client name in its _meta.
  EXPECT_EQ(ids(call(stateless_, "list", {{"mine", true}}, modern_meta("gamma"))),
            std::vector<std::string>{job_modern});
  EXPECT_EQ(ids(call(stateless_, "list", {{"mine", true}}, modern_meta("alpha"))),
            std::vector<std::string>{});
  auto anonymous = call(stateless_, "list", {{"mine", true}}, modern_meta(std::nullopt));
  EXPECT_EQ(anonymous["isError"], true);
  EXPECT_NE(anonymous["content"][0]["text"].get<std::string>().find("clientInfo"),
            std::string::npos);
  // Without `mine`, an anonymous caller still sees everything.
  EXPECT_EQ(ids(call(stateless_, "list", Json::object(), modern_meta(std::nullopt))).size(), 3u);
}

TEST_F(JobOwnerTest, CountsToolCallsByToolAndOutcome) {
  initialize(a_, "alpha");
  auto started = call(a_, "execute", {{"command", "cat"}});
  std::string id = started["structuredContent"]["job_id"];
  EXPECT_EQ(call(a_, "execute", {{"command", "forbidden thing"}})["isError"], true);
  EXPECT_EQ(call(a_, "status", {{"job_id", "not-an-id"}})["isError"], true);
  EXPECT_EQ(call(a_, "status", {{"job_id", id}, {"extra", 1}})["isError"], true);  // schema
  call(a_, "status", {{"job_id", id}});
  a_.server->handle(mcp::decode(
      Json{{"jsonrpc", "2.0"},
           {"id", "slow"},
           {"method", "tools/call"},
           {"params", {{"name", "wait"}, {"arguments", {{"job_id", id}, {"timeout_seconds", 30}}}}}}
          .dump()));
  io_.poll();
  a_.server->handle(mcp::decode(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow"}})"));
  ASSERT_TRUE(test::run_until(io_, [&] { return a_.server->calls_in_flight() == 0; }));

  std::string text = metrics_.render();
  EXPECT_EQ(sample(text, R"(mcp_bg_tool_calls_total{outcome="ok",tool="execute"})"), 1) << text;
  EXPECT_EQ(sample(text, R"(mcp_bg_tool_calls_total{outcome="denied",tool="execute"})"), 1);
  EXPECT_EQ(sample(text, R"(mcp_bg_tool_calls_total{outcome="error",tool="status"})"), 2);
  EXPECT_EQ(sample(text, R"(mcp_bg_tool_calls_total{outcome="ok",tool="status"})"), 1);
  EXPECT_EQ(sample(text, R"(mcp_bg_tool_calls_total{outcome="cancelled",tool="wait"})"), 1);
  EXPECT_EQ(sample(text, R"(mcp_bg_tool_call_duration_seconds_count{tool="status"})"), 3);
  EXPECT_EQ(sample(text, "mcp_bg_jobs_started_total"), 1);
  EXPECT_EQ(sample(text, "mcp_bg_jobs_running"), 1);
  // An unknown tool is a protocol error, never a series named by the client.
  auto unknown =
      request(a_, Json{{"jsonrpc", "2.0"},
                       {"id", "u"},
                       {"method", "tools/call"},
                       {"params", {{"name", "made-up"}, {"arguments", Json::object()}}}});
  EXPECT_EQ(unknown["error"]["code"], -32602);
  EXPECT_EQ(metrics_.render().find("made-up"), std::string::npos);
}

}  // namespace
}  // namespace mcp

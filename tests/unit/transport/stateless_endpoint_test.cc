// The 2026-07-28 endpoint routes one shared McpServer's messages back to the right HTTP request:
// real jobs underneath, exchanges inspected as a connection would drain them.
#include "transport/http/stateless_endpoint.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <csignal>

#include "helpers/run_until.h"

namespace http {
namespace {

using mcp::Json;
using namespace std::chrono_literals;

Json modern(Json id, const std::string& method, Json params = Json::object(), Json meta = {}) {
  params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                     {"io.modelcontextprotocol/clientCapabilities", Json::object()}};
  if (meta.is_object()) params["_meta"].update(meta);
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

class StatelessEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    jobs_ = std::make_unique<jobs::JobManager>(io_.get_executor(),
                                               jobs::EngineSettings{.working_dir = "/tmp"});
    endpoint_ = std::make_unique<StatelessEndpoint>(
        io_.get_executor(), [this](mcp::McpServer::Send send, const std::string& /*session_id*/) {
          return std::make_unique<mcp::McpServer>(io_.get_executor(), *jobs_, mcp::ToolLimits{},
                                                  "9.9.9", std::move(send));
        });
  }
  void TearDown() override {
    for (const auto& job : jobs_->jobs_newest_first()) {
      if (job->running()) job->kill(SIGKILL, 0ms);
    }
    test::run_until(io_, [&] { return jobs_->running_count() == 0; });
    endpoint_.reset();
    test::run_until(io_, [] { return true; });
    jobs_.reset();
  }

  // Submits and drives the loop until the answer; returns the parsed body.
  Json answer(Json message, unsigned* status = nullptr) {
    Submitted submitted = endpoint_->submit(mcp::decode(message.dump()), ClientAccepts::kJsonOnly);
    if (submitted.exchange) {
      EXPECT_TRUE(test::run_until(
          io_, [&] { return submitted.exchange->outcome() != Exchange::Outcome::kPending; }));
      submitted.status = submitted.exchange->status();
      submitted.body = submitted.exchange->body();
    }
    if (status != nullptr) *status = submitted.status;
    return Json::parse(submitted.body);
  }
  std::string start_job(const std::string& command) {
    Json started = answer(
        modern(1, "tools/call", {{"name", "execute"}, {"arguments", {{"command", command}}}}));
    return started["result"]["structuredContent"]["job_id"];
  }

  boost::asio::io_context io_;
  std::unique_ptr<jobs::JobManager> jobs_;
  std::unique_ptr<StatelessEndpoint> endpoint_;
};

TEST_F(StatelessEndpointTest, TheClientsIdComesBackAndErrorsCarryTheirHttpStatus) {
  unsigned status = 0;
  Json listed = answer(modern("abc", "tools/list"), &status);
  EXPECT_EQ(status, 200u);
  EXPECT_EQ(listed["id"], "abc");
  EXPECT_EQ(listed["result"]["resultType"], "complete");

  Json unknown = answer(modern(5, "prompts/list"), &status);
  EXPECT_EQ(status, 404u);
  EXPECT_EQ(unknown["id"], 5);
  EXPECT_EQ(unknown["error"]["code"], -32601);

  Json handshake = answer(modern(6, "initialize"), &status);
  EXPECT_EQ(status, 404u) << handshake.dump();

  Json bare{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "tools/list"}};
  Json refused = answer(bare, &status);
  EXPECT_EQ(status, 400u);
  EXPECT_EQ(refused["error"]["code"], -32602);
  EXPECT_EQ(refused["id"], 7);
}

TEST_F(StatelessEndpointTest, TwoRequestsWithOneIdEachGetTheirOwnAnswer) {
  std::string job = start_job("exec sleep 30");
  Json wait = modern(1, "tools/call",
                     {{"name", "wait"}, {"arguments", {{"job_id", job}, {"timeout_seconds", 30}}}});
  Submitted waiting = endpoint_->submit(mcp::decode(wait.dump()), ClientAccepts::kJsonOnly);
  ASSERT_TRUE(waiting.exchange);
  Json status =
      answer(modern(1, "tools/call", {{"name", "status"}, {"arguments", {{"job_id", job}}}}));
  EXPECT_EQ(status["id"], 1);
  EXPECT_EQ(status["result"]["structuredContent"]["status"], "running");
  EXPECT_EQ(waiting.exchange->outcome(), Exchange::Outcome::kPending);
  jobs_->find(job)->kill(SIGKILL, 0ms);
  ASSERT_TRUE(test::run_until(
      io_, [&] { return waiting.exchange->outcome() == Exchange::Outcome::kAnswered; }));
  Json waited = Json::parse(waiting.exchange->body());
  EXPECT_EQ(waited["id"], 1);
  EXPECT_EQ(waited["result"]["structuredContent"]["status"], "killed");
}

TEST_F(StatelessEndpointTest, ProgressGoesToItsStreamUnderTheClientsToken) {
  std::string job = start_job("exec sleep 30");
  Json wait = modern(2, "tools/call",
                     {{"name", "wait"}, {"arguments", {{"job_id", job}, {"timeout_seconds", 30}}}},
                     {{"progressToken", 42}});
  Submitted waiting = endpoint_->submit(mcp::decode(wait.dump()), ClientAccepts::kEventStream);
  ASSERT_TRUE(waiting.exchange);
  ASSERT_TRUE(waiting.exchange->streaming());
  ASSERT_TRUE(test::run_until(
      io_, [&] { return waiting.exchange->has_news(); }, 5s));
  auto events = waiting.exchange->take_events();
  ASSERT_FALSE(events.empty());
  Json progress = Json::parse(events.front());
  EXPECT_EQ(progress["method"], "notifications/progress");
  EXPECT_EQ(progress["params"]["progressToken"], 42);

  // The client leaving cancels the wait: the server answers nothing and forgets it.
  waiting.exchange->abandon();
  EXPECT_EQ(endpoint_->pending(), 0u);
  EXPECT_TRUE(test::run_until(io_, [&] { return endpoint_->idle(); }));
}

TEST_F(StatelessEndpointTest, ListenIsStampedWithTheClientsIdAndEndsWithAResultAtShutdown) {
  Json listen =
      modern("sub", "subscriptions/listen", {{"notifications", {{"resourcesListChanged", true}}}});
  Submitted without_stream =
      endpoint_->submit(mcp::decode(listen.dump()), ClientAccepts::kJsonOnly);
  EXPECT_EQ(without_stream.status, 400u);

  Submitted listening = endpoint_->submit(mcp::decode(listen.dump()), ClientAccepts::kEventStream);
  ASSERT_TRUE(listening.exchange);
  auto ack = listening.exchange->take_events();
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_EQ(Json::parse(ack.front())["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
            "sub");

  start_job("true");
  ASSERT_TRUE(test::run_until(
      io_, [&] { return listening.exchange->has_news(); }, 5s));
  Json changed = Json::parse(listening.exchange->take_events().front());
  EXPECT_EQ(changed["method"], "notifications/resources/list_changed");
  EXPECT_EQ(changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "sub");

  endpoint_->shut_down();
  ASSERT_EQ(listening.exchange->outcome(), Exchange::Outcome::kAnswered);
  Json final_result = Json::parse(listening.exchange->body());
  EXPECT_EQ(final_result["id"], "sub");
  EXPECT_EQ(final_result["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "sub");
  EXPECT_EQ(endpoint_->submit(mcp::decode(modern(9, "tools/list").dump()), ClientAccepts::kJsonOnly)
                .status,
            503u);
}

}  // namespace
}  // namespace http

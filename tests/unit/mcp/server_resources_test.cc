// Resources, subscriptions and logging through the protocol engine: messages in, messages and
// notifications out, real jobs underneath.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <csignal>

#include "helpers/run_until.h"
#include "mcp/server.h"

namespace mcp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kUnknownId = "3f0c9a52-6a1e-4b9e-9d55-2f1d8f3c7e10";

class ServerResourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    start(jobs::EngineSettings{.working_dir = "/tmp"}, ToolLimits{});
  }
  void TearDown() override { stop(); }

  void start(jobs::EngineSettings settings, ToolLimits limits) {
    stop();
    jobs_ = std::make_unique<jobs::JobManager>(io_.get_executor(), std::move(settings));
    server_ = std::make_unique<McpServer>(
        io_.get_executor(), *jobs_, limits, "9.9.9", [this](mcp::Outgoing message) {
          sent_.push_back(Json::parse(mcp::serialize(message.message)));
          sent_at_.push_back(Clock::now());
        });
    sent_.clear();
    sent_at_.clear();
  }
  void stop() {
    if (!jobs_) return;
    for (const auto& job : jobs_->jobs_newest_first()) {
      if (job->running()) job->kill(SIGKILL, 0ms);
    }
    test::run_until(io_, [&] { return jobs_->running_count() == 0; });
    server_.reset();
    jobs_.reset();
  }

  // Sends a request and drives the loop until its response arrives.
  Json request(const std::string& method, Json params = Json::object()) {
    int id = ++next_id_;
    server_->handle(mcp::decode(
        Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump()));
    Json found;
    EXPECT_TRUE(test::run_until(io_,
                                [&] {
                                  for (const auto& m : sent_) {
                                    if (m.contains("id") && m["id"] == id) found = m;
                                  }
                                  return !found.is_null();
                                }))
        << "no response to " << method;
    return found;
  }
  void initialize() {
    request("initialize", Json{{"protocolVersion", "2025-11-25"},
                               {"capabilities", Json::object()},
                               {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
    server_->handle(mcp::decode(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  }
  Json call(const std::string& tool, const Json& arguments) {
    return request("tools/call", Json{{"name", tool}, {"arguments", arguments}})["result"];
  }
  std::string execute(const Json& arguments) {
    Json result = call("execute", arguments);
    EXPECT_FALSE(result.value("isError", false)) << result.dump();
    return result["structuredContent"]["job_id"];
  }
  bool ended(const std::string& id) {
    auto job = jobs_->find(id);
    return job && !job->running() && !job->output_open();
  }
  void wait_for_end(const std::string& id) {
    ASSERT_TRUE(test::run_until(io_, [&] { return ended(id); })) << "job " << id << " never ended";
  }
  // The notifications with this method (and, if given, this uri) sent so far.
  std::vector<size_t> notifications(std::string_view method, std::string_view uri = "") {
    std::vector<size_t> found;
    for (size_t i = 0; i < sent_.size(); ++i) {
      const Json& m = sent_[i];
      if (m.contains("id") || m.value("method", "") != method) continue;
      if (!uri.empty() && m["params"].value("uri", "") != uri) continue;
      found.push_back(i);
    }
    return found;
  }
  std::vector<Json> log_messages() {
    std::vector<Json> out;
    for (size_t i : notifications("notifications/message")) out.push_back(sent_[i]["params"]);
    return out;
  }
  static Json modern_meta() {
    return Json{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                {"io.modelcontextprotocol/clientCapabilities", Json::object()}};
  }

  boost::asio::io_context io_;
  std::unique_ptr<jobs::JobManager> jobs_;
  std::unique_ptr<McpServer> server_;
  std::vector<Json> sent_;
  std::vector<Clock::time_point> sent_at_;
  int next_id_ = 0;
};

TEST_F(ServerResourcesTest, DeclaresResourcesAndLoggingInALegacySession) {
  auto init = request("initialize",
                      Json{{"protocolVersion", "2025-06-18"}, {"capabilities", Json::object()}});
  const Json& capabilities = init["result"]["capabilities"];
  EXPECT_EQ(capabilities["resources"], (Json{{"subscribe", true}, {"listChanged", true}}));
  EXPECT_EQ(capabilities["logging"], Json::object());
  // 2026-07-28 offers both through subscriptions/listen (resourceSubscriptions,
  // resourcesListChanged).
  auto discover = request("server/discover", Json{{"_meta", modern_meta()}});
  EXPECT_EQ(discover["result"]["capabilities"]["resources"],
            (Json{{"subscribe", true}, {"listChanged", true}}));
  EXPECT_FALSE(discover["result"]["capabilities"].contains("logging"));
}

TEST_F(ServerResourcesTest, ListsAndReadsBothResourcesOfARealJob) {
  initialize();
  std::string id = execute(Json{{"command", "printf 'one\\ntwo\\n'"}, {"label", "printer"}});
  std::string long_id = execute(Json{{"command", "true " + std::string(200, 'x')}});
  wait_for_end(id);
  wait_for_end(long_id);

  auto list = request("resources/list")["result"]["resources"];
  ASSERT_EQ(list.size(), 4u) << list.dump();
  // Newest job first; its name is the command, cut for display.
  EXPECT_EQ(list[0]["uri"], "job://" + long_id);
  EXPECT_LE(list[0]["name"].get<std::string>().size(), 80u);
  EXPECT_EQ(list[2]["uri"], "job://" + id);
  EXPECT_EQ(list[2]["name"], "printer");
  EXPECT_EQ(list[2]["mimeType"], "application/json");
  EXPECT_NE(list[2]["description"].get<std::string>().find("completed with exit 0"),
            std::string::npos);
  EXPECT_EQ(list[3]["uri"], "job://" + id + "/output");
  EXPECT_EQ(list[3]["mimeType"], "text/plain");
  EXPECT_NE(list[3]["description"].get<std::string>().find("8 bytes printed"), std::string::npos);

  auto status = request("resources/read", Json{{"uri", "job://" + id}})["result"]["contents"];
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0]["uri"], "job://" + id);
  EXPECT_EQ(status[0]["mimeType"], "application/json");
  // The same JSON as the status tool (the job has ended, so nothing in it moves).
  EXPECT_EQ(Json::parse(status[0]["text"].get<std::string>()),
            call("status", Json{{"job_id", id}})["structuredContent"]);

  auto output =
      request("resources/read", Json{{"uri", "job://" + id + "/output"}})["result"]["contents"];
  ASSERT_EQ(output.size(), 1u);
  EXPECT_EQ(output[0]["mimeType"], "text/plain");
  EXPECT_EQ(output[0]["text"], "one\ntwo\n");
}

TEST_F(ServerResourcesTest, TheOutputResourceIsBoundedByMaxReadBytes) {
  start(jobs::EngineSettings{.working_dir = "/tmp"}, ToolLimits{.max_read_bytes = 1024});
  initialize();
  std::string id = execute(Json{{"argv", {TEST_CHILD_PATH, "spew", "5000"}}});
  wait_for_end(id);
  std::string text = request(
      "resources/read", Json{{"uri", "job://" + id + "/output"}})["result"]["contents"][0]["text"];
  EXPECT_TRUE(text.starts_with("[... 3976 earlier bytes not shown")) << text.substr(0, 200);
  EXPECT_NE(text.find("last 1024 bytes (max_read_bytes)"), std::string::npos);
  EXPECT_EQ(text.substr(text.find('\n') + 1).size(), 1024u);
}

TEST_F(ServerResourcesTest, TemplatesDescribeBothUris) {
  auto templates = request("resources/templates/list")["result"]["resourceTemplates"];
  ASSERT_EQ(templates.size(), 2u);
  EXPECT_EQ(templates[0]["uriTemplate"], "job://{job_id}");
  EXPECT_EQ(templates[0]["mimeType"], "application/json");
  EXPECT_EQ(templates[1]["uriTemplate"], "job://{job_id}/output");
  EXPECT_EQ(templates[1]["mimeType"], "text/plain");
  for (const auto& t : templates) {
    EXPECT_FALSE(t["name"].get<std::string>().empty());
    EXPECT_FALSE(t["description"].get<std::string>().empty());
  }
}

TEST_F(ServerResourcesTest, BadUrisAndUnknownJobsAreResourceNotFound) {
  initialize();
  for (std::string uri :
       {std::string("job://nope"), std::string("file:///etc/passwd"),
        "job://" + std::string(kUnknownId), "job://" + std::string(kUnknownId) + "/output",
        "job://" + std::string(kUnknownId) + "/stdout"}) {
    for (std::string method : {"resources/read", "resources/subscribe"}) {
      auto error = request(method, Json{{"uri", uri}})["error"];
      EXPECT_EQ(error["code"], -32002) << method << " " << uri;
      EXPECT_EQ(error["data"]["uri"], uri);
      EXPECT_TRUE(error["message"].get<std::string>().starts_with("Resource not found"));
    }
  }
  EXPECT_NE(request("resources/read",
                    Json{{"uri", "job://" + std::string(kUnknownId)}})["error"]["message"]
                .get<std::string>()
                .find("no such job"),
            std::string::npos);
  EXPECT_EQ(request("resources/read")["error"]["code"], -32602);
  EXPECT_EQ(request("resources/read", Json{{"uri", 7}})["error"]["code"], -32602);
  EXPECT_EQ(request("resources/nope")["error"]["code"], -32601);
  // Unsubscribing from what was never subscribed is not an error.
  EXPECT_EQ(request("resources/unsubscribe", Json{{"uri", "job://nope"}})["result"],
            Json::object());
}

TEST_F(ServerResourcesTest, ModernResultsCarryCachingAndLegacyOnlyMethodsAreGone) {
  std::string id = execute(Json{{"command", "echo hi"}});
  wait_for_end(id);
  Json meta{{"_meta", modern_meta()}};
  auto list = request("resources/list", meta)["result"];
  EXPECT_EQ(list["resultType"], "complete");
  EXPECT_EQ(list["ttlMs"], 0);
  EXPECT_EQ(list["cacheScope"], "private");
  EXPECT_EQ(list["resources"].size(), 2u);
  auto templates = request("resources/templates/list", meta)["result"];
  EXPECT_EQ(templates["resultType"], "complete");
  EXPECT_GT(templates["ttlMs"].get<int64_t>(), 0);
  EXPECT_EQ(templates["cacheScope"], "public");
  Json read_params = meta;
  read_params["uri"] = "job://" + id + "/output";
  auto read = request("resources/read", read_params)["result"];
  EXPECT_EQ(read["resultType"], "complete");
  EXPECT_EQ(read["ttlMs"], 0);
  EXPECT_EQ(read["cacheScope"], "private");
  EXPECT_EQ(read["contents"][0]["text"], "hi\n");
  // SEP-2164: a missing resource is -32602 from 2026-07-28 on.
  read_params["uri"] = "job://" + std::string(kUnknownId);
  auto missing = request("resources/read", read_params)["error"];
  EXPECT_EQ(missing["code"], -32602);
  EXPECT_EQ(missing["data"]["uri"], read_params["uri"]);
  read_params["uri"] = "job://" + id;
  EXPECT_EQ(request("resources/subscribe", read_params)["error"]["code"], -32601);
  EXPECT_EQ(request("resources/unsubscribe", read_params)["error"]["code"], -32601);
  EXPECT_EQ(request("logging/setLevel",
                    Json{{"_meta", modern_meta()}, {"level", "info"}})["error"]["code"],
            -32601);
  // No session: nothing is sent unasked.
  EXPECT_TRUE(notifications("notifications/message").empty());
}

TEST_F(ServerResourcesTest, SubscribersHearWhenTheJobEnds) {
  initialize();
  std::string watched = execute(Json{{"argv", {TEST_CHILD_PATH, "sleep", "60000"}}});
  std::string other = execute(Json{{"argv", {TEST_CHILD_PATH, "sleep", "60000"}}});
  std::string dropped = execute(Json{{"argv", {TEST_CHILD_PATH, "sleep", "60000"}}});
  for (const auto& uri : {"job://" + watched, "job://" + watched + "/output", "job://" + dropped}) {
    EXPECT_EQ(request("resources/subscribe", Json{{"uri", uri}})["result"], Json::object());
  }
  EXPECT_EQ(request("resources/unsubscribe", Json{{"uri", "job://" + dropped}})["result"],
            Json::object());
  EXPECT_TRUE(notifications("notifications/resources/updated").empty());

  for (const auto& id : {watched, other, dropped}) {
    EXPECT_EQ(call("kill", Json{{"job_id", id}})["structuredContent"]["result"], "signalled");
  }
  for (const auto& id : {watched, other, dropped}) wait_for_end(id);
  io_.run_for(50ms);  // anything queued behind the ends would be sent now
  EXPECT_EQ(notifications("notifications/resources/updated", "job://" + watched).size(), 1u);
  EXPECT_EQ(notifications("notifications/resources/updated", "job://" + watched + "/output").size(),
            1u);
  // Only what is subscribed: not the other job, not the one unsubscribed.
  EXPECT_EQ(notifications("notifications/resources/updated").size(), 2u);
}

TEST_F(ServerResourcesTest, OutputUpdatesComeAtMostOnceASecondWhileItGrows) {
  initialize();
  // Prints every 50 ms for about 2.5 s.
  std::string id = execute(
      Json{{"command", "i=0; while [ $i -lt 50 ]; do echo tick $i; i=$((i+1)); sleep 0.05; done"}});
  std::string uri = "job://" + id + "/output";
  request("resources/subscribe", Json{{"uri", uri}});
  size_t subscribed_at = sent_.size();
  wait_for_end(id);
  io_.run_for(50ms);

  auto updates = notifications("notifications/resources/updated", uri);
  auto job = jobs_->find(id);
  ASSERT_EQ(job->status(), jobs::JobStatus::kCompleted);
  ASSERT_EQ(job->output().total_bytes(), 390u);  // "tick 0\n" .. "tick 49\n"
  EXPECT_LE(updates.size(), 4u);
  ASSERT_FALSE(updates.empty());
  EXPECT_GE(updates.front(), subscribed_at);
  // Some came while it ran, at least a second apart; then one at its end (never held back).
  std::vector<Clock::time_point> while_running;
  for (size_t i : updates) {
    if (sent_at_[i] < job->ended_steady()) while_running.push_back(sent_at_[i]);
  }
  EXPECT_GE(while_running.size(), 1u);
  EXPECT_LT(while_running.size(), updates.size()) << "no update when the job ended";
  for (size_t i = 1; i < while_running.size(); ++i) {
    EXPECT_GE(while_running[i] - while_running[i - 1], 950ms) << "update " << i;
  }
}

TEST_F(ServerResourcesTest, JobEndsBecomeLogMessagesFilteredByTheLevel) {
  initialize();
  std::string done = execute(Json{{"command", "true"}, {"label", "quick one"}});
  std::string failed = execute(Json{{"command", "exit 3"}});
  wait_for_end(done);
  wait_for_end(failed);
  io_.run_for(20ms);
  auto messages = log_messages();
  ASSERT_EQ(messages.size(), 2u);
  for (const auto& message : messages) {
    EXPECT_EQ(message["logger"], "mcp-background-job");
    std::string data = message["data"];
    if (data.find(done) != std::string::npos) {
      EXPECT_EQ(message["level"], "info");
      EXPECT_TRUE(
          data.starts_with("job " + done + " (quick one) `true` completed with exit 0 after "))
          << data;
      EXPECT_TRUE(data.ends_with(" s")) << data;
    } else {
      EXPECT_EQ(message["level"], "warning");
      EXPECT_NE(data.find("`exit 3` failed with exit 3 after"), std::string::npos) << data;
    }
  }

  EXPECT_EQ(request("logging/setLevel", Json{{"level", "loud"}})["error"]["code"], -32602);
  EXPECT_EQ(request("logging/setLevel")["error"]["code"], -32602);

  // "warning" lets the failure through, not the success.
  EXPECT_EQ(request("logging/setLevel", Json{{"level", "warning"}})["result"], Json::object());
  std::string ok2 = execute(Json{{"command", "true"}});
  std::string failed2 = execute(Json{{"command", "exit 4"}});
  wait_for_end(ok2);
  wait_for_end(failed2);
  io_.run_for(20ms);
  messages = log_messages();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_NE(messages[2]["data"].get<std::string>().find(failed2), std::string::npos);

  // "error" silences both.
  EXPECT_EQ(request("logging/setLevel", Json{{"level", "error"}})["result"], Json::object());
  std::string ok3 = execute(Json{{"command", "true"}});
  std::string failed3 = execute(Json{{"command", "exit 5"}});
  wait_for_end(ok3);
  wait_for_end(failed3);
  io_.run_for(20ms);
  EXPECT_EQ(log_messages().size(), 3u);
}

TEST_F(ServerResourcesTest, NothingIsSentUnaskedOutsideALegacySession) {
  std::string id = execute(Json{{"command", "echo hi"}});
  request("resources/list");
  request("resources/subscribe", Json{{"uri", "job://" + id}});
  wait_for_end(id);
  io_.run_for(20ms);
  for (const auto& m : sent_) EXPECT_TRUE(m.contains("id")) << m.dump();
}

TEST_F(ServerResourcesTest, ListChangesAreSentOnceTheClientListedAndSubscriptionsGoWithTheJob) {
  start(jobs::EngineSettings{.working_dir = "/tmp", .max_finished = 1}, ToolLimits{});
  initialize();
  std::string first = execute(Json{{"command", "true"}});
  wait_for_end(first);
  // Never listed: a tools-only client is not told.
  EXPECT_TRUE(notifications("notifications/resources/list_changed").empty());

  request("resources/list");
  request("resources/subscribe", Json{{"uri", "job://" + first}});
  std::string second = execute(Json{{"command", "true"}});
  wait_for_end(second);
  // The start of `second` and the eviction of `first` (max_finished = 1): one or two
  // notifications, at most one a second.
  ASSERT_TRUE(test::run_until(
      io_, [&] { return !notifications("notifications/resources/list_changed").empty(); }));
  EXPECT_EQ(jobs_->find(first), nullptr);
  auto list = request("resources/list")["result"]["resources"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["uri"], "job://" + second);
  // The evicted job's subscription went with it: reading and subscribing now fail.
  EXPECT_EQ(request("resources/read", Json{{"uri", "job://" + first}})["error"]["code"], -32002);
  EXPECT_EQ(request("resources/subscribe", Json{{"uri", "job://" + first}})["error"]["code"],
            -32002);
}

}  // namespace
}  // namespace mcp

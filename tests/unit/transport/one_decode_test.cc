// One decode per message on both transports: mcp::decoded_count() counts every text that becomes
// JSON on its way in, and each message below, over stdio or HTTP (legacy and 2026-07-28), moves
// it by exactly one, however many routers it passes on its way to the McpServer and back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>
#include <string>

#include "helpers/run_until.h"
#include "jobs/job_manager.h"
#include "mcp/message.h"
#include "mcp/server.h"
#include "transport/http/http_server.h"
#include "transport/stdio_transport.h"

namespace transport {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using mcp::Json;

class OneDecodeTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::warn); }

  std::unique_ptr<mcp::McpServer> make_server(mcp::McpServer::Send send,
                                              const std::string& session_id = "") {
    return std::make_unique<mcp::McpServer>(io_.get_executor(), jobs_, mcp::ToolLimits{}, "9.9.9",
                                            std::move(send), mcp::Safeguards{},
                                            mcp::Placement{.session_id = session_id});
  }

  asio::io_context io_;
  jobs::JobManager jobs_{io_.get_executor(), jobs::EngineSettings{.working_dir = "/tmp"}};
};

TEST_F(OneDecodeTest, StdioDecodesEachLineOnce) {
  int to_server[2];
  int from_server[2];
  ASSERT_EQ(::pipe2(to_server, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(from_server, O_CLOEXEC | O_NONBLOCK), 0);
  std::unique_ptr<mcp::McpServer> server;
  auto stdio = std::make_unique<StdioTransport>(
      io_.get_executor(), to_server[0], from_server[1], /*max_message_size=*/1 << 20,
      StdioTransport::Handlers{
          .on_message = [&](std::string_view line) { server->handle(mcp::decode(line)); },
          .on_oversized = [](uint64_t) {},
          .on_closed = [] {}});
  server = make_server([&](mcp::Outgoing message) { stdio->send(mcp::serialize(message.message)); },
                       "stdio");
  stdio->start();

  std::string received;
  auto exchange = [&](std::string_view line) {
    received.clear();
    std::string framed = std::string(line) + "\n";
    ASSERT_EQ(::write(to_server[1], framed.data(), framed.size()),
              static_cast<ssize_t>(framed.size()));
    ASSERT_TRUE(test::run_until(io_, [&] {
      char buffer[4096];
      ssize_t n = ::read(from_server[0], buffer, sizeof buffer);
      if (n > 0) received.append(buffer, static_cast<size_t>(n));
      return received.find('\n') != std::string::npos;
    }));
  };
  uint64_t before = mcp::decoded_count();
  exchange(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  EXPECT_EQ(mcp::decoded_count() - before, 1u);
  EXPECT_TRUE(Json::parse(received).contains("result")) << received;

  before = mcp::decoded_count();
  exchange(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  EXPECT_EQ(mcp::decoded_count() - before, 1u);
  EXPECT_TRUE(Json::parse(received)["result"].contains("tools")) << received;

  stdio.reset();
  server.reset();
  for (int fd : {to_server[0], to_server[1], from_server[0], from_server[1]}) ::close(fd);
}

class OneDecodeHttpTest : public OneDecodeTest {
 protected:
  void SetUp() override {
    OneDecodeTest::SetUp();
    http_.emplace(io_.get_executor(), http::HttpSettings{.host = "127.0.0.1", .port = 0}, jobs_,
                  "9.9.9", [this](mcp::McpServer::Send send, const std::string& session_id) {
                    return make_server(std::move(send), session_id);
                  });
    auto bound = http_->start();
    ASSERT_TRUE(bound.has_value());
    endpoint_ = *bound;
  }
  void TearDown() override {
    http_->stop();
    bool closed = false;
    asio::co_spawn(
        io_, [&]() -> asio::awaitable<void> { co_await http_->close(std::chrono::seconds(2)); },
        [&](const std::exception_ptr&) { closed = true; });
    test::run_until(io_, [&] { return closed; });
    http_.reset();
    test::run_until(io_, [] { return true; });
  }

  // POSTs `body` to /mcp with `headers` and drives the loop until the whole response is read.
  bhttp::response<bhttp::string_body> post(
      const Json& body, std::vector<std::pair<std::string, std::string>> headers) {
    bhttp::request<bhttp::string_body> request(bhttp::verb::post, "/mcp", 11);
    request.set(bhttp::field::host, "127.0.0.1:" + std::to_string(endpoint_.port()));
    request.set(bhttp::field::content_type, "application/json");
    request.set(bhttp::field::accept, "application/json, text/event-stream");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = body.dump();
    request.prepare_payload();
    bhttp::response<bhttp::string_body> response;
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          tcp::socket socket(io_);
          co_await socket.async_connect(endpoint_, asio::use_awaitable);
          co_await bhttp::async_write(socket, request, asio::use_awaitable);
          boost::beast::flat_buffer buffer;
          co_await bhttp::async_read(socket, buffer, response, asio::use_awaitable);
        },
        [&](const std::exception_ptr& failure) {
          EXPECT_FALSE(failure);
          done = true;
        });
    EXPECT_TRUE(test::run_until(io_, [&] { return done; }));
    return response;
  }

  std::optional<http::HttpServer> http_;
  tcp::endpoint endpoint_;
};

TEST_F(OneDecodeHttpTest, LegacySessionRequestsAreDecodedOnce) {
  uint64_t before = mcp::decoded_count();
  auto initialized = post(Json::parse(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
      "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"),
                          {});
  EXPECT_EQ(mcp::decoded_count() - before, 1u);
  ASSERT_EQ(initialized.result_int(), 200) << initialized.body();
  std::string session(initialized["Mcp-Session-Id"]);
  ASSERT_FALSE(session.empty());

  before = mcp::decoded_count();
  auto listed = post(Json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}},
                     {{"Mcp-Session-Id", session}, {"MCP-Protocol-Version", "2025-11-25"}});
  EXPECT_EQ(mcp::decoded_count() - before, 1u);
  ASSERT_EQ(listed.result_int(), 200) << listed.body();
  EXPECT_TRUE(Json::parse(listed.body())["result"].contains("tools")) << listed.body();
}

TEST_F(OneDecodeHttpTest, ModernRequestsAreDecodedOnce) {
  Json meta{{std::string(mcp::meta_key::kProtocolVersion), mcp::kModernVersion},
            {std::string(mcp::meta_key::kClientCapabilities), Json::object()}};
  uint64_t before = mcp::decoded_count();
  auto listed = post(
      Json{
          {"jsonrpc", "2.0"}, {"id", "a"}, {"method", "tools/list"}, {"params", {{"_meta", meta}}}},
      {{"MCP-Protocol-Version", std::string(mcp::kModernVersion)}, {"Mcp-Method", "tools/list"}});
  EXPECT_EQ(mcp::decoded_count() - before, 1u);
  ASSERT_EQ(listed.result_int(), 200) << listed.body();
  Json answer = Json::parse(listed.body());
  EXPECT_EQ(answer["id"], "a");  // the endpoint's own id went back to the client's
  EXPECT_TRUE(answer["result"].contains("tools")) << listed.body();
}

}  // namespace
}  // namespace transport

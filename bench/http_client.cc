#include "http_client.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "failure.h"

namespace bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kProtocolVersion = "2025-11-25";
constexpr std::string_view kSessionHeader = "Mcp-Session-Id";
constexpr std::string_view kVersionHeader = "MCP-Protocol-Version";

std::string clip(std::string_view text, size_t limit = 300) {
  if (text.size() <= limit) return std::string(text);
  return std::string(text.substr(0, limit)) + "...";
}

// Reads a JSON-RPC response body into the exchange: its result, or why it is an error.
void take_rpc_result(HttpExchange& exchange, std::string_view body) {
  Json message = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!message.is_object()) {
    exchange.error = fmt::format("the body is not a JSON object: {}", clip(body));
    return;
  }
  if (auto error = message.find("error"); error != message.end()) {
    exchange.error = fmt::format("JSON-RPC error: {}", clip(error->dump()));
    return;
  }
  auto result = message.find("result");
  if (result == message.end() || !result->is_object()) {
    exchange.error = fmt::format("a response without a result object: {}", clip(body));
    return;
  }
  if (auto is_error = result->find("isError");
      is_error != result->end() && is_error->is_boolean() && is_error->get<bool>()) {
    exchange.error = fmt::format("tool error: {}", clip(result->dump()));
    return;
  }
  auto structured = result->find("structuredContent");
  if (structured == result->end() || !structured->is_object()) {
    exchange.error = fmt::format("a tool result without structuredContent: {}", clip(body));
    return;
  }
  exchange.body = std::move(*structured);
}

// The JSON-RPC messages, built outside the coroutines: GCC 12 rejects a braced initializer list
// holding string literals in a coroutine body ("array used as initializer").
std::string initialize_message(int64_t id, std::string_view client_name) {
  return Json{{"jsonrpc", "2.0"},
              {"id", id},
              {"method", "initialize"},
              {"params",
               {{"protocolVersion", kProtocolVersion},
                {"capabilities", Json::object()},
                {"clientInfo", {{"name", client_name}, {"version", "1"}}}}}}
      .dump();
}

std::string initialized_message() {
  return Json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}.dump();
}

std::string tool_call_message(int64_t id, std::string_view name, const Json& arguments) {
  return Json{{"jsonrpc", "2.0"},
              {"id", id},
              {"method", "tools/call"},
              {"params", {{"name", name}, {"arguments", arguments}}}}
      .dump();
}

}  // namespace

HttpMcpClient::HttpMcpClient(const asio::any_io_executor& executor, asio::ip::tcp::endpoint server)
    : server_(std::move(server)),
      stream_(executor),
      host_(fmt::format("{}:{}", server_.address().to_string(), server_.port())) {}

asio::awaitable<void> HttpMcpClient::connect() {
  stream_.expires_after(kDefaultTimeout);
  auto [ec] = co_await stream_.async_connect(server_, kAsTuple);
  check(!ec, "connecting to the server at {}: {}", host_, ec.message());
  // Requests are small and each waits for its answer: Nagle would hold a write back for the
  // peer's delayed ACK and measure that instead of the server.
  boost::system::error_code ignored;
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
}

asio::awaitable<void> HttpMcpClient::reconnect() {
  boost::system::error_code ignored;
  stream_.socket().close(ignored);
  buffer_.clear();
  co_await connect();
}

HttpMcpClient::Request HttpMcpClient::make_request(bhttp::verb method,
                                                   std::string_view target) const {
  Request request{method, target, 11};
  request.set(bhttp::field::host, host_);
  request.keep_alive(true);
  return request;
}

HttpMcpClient::Request HttpMcpClient::make_post(std::string body) const {
  Request request = make_request(bhttp::verb::post, "/mcp");
  request.set(bhttp::field::content_type, "application/json");
  // Streamable HTTP asks a client to accept both; the server answers these calls with JSON.
  request.set(bhttp::field::accept, "application/json, text/event-stream");
  if (!session_id_.empty()) {
    request.set(kSessionHeader, session_id_);
    request.set(kVersionHeader, kProtocolVersion);
  }
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

asio::awaitable<HttpExchange> HttpMcpClient::round_trip(Request& request, Response& response,
                                                        Clock::duration timeout) {
  HttpExchange exchange;
  // One deadline for the write and the read: a tcp_stream keeps it until it is changed.
  stream_.expires_after(timeout);
  const auto sent = Clock::now();
  auto [write_ec, written] = co_await bhttp::async_write(stream_, request, kAsTuple);
  if (!write_ec) {
    auto [read_ec, read] = co_await bhttp::async_read(stream_, buffer_, response, kAsTuple);
    exchange.latency = Clock::now() - sent;
    if (read_ec) {
      exchange.error = fmt::format("reading the response: {}", read_ec.message());
      exchange.connection_lost = true;
      co_return exchange;
    }
  } else {
    exchange.latency = Clock::now() - sent;
    exchange.error = fmt::format("writing the request: {}", write_ec.message());
    exchange.connection_lost = true;
    co_return exchange;
  }
  exchange.status = response.result_int();
  // The server may close after this response (it is stopping): not an error, but the next
  // request needs a new connection.
  exchange.connection_lost = !response.keep_alive();
  if (exchange.status != 200) {
    exchange.error = fmt::format("HTTP {}: {}", exchange.status, clip(response.body()));
  }
  co_return exchange;
}

asio::awaitable<HttpMcpClient::Response> HttpMcpClient::setup_step(Request request,
                                                                   unsigned expected,
                                                                   std::string_view what) {
  Response response;
  HttpExchange exchange = co_await round_trip(request, response, kDefaultTimeout);
  check(exchange.status == expected, "{} over HTTP: expected HTTP {}, got {}", what, expected,
        exchange.status == 0 ? *exchange.error
                             : fmt::format("{}: {}", exchange.status, clip(response.body())));
  co_return response;
}

asio::awaitable<void> HttpMcpClient::initialize(std::string_view client_name) {
  Response response = co_await setup_step(make_post(initialize_message(next_id_++, client_name)),
                                          200, "initialize");
  session_id_ = std::string(response[kSessionHeader]);
  check(!session_id_.empty(), "initialize over HTTP answered without an Mcp-Session-Id header");
  Json message = Json::parse(response.body(), nullptr, false);
  check(message.is_object() && message.contains("result") &&
            message["result"].value("protocolVersion", "") == kProtocolVersion,
        "initialize over HTTP answered {} (expected protocol version {})", clip(response.body()),
        kProtocolVersion);
  co_await setup_step(make_post(initialized_message()), 202, "notifications/initialized");
}

asio::awaitable<void> HttpMcpClient::end_session() {
  Request request = make_request(bhttp::verb::delete_, "/mcp");
  request.set(kSessionHeader, session_id_);
  request.set(kVersionHeader, kProtocolVersion);
  co_await setup_step(std::move(request), 204, "DELETE /mcp");
  session_id_.clear();
}

asio::awaitable<HttpExchange> HttpMcpClient::get(std::string_view target) {
  Request request = make_request(bhttp::verb::get, target);
  Response response;
  HttpExchange exchange = co_await round_trip(request, response, kDefaultTimeout);
  if (exchange.error) co_return exchange;
  exchange.body = Json::parse(response.body(), nullptr, /*allow_exceptions=*/false);
  if (!exchange.body.is_object()) {
    exchange.error =
        fmt::format("GET {}: the body is not a JSON object: {}", target, clip(response.body()));
  }
  co_return exchange;
}

asio::awaitable<HttpExchange> HttpMcpClient::call_tool(std::string_view name, const Json& arguments,
                                                       Clock::duration timeout) {
  Request request = make_post(tool_call_message(next_id_++, name, arguments));
  Response response;
  HttpExchange exchange = co_await round_trip(request, response, timeout);
  if (exchange.error) co_return exchange;
  take_rpc_result(exchange, response.body());
  co_return exchange;
}

}  // namespace bench

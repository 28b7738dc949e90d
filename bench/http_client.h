#pragma once
/// An MCP client over Streamable HTTP for the load benchmark: one keep-alive HTTP/1.1
/// connection (Boost.Beast) and the legacy session it opened (POST initialize ->
/// Mcp-Session-Id, then notifications/initialized). Coroutines on the caller's io_context, one
/// request at a time per client, so many clients share one thread without locks. Setup steps
/// (connect, initialize, end_session) throw Failure when the server misbehaves; the calls a load
/// is made of (get, call_tool) never throw for what the server answers: they return an
/// HttpExchange that says whether it counts as an error and why, so the scenario can count
/// errors instead of stopping at the first.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "stats.h"

namespace bench {

using Json = nlohmann::json;

/// One request and its response, as the load counts it.
struct HttpExchange {
  Clock::duration latency{};  // From just before the request is written to its response read.
  unsigned status = 0;        // The HTTP status; 0 when the connection failed first.
  // The parsed body: for call_tool the tool's structuredContent, otherwise the whole body.
  Json body;
  // Why this exchange counts as an error (connection, non-200, not JSON, JSON-RPC error,
  // isError); nullopt when it succeeded.
  std::optional<std::string> error;
  // The connection cannot carry another request: reconnect() before the next.
  bool connection_lost = false;
};

class HttpMcpClient {
 public:
  static constexpr std::chrono::seconds kDefaultTimeout{10};

  HttpMcpClient(const boost::asio::any_io_executor& executor,
                boost::asio::ip::tcp::endpoint server);

  /// Opens the TCP connection (Nagle off, as latency is what is measured).
  boost::asio::awaitable<void> connect();
  /// After connect(): initialize with protocol 2025-11-25, keep the Mcp-Session-Id, then send
  /// notifications/initialized (which the server accepts with 202).
  boost::asio::awaitable<void> initialize(std::string_view client_name);
  /// A new connection for the same session, after one was lost.
  boost::asio::awaitable<void> reconnect();
  /// DELETE /mcp: ends the session (the server answers 204). The connection stays open.
  boost::asio::awaitable<void> end_session();

  /// GET `target` without MCP headers (e.g. /healthz); 200 with a JSON body is a success.
  boost::asio::awaitable<HttpExchange> get(std::string_view target);
  /// tools/call in this session; success is 200 with a result that is not isError and carries
  /// structuredContent, which becomes the exchange's body.
  boost::asio::awaitable<HttpExchange> call_tool(std::string_view name, const Json& arguments,
                                                 Clock::duration timeout = kDefaultTimeout);

  const std::string& session_id() const { return session_id_; }

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  Request make_request(boost::beast::http::verb method, std::string_view target) const;
  Request make_post(std::string body) const;
  // Writes `request` and reads the whole response within `timeout`. Connection failures come
  // back as an exchange with `connection_lost`; the response is in `response`.
  boost::asio::awaitable<HttpExchange> round_trip(Request& request, Response& response,
                                                  Clock::duration timeout);
  // round_trip for a setup step: anything but HTTP `expected` is a Failure naming `what`.
  boost::asio::awaitable<Response> setup_step(Request request, unsigned expected,
                                              std::string_view what);

  boost::asio::ip::tcp::endpoint server_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string host_;  // "127.0.0.1:PORT", the Host header the server's guard accepts.
  std::string session_id_;
  int64_t next_id_ = 1;
};

}  // namespace bench

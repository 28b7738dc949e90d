#pragma once
/// MCP over Streamable HTTP with Boost.Beast, on the server's one io_context: one coroutine per
/// connection, no thread of its own. Both eras on one path:
///
///   POST   /mcp      2025-11-25 (legacy): `initialize` opens a session (Mcp-Session-Id), which
///                    every later request names. 2026-07-28 (modern): no session; the headers
///                    MCP-Protocol-Version, Mcp-Method and Mcp-Name must mirror the body.
///                    Answered with JSON, or with an SSE stream when the request asked for
///                    progress (and, modern, for subscriptions/listen).
///   GET    /mcp      legacy: the session's SSE stream for what the server sends unasked
///   DELETE /mcp      legacy: ends the session (its jobs keep running: they belong to the server)
///   GET    /healthz  {status, version, uptime_seconds, jobs_running, jobs_queued}
///   GET    /metrics  Prometheus text (observe::Metrics), when main passed one
///
/// Every request passes the RequestGuard first, on its header alone (Host and Origin allow-lists,
/// the bearer token, CORS; see request_guard.h); only a POST /mcp it lets through has its body
/// read, and any other path is 404 for everyone. While a request waits for its answer the
/// connection watches for the client leaving: a modern request is then cancelled (the
/// specification's signal), a legacy one forgotten. Bounds: body size (413), header read time, idle
/// time between requests, connections, sessions and SSE streams per session at once.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "jobs/job_manager.h"
#include "observe/metrics.h"
#include "transport/http/exchange.h"
#include "transport/http/mcp_session.h"
#include "transport/http/request_guard.h"
#include "transport/http/stateless_endpoint.h"

namespace http {

struct HttpSettings {
  std::string host = "127.0.0.1";  // an IP literal or "localhost"
  uint16_t port = 0;               // 0: any free port (see HttpServer::start)
  uint64_t max_body_size = 4ull << 20;
  size_t max_connections = 128;
  size_t max_sessions = 64;  // beyond: the least recently used idle session is dropped
  std::chrono::milliseconds header_timeout = std::chrono::seconds(10);  // a request's header
  std::chrono::milliseconds body_timeout = std::chrono::seconds(30);    // a request's body
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);    // between requests
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);   // a response
  size_t max_streams_per_session = 4;  // GET streams a legacy session may hold open at once
  // A comment line on an SSE stream quiet this long, so that idle-closing proxies and clients
  // keep it, and a vanished client is noticed by the failed write.
  std::chrono::milliseconds keep_alive_interval = std::chrono::seconds(15);
  GuardSettings guard;  // who may call: see request_guard.h
};

class HttpServer {
 public:
  struct Request;
  struct Response;

  HttpServer(const boost::asio::any_io_executor& executor, HttpSettings settings,
             jobs::JobManager& jobs, std::string version, McpSession::MakeServer make_server,
             observe::Metrics* metrics = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts accepting; returns the address bound (the real port when it was 0).
  base::Result<boost::asio::ip::tcp::endpoint> start();

  /// Stops accepting connections and new sessions. Requests already waiting go on waiting: the
  /// jobs they wait on are about to end.
  void stop();
  /// After the jobs ended: subscriptions get their final result, every request still waiting a
  /// 503, every stream is closed. Then waits (at most `bound`) until those answers are written.
  boost::asio::awaitable<void> close(std::chrono::milliseconds bound);

  size_t session_count() const { return sessions_.size(); }
  size_t connection_count() const { return connections_; }

 private:
  enum class Wake { kNews, kGone, kQuiet };

  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket);
  Response handle(const Request& request);
  Response post_mcp(const Request& request);
  Response post_modern(const Request& request, mcp::Message message, ClientAccepts accepts);
  Response get_mcp(const Request& request);
  Response delete_mcp(const Request& request);
  Response healthz() const;
  // Writes `response`: at once, or (with an exchange) when its answer comes, as JSON or as an
  // SSE stream. False when the connection cannot be used again.
  boost::asio::awaitable<bool> write_response(boost::beast::tcp_stream& stream,
                                              boost::beast::flat_buffer& buffer, unsigned version,
                                              bool keep_alive, Response& response);
  boost::asio::awaitable<bool> write_stream(boost::beast::tcp_stream& stream,
                                            boost::beast::flat_buffer& buffer, unsigned version,
                                            bool keep_alive, const HeaderList& headers,
                                            Exchange& exchange);
  // Waits for news on `exchange`, the client leaving, or (for streams) a quiet interval. While
  // `watching`, reads the socket to notice the client leave; bytes that arrive instead (a
  // pipelined request) are kept in `buffer` and the watch ends.
  boost::asio::awaitable<Wake> await_news(boost::beast::tcp_stream& stream,
                                          boost::beast::flat_buffer& buffer, Exchange& exchange,
                                          bool& watching);
  Response metrics();
  // Ends a session and keeps it until its calls have completed (their handlers refer to it).
  void retire(std::shared_ptr<McpSession> session);
  void schedule_sweep();
  void sweep_retired();
  // The session an Mcp-Session-Id header names, or null (unknown, ended, or not an id at all).
  std::shared_ptr<McpSession> find_session(std::string_view header) const;
  // The session a legacy request names; null with `refusal` set when it names none: 400 without
  // the header, 404 for a session unknown or ended. The hints end the two messages.
  std::shared_ptr<McpSession> session_named(std::string_view header, std::string_view if_missing,
                                            std::string_view if_unknown, Response& refusal) const;
  // Makes room for a new session: drops the least recently used one with nothing pending.
  bool make_room();

  boost::asio::any_io_executor executor_;
  HttpSettings settings_;
  jobs::JobManager& jobs_;
  std::string version_;
  McpSession::MakeServer make_server_;
  RequestGuard guard_;
  observe::Metrics* metrics_;  // Null: no /metrics, nothing counted.
  std::chrono::steady_clock::time_point started_;
  boost::asio::ip::tcp::acceptor acceptor_;
  size_t connections_ = 0;
  bool stopped_ = false;
  std::map<std::string, std::shared_ptr<McpSession>> sessions_;
  std::vector<std::shared_ptr<McpSession>> retired_;
  boost::asio::steady_timer sweep_timer_;
  size_t delivering_ = 0;              // exchanges a connection is waiting on or writing
  size_t open_streams_ = 0;            // SSE responses being written (for the metrics)
  boost::asio::steady_timer drained_;  // cancelled when delivering_ drops to 0 after close()
  std::unique_ptr<StatelessEndpoint> stateless_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // coroutines outliving us check it
};

}  // namespace http

#pragma once
/// MCP over Streamable HTTP (the 2025-11-25 revision, legacy era) with Boost.Beast, on the
/// server's one io_context: one coroutine per connection, no thread of its own.
///
///   POST   /mcp      one JSON-RPC message; `initialize` opens a session (Mcp-Session-Id)
///   DELETE /mcp      ends the session (its jobs keep running: they belong to the server)
///   GET    /healthz  {status, version, uptime_seconds, jobs_running, jobs_queued}
///   GET    /metrics  Prometheus text (observe::Metrics), when main passed one
///
/// Every request must name this machine in Host and (if present) Origin: anything else is 403,
/// against DNS rebinding. Bounds: body size (413), header read time, idle time between
/// requests, connections at once, sessions at once.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/result.h"
#include "http/mcp_session.h"
#include "jobs/job_manager.h"
#include "observe/metrics.h"

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
};

class HttpServer {
 public:
  HttpServer(const boost::asio::any_io_executor& executor, HttpSettings settings,
             jobs::JobManager& jobs, std::string version, McpSession::MakeServer make_server,
             observe::Metrics* metrics = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts accepting; returns the address bound (the real port when it was 0).
  base::Result<boost::asio::ip::tcp::endpoint> start();

  /// Stops accepting and ends every session. Connections already open finish what they are doing.
  void stop();

  size_t session_count() const { return sessions_.size(); }
  size_t connection_count() const { return connections_; }

 private:
  struct Request;
  struct Response;

  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<Response> handle(const Request& request);
  boost::asio::awaitable<Response> post_mcp(const Request& request);
  Response delete_mcp(const Request& request);
  Response healthz() const;
  Response metrics();
  // Ends a session and keeps it until its calls have completed (their handlers refer to it).
  void retire(std::shared_ptr<McpSession> session);
  void schedule_sweep();
  void sweep_retired();
  // Makes room for a new session: drops the least recently used one with nothing pending.
  bool make_room();

  boost::asio::any_io_executor executor_;
  HttpSettings settings_;
  jobs::JobManager& jobs_;
  std::string version_;
  McpSession::MakeServer make_server_;
  observe::Metrics* metrics_;  // Null: no /metrics, nothing counted.
  std::chrono::steady_clock::time_point started_;
  boost::asio::ip::tcp::acceptor acceptor_;
  size_t connections_ = 0;
  bool stopped_ = false;
  std::map<std::string, std::shared_ptr<McpSession>> sessions_;
  std::vector<std::shared_ptr<McpSession>> retired_;
  boost::asio::steady_timer sweep_timer_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // coroutines outliving us check it
};

}  // namespace http

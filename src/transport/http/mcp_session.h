#pragma once
/// One legacy (2025-11-25) HTTP session: its own McpServer, whose messages are routed to the HTTP
/// requests waiting for them. A response goes to the request with its id; progress goes to the
/// request whose progressToken it carries, if that request is answered as an SSE stream; what the
/// server sends unasked (job-end log messages, resource updates, list changes) goes to the
/// session's newest GET stream, or nowhere if none is open. Sessions share the server's one
/// JobManager: jobs belong to the server, and a session ending does not touch them.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mcp/json_rpc.h"
#include "mcp/message.h"
#include "mcp/server.h"
#include "transport/http/exchange.h"

namespace http {

class McpSession {
 public:
  /// Makes the session's server, given where it sends and the session's id (its jobs' owner).
  using MakeServer = std::function<std::unique_ptr<mcp::McpServer>(mcp::McpServer::Send,
                                                                   const std::string& session_id)>;

  McpSession(std::string id, const boost::asio::any_io_executor& executor,
             const MakeServer& make_server, size_t max_streams);
  ~McpSession();
  McpSession(const McpSession&) = delete;
  McpSession& operator=(const McpSession&) = delete;

  const std::string& id() const { return id_; }
  std::chrono::steady_clock::time_point last_used() const { return last_used_; }
  /// Requests still waiting for their answer, and GET streams open.
  size_t pending() const;
  /// True once the server has no calls running: it may be destroyed.
  bool idle() const { return server_->calls_in_flight() == 0; }

  /// Hands `message` (decoded, a JSON object) to the server. An SSE answer, if the client
  /// `accepts` one, is used when the request asked for progress.
  Submitted submit(mcp::Message message, ClientAccepts accepts);
  /// Whether the session's initialize succeeded (its server has a session open).
  bool initialized() const { return server_->in_session(); }

  /// GET: a stream for what the server sends unasked. Null when max_streams are open already.
  std::shared_ptr<Exchange> open_stream();

  /// Every running call is withdrawn, every waiting request answered with `status` and a
  /// JSON-RPC error saying `why`, every stream closed. DELETE and eviction end a session with
  /// 404 (it is gone), server shutdown with 503.
  void end(unsigned status, std::string_view why);

 private:
  void route(mcp::Outgoing message);  // what the server sends
  void notify(mcp::Json message);     // a notification from the server
  void answer(mcp::Json response);    // a response from the server

  std::string id_;
  boost::asio::any_io_executor executor_;
  size_t max_streams_;
  std::chrono::steady_clock::time_point last_used_;
  std::unordered_map<std::string, std::shared_ptr<Exchange>> pending_;  // by id.dump()
  std::unordered_map<std::string, std::weak_ptr<Exchange>> progress_;   // by token.dump()
  std::vector<std::weak_ptr<Exchange>> streams_;                        // GET streams, oldest first
  // The message being handed to the server right now: an error it cannot attach to an id (a
  // parse error, id null) answers it.
  std::shared_ptr<Exchange> current_;
  bool ended_ = false;
  std::unique_ptr<mcp::McpServer> server_;  // Last: its calls refer to the members above.
};

}  // namespace http

#pragma once
/// One legacy (2025-11-25) HTTP session: its own McpServer, whose every response is routed by
/// JSON-RPC id to the HTTP request waiting for it. Sessions share the server's one JobManager:
/// jobs belong to the server, and a session ending does not touch them.
///
/// Messages the server sends unasked (progress, job-end log messages, resource updates) need the
/// session's SSE stream, which this transport does not offer yet: they are dropped.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "mcp/json_rpc.h"
#include "mcp/server.h"

namespace http {

class McpSession {
 public:
  /// Makes the session's server, given where it sends and the session's id (its jobs' owner).
  using MakeServer = std::function<std::unique_ptr<mcp::McpServer>(
      mcp::McpServer::Send, const std::string& session_id)>;

  /// What became of one POSTed message.
  struct Reply {
    enum class Kind {
      kResponse,  // `body` is the JSON-RPC response (200)
      kAccepted,  // a notification or a response: nothing to say (202)
      kRejected,  // a notification the server refused: `body` is the error (400)
      kEnded,     // the session ended before the response came (404)
      kWithdrawn,  // the client cancelled the request (notifications/cancelled): no answer (204)
    };
    Kind kind;
    std::string body;
  };

  McpSession(std::string id, const boost::asio::any_io_executor& executor,
             const MakeServer& make_server);
  ~McpSession();
  McpSession(const McpSession&) = delete;
  McpSession& operator=(const McpSession&) = delete;

  const std::string& id() const { return id_; }
  std::chrono::steady_clock::time_point last_used() const { return last_used_; }
  /// Requests still waiting for their response.
  size_t pending() const { return pending_.size(); }
  /// True once the server has no calls running: it may be destroyed.
  bool idle() const { return server_->calls_in_flight() == 0; }

  /// Hands `text` (already parsed as `message`, a JSON object) to the server and waits for what
  /// answers it.
  boost::asio::awaitable<Reply> exchange(std::string_view text, const mcp::Json& message);

  /// DELETE: withdraws every running call and tells every waiting request the session ended.
  void end();

 private:
  struct Waiter {
    explicit Waiter(const boost::asio::any_io_executor& executor) : ready(executor) {}
    std::optional<std::string> response;
    bool ended = false;
    bool withdrawn = false;
    boost::asio::steady_timer ready;  // never expires; cancelled when there is news
  };

  void route(std::string message);

  std::string id_;
  boost::asio::any_io_executor executor_;
  std::chrono::steady_clock::time_point last_used_;
  std::unordered_map<std::string, std::shared_ptr<Waiter>> pending_;  // by id.dump()
  // The request being handed to the server right now: an error the server cannot attach to an
  // id (a parse error, id null) is its answer.
  std::shared_ptr<Waiter> current_;
  bool ended_ = false;
  std::unique_ptr<mcp::McpServer> server_;  // Last: its calls refer to the members above.
};

}  // namespace http

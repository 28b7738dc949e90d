#pragma once
/// The 2026-07-28 (modern) side of /mcp: no sessions, every request stands alone. One McpServer
/// serves them all; since two clients may both send id 1, each request's id (and its
/// progressToken) is replaced by one of ours on the way in and put back on the way out, so the
/// server's messages find their request: a response by id, progress by token, a subscription's
/// notifications by the subscription id stamped in their _meta.
///
/// A request is answered with JSON, or with an SSE stream when it asked for progress or is a
/// subscriptions/listen. The client closing that stream cancels the request.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "mcp/json_rpc.h"
#include "mcp/message.h"
#include "mcp/server.h"
#include "transport/http/exchange.h"
#include "transport/http/mcp_session.h"

namespace http {

class StatelessEndpoint {
 public:
  StatelessEndpoint(const boost::asio::any_io_executor& executor,
                    const McpSession::MakeServer& make_server);
  ~StatelessEndpoint();
  StatelessEndpoint(const StatelessEndpoint&) = delete;
  StatelessEndpoint& operator=(const StatelessEndpoint&) = delete;

  /// `message` is a decoded JSON object whose headers were checked (see mirrored_headers.h).
  /// `accepts`: whether the client accepts an SSE answer.
  Submitted submit(mcp::Message message, ClientAccepts accepts);

  /// Requests and subscriptions still open.
  size_t pending() const { return pending_.size(); }
  /// True once the server has no calls running: it may be destroyed.
  bool idle() const { return server_->calls_in_flight() == 0; }

  /// The server is stopping: subscriptions get their final result, every other waiting request
  /// a 503 saying so.
  void shut_down();

  /// The HTTP status a modern JSON-RPC answer travels with: the transport gives "method not
  /// found" 404 and malformed or unsupported requests 400, so intermediaries can tell.
  static unsigned status_for(const mcp::Json& answer);

 private:
  struct Pending {
    mcp::Json id;     // the client's
    mcp::Json token;  // the client's progressToken, or null
    std::shared_ptr<Exchange> exchange;
  };

  void route(mcp::Outgoing message);  // what the server sends
  void notify(mcp::Json message);     // a notification from the server
  void answer(mcp::Json response);    // a response from the server

  boost::asio::any_io_executor executor_;
  uint64_t next_id_ = 0;
  std::unordered_map<std::string, Pending> pending_;  // by our id
  // The message being handed to the server right now: an error it cannot attach to an id
  // answers it.
  std::shared_ptr<Exchange> current_;
  bool stopped_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // exchanges outliving us check it
  std::unique_ptr<mcp::McpServer> server_;  // Last: its calls refer to the members above.
};

}  // namespace http

#pragma once
// What the files of HttpServer share (http_server.cc: connections; http_routes.cc: what each
// path and method answers; http_sessions.cc: the legacy session table; http_response_writer.cc:
// JSON and SSE answers): the request and response types, header names, and small helpers.
// Private to transport/http.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "mcp/json_rpc.h"
#include "transport/http/exchange.h"
#include "transport/http/http_server.h"

namespace http {

// The names the four parts of the server (this header is theirs alone) spell the same way.
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using mcp::Json;

struct HttpServer::Request {
  boost::beast::http::request<boost::beast::http::string_body> message;
};

struct HttpServer::Response {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string body;        // JSON, or empty
  std::string session_id;  // sent as Mcp-Session-Id when set
  std::string allow;       // sent as Allow when set (405)
  // When set, the answer is still to come: write_response waits for it.
  std::shared_ptr<Exchange> exchange;
  HeaderList headers;  // more headers: the guard's (WWW-Authenticate, CORS)
  std::string_view content_type = "application/json";  // of a non-empty body
};

namespace server_parts {

inline constexpr auto kAsTuple = boost::asio::as_tuple(boost::asio::use_awaitable);
inline constexpr std::string_view kSessionHeader = "Mcp-Session-Id";
inline constexpr std::string_view kVersionHeader = "MCP-Protocol-Version";
inline constexpr std::string_view kMethodHeader = "Mcp-Method";
inline constexpr std::string_view kNameHeader = "Mcp-Name";

inline std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// Whether an Accept header lists `type` (media types are case-insensitive).
inline bool accepts(std::string_view accept, std::string_view type) {
  for (size_t at = 0; at + type.size() <= accept.size(); ++at) {
    if (boost::beast::iequals(accept.substr(at, type.size()), type)) return true;
  }
  return false;
}

// One coroutine's share in a count the server keeps (connections, open streams), for as long as
// its frame lives. A frame destroyed with the loop, after the server, leaves the count alone.
class Counted {
 public:
  Counted(size_t& count, std::weak_ptr<int> alive) : count_(count), alive_(std::move(alive)) {
    ++count_;
  }
  ~Counted() {
    if (!alive_.expired()) --count_;
  }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;

 private:
  size_t& count_;
  std::weak_ptr<int> alive_;
};

inline HttpServer::Response error_response(boost::beast::http::status status, int code,
                                           std::string message, const mcp::Json& id = nullptr) {
  return HttpServer::Response{
      .status = status, .body = mcp::serialize(mcp::make_error(id, code, std::move(message)))};
}

}  // namespace server_parts
}  // namespace http

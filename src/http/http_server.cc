#include "http/http_server.h"

#include <algorithm>
#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/request_guard.h"
#include "http/session_id.h"
#include "mcp/json_rpc.h"

namespace http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using mcp::Json;

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kSessionHeader = "Mcp-Session-Id";
constexpr std::string_view kVersionHeader = "MCP-Protocol-Version";
constexpr size_t kHeaderLimit = 16 * 1024;
constexpr std::chrono::milliseconds kSweepInterval{100};

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// A JSON-RPC error with id null, as the body of an HTTP error: the SDK shows its message.
std::string rpc_error(int code, std::string message) {
  return mcp::serialize(mcp::make_error(nullptr, code, std::move(message)));
}

bool is_json(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return beast::iequals(type, "application/json");
}

// After a response that ends the connection early: half-close, then discard what the client still
// sends, for at most kLingerBytes or kLingerTime, then close.
asio::awaitable<void> linger(beast::tcp_stream& stream) {
  constexpr size_t kLingerBytes = 8u << 20;
  constexpr std::chrono::seconds kLingerTime{2};
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(kLingerTime);
  std::array<char, 16 * 1024> discard{};
  size_t total = 0;
  while (total < kLingerBytes) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(discard), kAsTuple);
    if (ec) break;
    total += n;
  }
  stream.socket().close(ignored);
}

}  // namespace

struct HttpServer::Request {
  bhttp::request<bhttp::string_body> message;
};

struct HttpServer::Response {
  bhttp::status status = bhttp::status::ok;
  std::string body;  // JSON, or empty
  std::string session_id;  // sent as Mcp-Session-Id when set
  std::string allow;       // sent as Allow when set (405)
  std::string_view content_type = "application/json";  // of a non-empty body
};

HttpServer::HttpServer(const asio::any_io_executor& executor, HttpSettings settings,
                       jobs::JobManager& jobs, std::string version,
                       McpSession::MakeServer make_server, observe::Metrics* metrics)
    : executor_(executor),
      settings_(std::move(settings)),
      jobs_(jobs),
      version_(std::move(version)),
      make_server_(std::move(make_server)),
      metrics_(metrics),
      started_(std::chrono::steady_clock::now()),
      acceptor_(executor),
      sweep_timer_(executor) {}

HttpServer::~HttpServer() {
  // Sessions go first: each McpServer's calls are cancelled, never resumed (the loop is over).
  sessions_.clear();
  retired_.clear();
}

base::Result<tcp::endpoint> HttpServer::start() {
  boost::system::error_code ec;
  std::string host = settings_.host == "localhost" ? "127.0.0.1" : settings_.host;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return base::fail(fmt::format("invalid HTTP address {}: {}", settings_.host, ec.message()));
  tcp::endpoint endpoint(address, settings_.port);
  auto where = [&](std::string_view what) {
    return fmt::format("cannot {} {}:{}: {}", what, settings_.host, settings_.port, ec.message());
  };
  if (acceptor_.open(endpoint.protocol(), ec); ec) return base::fail(where("open a socket for"));
  if (acceptor_.set_option(tcp::acceptor::reuse_address(true), ec); ec) {
    return base::fail(where("set SO_REUSEADDR on"));
  }
  if (acceptor_.bind(endpoint, ec); ec) return base::fail(where("bind"));
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return base::fail(where("listen on"));
  }
  auto bound = acceptor_.local_endpoint(ec);
  if (ec) return base::fail(where("read the address of"));
  asio::co_spawn(executor_, accept_loop(), asio::detached);
  return bound;
}

void HttpServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& [id, session] : sessions_) session->end();
}

asio::awaitable<void> HttpServer::accept_loop() {
  std::weak_ptr<int> alive = alive_;
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(kAsTuple);
    if (alive.expired() || stopped_) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // EMFILE and the like: keep the server up; the next accept may succeed.
      spdlog::warn("http: accept failed: {}", ec.message());
      continue;
    }
    if (connections_ >= settings_.max_connections) {
      spdlog::warn("http: {} connections open already (the limit): refusing one",
                   connections_);
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(executor_, serve_connection(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::serve_connection(tcp::socket socket) {
  std::weak_ptr<int> alive = alive_;
  ++connections_;
  struct Count {
    HttpServer* server;
    std::weak_ptr<int> alive;
    ~Count() {
      if (!alive.expired()) --server->connections_;
    }
  } count{this, alive};

  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  bool first = true;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(settings_.max_body_size);
    // The first request's header must come promptly; later ones may wait for the idle bound.
    stream.expires_after(first ? settings_.header_timeout : settings_.idle_timeout);
    first = false;
    auto [header_ec, header_bytes] = co_await bhttp::async_read_header(stream, buffer, parser, kAsTuple);
    if (alive.expired()) co_return;
    Response early;
    bool answer_early = false;
    if (header_ec == bhttp::error::header_limit) {
      early = {bhttp::status::request_header_fields_too_large, {}, {}, {}};
      answer_early = true;
    } else if (header_ec == bhttp::error::body_limit) {
      // Beast checks Content-Length against the limit as it completes the header, and fails
      // before the parser counts the header as done: content_length() may not be asked then
      // (a Beast assertion), so the size is quoted from the header field itself.
      std::string_view declared = parser.get()[bhttp::field::content_length];
      early = {bhttp::status::payload_too_large,
               rpc_error(mcp::error_code::kInvalidRequest,
                         fmt::format("the body of {} bytes exceeds the limit of {} bytes "
                                     "(max_message_size)",
                                     declared, settings_.max_body_size)),
               {}, {}};
      answer_early = true;
    } else if (header_ec) {
      break;  // closed, timed out, or not HTTP
    }
    if (!answer_early) {
      stream.expires_after(settings_.body_timeout);
      auto [body_ec, body_bytes] = co_await bhttp::async_read(stream, buffer, parser, kAsTuple);
      if (alive.expired()) co_return;
      if (body_ec == bhttp::error::body_limit) {
        early = {bhttp::status::payload_too_large,
                 rpc_error(mcp::error_code::kInvalidRequest,
                           fmt::format("the body exceeds the limit of {} bytes (max_message_size)",
                                       settings_.max_body_size)),
                 {}, {}};
        answer_early = true;
      } else if (body_ec) {
        break;
      }
    }

    Response response;
    bool keep_alive = false;
    unsigned version = parser.get().version();
    if (answer_early) {
      response = std::move(early);  // the body was not read: the connection cannot go on
    } else {
      Request request{parser.release()};
      keep_alive = request.message.keep_alive();
      stream.expires_never();  // a tool call may take as long as it is allowed to
      auto began = std::chrono::steady_clock::now();
      response = co_await handle(request);
      if (alive.expired()) co_return;
      std::string_view session = response.session_id.empty()
                                     ? std::string_view(request.message[kSessionHeader])
                                     : std::string_view(response.session_id);
      spdlog::debug("http: {} {} {} {:.1f} ms session={}",
                    std::string_view(request.message.method_string()),
                    std::string_view(request.message.target()), static_cast<int>(response.status),
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                              began)
                        .count(),
                    session.empty() ? "-" : session);
    }

    bhttp::response<bhttp::string_body> out{response.status, version};
    out.set(bhttp::field::server, "mcp-background-job/" + version_);
    if (!response.body.empty()) out.set(bhttp::field::content_type, response.content_type);
    if (!response.session_id.empty()) out.set(kSessionHeader, response.session_id);
    if (!response.allow.empty()) out.set(bhttp::field::allow, response.allow);
    out.body() = std::move(response.body);
    out.keep_alive(keep_alive);
    out.prepare_payload();
    if (metrics_ != nullptr) metrics_->http_request(out.result_int());
    stream.expires_after(settings_.write_timeout);
    auto [write_ec, written] = co_await bhttp::async_write(stream, out, kAsTuple);
    if (alive.expired()) co_return;
    if (write_ec) break;
    if (answer_early) {
      // The client may still be sending the body we refused. Closing with unread bytes makes
      // the kernel send a reset, which can destroy the response before the client reads it: so
      // stop sending, and read what still comes (bounded) before closing.
      co_await linger(stream);
      co_return;
    }
    if (!keep_alive || stopped_) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

asio::awaitable<HttpServer::Response> HttpServer::handle(const Request& request) {
  const auto& message = request.message;
  // Against DNS rebinding: a page on another site that resolved its name to 127.0.0.1 still
  // sends its own name as Host and its own origin as Origin.
  if (!host_allowed(message[bhttp::field::host])) {
    co_return Response{bhttp::status::forbidden,
                       rpc_error(mcp::error_code::kInvalidRequest,
                                 "forbidden: the Host header must name this machine "
                                 "(localhost, 127.0.0.1 or [::1])"),
                       {}, {}};
  }
  if (!origin_allowed(message[bhttp::field::origin])) {
    co_return Response{bhttp::status::forbidden,
                       rpc_error(mcp::error_code::kInvalidRequest,
                                 "forbidden: requests from this Origin are not allowed"),
                       {}, {}};
  }
  std::string_view path = path_of(message.target());
  if (path == "/healthz") {
    if (message.method() != bhttp::verb::get) {
      co_return Response{bhttp::status::method_not_allowed, {}, {}, "GET"};
    }
    co_return healthz();
  }
  if (path == "/metrics" && metrics_ != nullptr) {
    if (message.method() != bhttp::verb::get) {
      co_return Response{bhttp::status::method_not_allowed, {}, {}, "GET"};
    }
    co_return metrics();
  }
  if (path != "/mcp") {
    co_return Response{bhttp::status::not_found,
                       rpc_error(mcp::error_code::kInvalidRequest, "not found: MCP is at /mcp"),
                       {}, {}};
  }
  switch (message.method()) {
    case bhttp::verb::post:
      co_return co_await post_mcp(request);
    case bhttp::verb::delete_:
      co_return delete_mcp(request);
    default:
      // GET (the session's SSE stream) is not offered yet: 405 is what the specification asks
      // of a server without one.
      co_return Response{bhttp::status::method_not_allowed, {}, {}, "POST, DELETE"};
  }
}

asio::awaitable<HttpServer::Response> HttpServer::post_mcp(const Request& request) {
  const auto& message = request.message;
  auto bad_request = [](int code, std::string text) {
    return Response{bhttp::status::bad_request, rpc_error(code, std::move(text)), {}, {}};
  };
  if (!is_json(message[bhttp::field::content_type])) {
    co_return Response{bhttp::status::unsupported_media_type,
                       rpc_error(mcp::error_code::kInvalidRequest,
                                 "the body must be application/json"),
                       {}, {}};
  }
  const std::string& body = message.body();
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    co_return bad_request(mcp::error_code::kParseError,
                          "parse error: the body is not valid JSON");
  }
  if (!parsed.is_object()) {
    co_return bad_request(mcp::error_code::kInvalidRequest,
                          parsed.is_array() ? "batched requests are not supported; send one "
                                              "JSON-RPC message per request"
                                            : "invalid request: expected a JSON object");
  }
  bool is_initialize = parsed.contains("id") && parsed.value("method", Json()) == "initialize";
  std::string_view session_header = message[kSessionHeader];

  std::shared_ptr<McpSession> session;
  bool created = false;
  if (is_initialize) {
    if (stopped_) {
      co_return Response{bhttp::status::service_unavailable,
                         rpc_error(mcp::error_code::kInternalError, "the server is shutting down"),
                         {}, {}};
    }
    if (!make_room()) {
      co_return Response{bhttp::status::service_unavailable,
                         rpc_error(mcp::error_code::kInternalError,
                                   fmt::format("too many sessions ({}) with requests running; "
                                               "end one with DELETE",
                                               sessions_.size())),
                         {}, {}};
    }
    session = std::make_shared<McpSession>(new_session_id(), executor_, make_server_);
    created = true;
  } else {
    if (session_header.empty()) {
      co_return bad_request(mcp::error_code::kInvalidRequest,
                            "Bad Request: Mcp-Session-Id header is required (send initialize "
                            "first to get one)");
    }
    auto it = is_session_id(session_header) ? sessions_.find(std::string(session_header))
                                            : sessions_.end();
    if (it == sessions_.end()) {
      co_return Response{bhttp::status::not_found,
                         rpc_error(mcp::error_code::kInvalidRequest,
                                   "session not found: it ended or never existed; send "
                                   "initialize to start a new one"),
                         {}, {}};
    }
    if (!legacy_protocol_version_supported(message[kVersionHeader])) {
      co_return bad_request(mcp::error_code::kInvalidRequest,
                            fmt::format("Bad Request: unsupported MCP-Protocol-Version {}; "
                                        "supported: 2025-11-25, 2025-06-18, 2025-03-26",
                                        std::string(message[kVersionHeader])));
    }
    session = it->second;
  }
  if (created) sessions_.emplace(session->id(), session);

  std::weak_ptr<int> alive = alive_;
  std::weak_ptr<McpSession> weak = session;
  // The tables own sessions, never a suspended request: a session outlives its waiting requests
  // (see sweep_retired), and a coroutine frame destroyed with the loop must not destroy one.
  McpSession* raw = session.get();
  session.reset();
  McpSession::Reply reply = co_await raw->exchange(body, parsed);
  if (alive.expired()) co_return Response{};
  switch (reply.kind) {
    case McpSession::Reply::Kind::kResponse: {
      Response response{bhttp::status::ok, std::move(reply.body), {}, {}};
      if (created) {
        auto answer = Json::parse(response.body, nullptr, false);
        if (answer.is_object() && answer.contains("result")) {
          response.session_id = weak.lock() ? weak.lock()->id() : "";
          spdlog::info("http: session {} started", response.session_id);
        } else if (auto locked = weak.lock()) {
          // initialize failed: no session.
          sessions_.erase(locked->id());
          retire(locked);
        }
      }
      co_return response;
    }
    case McpSession::Reply::Kind::kAccepted:
      co_return Response{bhttp::status::accepted, {}, {}, {}};
    case McpSession::Reply::Kind::kRejected:
      co_return Response{bhttp::status::bad_request, std::move(reply.body), {}, {}};
    case McpSession::Reply::Kind::kWithdrawn:
      co_return Response{bhttp::status::no_content, {}, {}, {}};
    case McpSession::Reply::Kind::kEnded:
      break;
  }
  co_return Response{bhttp::status::not_found,
                     rpc_error(mcp::error_code::kInvalidRequest,
                               "session not found: it ended while the request was running"),
                     {}, {}};
}

HttpServer::Response HttpServer::delete_mcp(const Request& request) {
  std::string_view header = request.message[kSessionHeader];
  if (header.empty()) {
    return Response{bhttp::status::bad_request,
                    rpc_error(mcp::error_code::kInvalidRequest,
                              "Bad Request: Mcp-Session-Id header is required"),
                    {}, {}};
  }
  auto it = is_session_id(header) ? sessions_.find(std::string(header)) : sessions_.end();
  if (it == sessions_.end()) {
    return Response{bhttp::status::not_found,
                    rpc_error(mcp::error_code::kInvalidRequest, "session not found"), {}, {}};
  }
  auto session = it->second;
  sessions_.erase(it);
  spdlog::info("http: session {} ended by the client", session->id());
  retire(std::move(session));
  return Response{bhttp::status::no_content, {}, {}, {}};
}

HttpServer::Response HttpServer::healthz() const {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now() - started_);
  Json body{{"status", "ok"},
            {"version", version_},
            {"uptime_seconds", uptime.count()},
            {"jobs_running", jobs_.running_count()},
            {"jobs_queued", jobs_.queued_count()}};
  return Response{bhttp::status::ok, mcp::serialize(body), {}, {}};
}

HttpServer::Response HttpServer::metrics() {
  metrics_->set_sessions(sessions_.size());
  Response response{bhttp::status::ok, metrics_->render(), {}, {}};
  response.content_type = observe::Metrics::kContentType;
  return response;
}

bool HttpServer::make_room() {
  sweep_retired();
  if (sessions_.size() < settings_.max_sessions) return true;
  auto oldest = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second->pending() > 0) continue;
    if (oldest == sessions_.end() || it->second->last_used() < oldest->second->last_used()) {
      oldest = it;
    }
  }
  if (oldest == sessions_.end()) return false;
  auto session = oldest->second;
  sessions_.erase(oldest);
  spdlog::info("http: session {} dropped (least recently used of {}, the limit)", session->id(),
               settings_.max_sessions);
  retire(std::move(session));
  return true;
}

void HttpServer::retire(std::shared_ptr<McpSession> session) {
  session->end();
  retired_.push_back(std::move(session));
  sweep_retired();
  if (!retired_.empty()) schedule_sweep();
}

// Cancelled calls complete on later turns of the loop: look again shortly, until all are gone.
void HttpServer::schedule_sweep() {
  sweep_timer_.expires_after(kSweepInterval);
  sweep_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    sweep_retired();
    if (!retired_.empty()) schedule_sweep();
  });
}

void HttpServer::sweep_retired() {
  std::erase_if(retired_, [](const std::shared_ptr<McpSession>& session) {
    return session->idle() && session->pending() == 0;
  });
}

}  // namespace http

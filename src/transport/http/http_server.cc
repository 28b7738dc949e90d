#include "transport/http/http_server.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include "mcp/json_rpc.h"
#include "mcp/message.h"
#include "transport/http/http_server_parts.h"
#include "transport/http/request_guard.h"
#include "transport/http/session_id.h"

namespace http {

using namespace server_parts;

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;

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

// Whether the server reads this request's body: only POST /mcp carries a message.
bool takes_body(const bhttp::request_header<>& header) {
  return header.method() == bhttp::verb::post && path_of(header.target()) == "/mcp";
}

// One line per request: enough to follow a client's traffic, never a body or a header that may
// carry a secret. The client's session header is logged only if it is a session id at all (it
// may be 16 KB of junk).
void log_request(const bhttp::request_header<>& request, const HttpServer::Response& response,
                 std::chrono::steady_clock::time_point began) {
  std::string_view claimed = request[kSessionHeader];
  std::string_view session = !response.session_id.empty() ? std::string_view(response.session_id)
                             : is_session_id(claimed)     ? claimed
                             : claimed.empty()            ? std::string_view("-")
                                                          : std::string_view("(invalid)");
  spdlog::info(
      "http: {} {} {} {:.1f} ms session={}", std::string_view(request.method_string()),
      path_of(request.target()), static_cast<int>(response.status),
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count(),
      session);
}

}  // namespace

HttpServer::HttpServer(const asio::any_io_executor& executor, HttpSettings settings,
                       jobs::JobManager& jobs, std::string version,
                       McpSession::MakeServer make_server, observe::Metrics* metrics)
    : executor_(executor),
      settings_(std::move(settings)),
      jobs_(jobs),
      version_(std::move(version)),
      make_server_(std::move(make_server)),
      guard_(settings_.guard, settings_.host),
      metrics_(metrics),
      started_(std::chrono::steady_clock::now()),
      acceptor_(executor),
      sweep_timer_(executor),
      drained_(executor),
      stateless_(std::make_unique<StatelessEndpoint>(executor, make_server_)) {}

HttpServer::~HttpServer() {
  // Servers go first: each McpServer's calls are cancelled, never resumed (the loop is over).
  stateless_.reset();
  sessions_.clear();
  retired_.clear();
}

base::Result<tcp::endpoint> HttpServer::start() {
  boost::system::error_code ec;
  std::string host = settings_.host == "localhost" ? "127.0.0.1" : settings_.host;
  auto address = asio::ip::make_address(host, ec);
  if (ec)
    return base::fail(fmt::format("invalid HTTP address {}: {}", settings_.host, ec.message()));
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
}

asio::awaitable<void> HttpServer::close(std::chrono::milliseconds bound) {
  stop();
  for (auto& [id, session] : sessions_) session->end(503, "the server is shutting down");
  stateless_->shut_down();
  if (delivering_ == 0) co_return;
  // The connections write what they were given; they cancel the timer when the last is done.
  drained_.expires_after(bound);
  co_await drained_.async_wait(kAsTuple);
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
      spdlog::warn("http: {} connections open already (the limit): refusing one", connections_);
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(executor_, serve_connection(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::serve_connection(tcp::socket socket) {
  std::weak_ptr<int> alive = alive_;
  Counted counted(connections_, alive);

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
    auto [header_ec, header_bytes] =
        co_await bhttp::async_read_header(stream, buffer, parser, kAsTuple);
    if (alive.expired()) co_return;
    if (header_ec == bhttp::error::header_limit) {
      // No header to judge: answered, and the connection ends.
      Response too_large{.status = bhttp::status::request_header_fields_too_large};
      bool written =
          co_await write_response(stream, buffer, parser.get().version(), false, too_large);
      if (alive.expired()) co_return;
      if (written) co_await linger(stream);
      co_return;
    }
    // Beast checks Content-Length against the body limit as it completes the header: the header
    // is whole then too.
    bool declared_too_large = header_ec == bhttp::error::body_limit;
    if (header_ec && !declared_too_large) break;  // closed, timed out, or not HTTP

    // Everything the header can decide is decided before a byte of the body is read: a caller
    // without the token, from a foreign page, with a body where the server takes none, or for a
    // path that is not the server's, never makes it hold a body (4 MiB each, on every connection
    // a client may open, was the attack).
    const auto& header = parser.get();
    Response early;
    bool answer_early = true;
    if (Verdict verdict = guard_.check(header); !verdict.serve()) {
      early = Response{.status = *verdict.status,
                       .body = std::move(verdict.body),
                       .headers = std::move(verdict.headers)};
    } else if (declared_too_large) {
      // content_length() may not be asked here (a Beast assertion: the parser does not count
      // the header as done), so the size is quoted from the header field itself.
      early = error_response(
          bhttp::status::payload_too_large, mcp::error_code::kInvalidRequest,
          fmt::format("the body of {} bytes exceeds the limit of {} bytes "
                      "(max_message_size)",
                      header[bhttp::field::content_length], settings_.max_body_size));
    } else if (!parser.is_done() && !takes_body(header)) {
      // Only POST /mcp reads a body; any other request is answered from its header alone.
      early = handle(Request{bhttp::request<bhttp::string_body>(bhttp::request_header<>(header))});
    } else {
      answer_early = false;
    }
    if (!answer_early) {
      stream.expires_after(settings_.body_timeout);
      auto [body_ec, body_bytes] = co_await bhttp::async_read(stream, buffer, parser, kAsTuple);
      if (alive.expired()) co_return;
      if (body_ec == bhttp::error::body_limit) {
        early =
            error_response(bhttp::status::payload_too_large, mcp::error_code::kInvalidRequest,
                           fmt::format("the body exceeds the limit of {} bytes (max_message_size)",
                                       settings_.max_body_size));
        answer_early = true;
      } else if (body_ec) {
        break;
      }
    }

    unsigned version = parser.get().version();
    if (answer_early) {
      stream.expires_never();  // what is written next has its own bound
      auto began = std::chrono::steady_clock::now();
      for (auto& cors : guard_.cors_headers(parser.get())) early.headers.push_back(std::move(cors));
      bool body_unread = !parser.is_done();
      bool keep_alive = !body_unread && parser.get().keep_alive();
      bool written = co_await write_response(stream, buffer, version, keep_alive, early);
      if (alive.expired()) co_return;
      log_request(parser.get(), early, began);
      if (body_unread) {
        // The connection cannot go on, and the client may still be sending the body. Closing
        // with unread bytes makes the kernel send a reset, which can destroy the response
        // before the client reads it: so stop sending, and read what still comes (bounded,
        // into a small buffer that is thrown away) before closing.
        if (written) co_await linger(stream);
        co_return;
      }
      if (!written || !keep_alive || stopped_) break;
      continue;
    }
    Request request{parser.release()};
    bool keep_alive = request.message.keep_alive();
    stream.expires_never();  // a tool call may take as long as it is allowed to
    auto began = std::chrono::steady_clock::now();
    Response response = handle(request);
    for (auto& header : guard_.cors_headers(request.message)) {
      response.headers.push_back(std::move(header));
    }
    bool usable = co_await write_response(stream, buffer, version, keep_alive, response);
    if (alive.expired()) co_return;
    log_request(request.message, response, began);
    if (!usable || !keep_alive || stopped_) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

}  // namespace http

#include "transport/http/http_server.h"

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
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "transport/http/mirrored_headers.h"
#include "transport/http/request_guard.h"
#include "transport/http/session_id.h"
#include "mcp/json_rpc.h"
#include "mcp/message.h"

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
constexpr std::string_view kMethodHeader = "Mcp-Method";
constexpr std::string_view kNameHeader = "Mcp-Name";
// What the watch for a vanished client reads at most while a request waits (a pipelined
// request's first bytes, kept for the parser).
constexpr size_t kWatchBytes = 4096;
constexpr size_t kHeaderLimit = 16 * 1024;
constexpr std::chrono::milliseconds kSweepInterval{100};

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// Whether an Accept header lists `type` (media types are case-insensitive).
bool accepts(std::string_view accept, std::string_view type) {
  for (size_t at = 0; at + type.size() <= accept.size(); ++at) {
    if (beast::iequals(accept.substr(at, type.size()), type)) return true;
  }
  return false;
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

// Whether the server reads this request's body: only POST /mcp carries a message.
bool takes_body(const bhttp::request_header<>& header) {
  return header.method() == bhttp::verb::post && path_of(header.target()) == "/mcp";
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
  // When set, the answer is still to come: write_response waits for it.
  std::shared_ptr<Exchange> exchange;
  HeaderList headers;  // more headers: the guard's (WWW-Authenticate, CORS)
  std::string_view content_type = "application/json";  // of a non-empty body
};

namespace {

HttpServer::Response from_submitted(Submitted submitted) {
  HttpServer::Response response;
  if (submitted.exchange) {
    response.exchange = std::move(submitted.exchange);
  } else {
    response.status = static_cast<bhttp::status>(submitted.status);
    response.body = std::move(submitted.body);
  }
  return response;
}

HttpServer::Response error_response(bhttp::status status, int code, std::string message,
                                    const Json& id = nullptr) {
  return HttpServer::Response{.status = status,
                              .body = mcp::serialize(mcp::make_error(id, code, std::move(message)))};
}

// A path this server does not serve, whoever asks (with a token configured or not). The clients
// that ask are OAuth clients probing for discovery and registration documents after a 401
// (`/.well-known/oauth-protected-resource`, `/register`, ...): they read a 404 as "none here",
// and parse the body of a failed registration as an OAuth error (RFC 6749 section 5.2, RFC 7591
// section 3.2.2), so the body takes that shape and its description is what such a client shows.
HttpServer::Response not_the_servers_path() {
  Json body{{"error", "not_found"},
            {"error_description",
             "not found: this server serves MCP at /mcp and has no OAuth endpoints; when it asks "
             "for a token, send the one its operator configured as the header 'Authorization: "
             "Bearer <token>'"}};
  return HttpServer::Response{.status = bhttp::status::not_found, .body = mcp::serialize(body)};
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
    auto [header_ec, header_bytes] = co_await bhttp::async_read_header(stream, buffer, parser, kAsTuple);
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
        early = error_response(
            bhttp::status::payload_too_large, mcp::error_code::kInvalidRequest,
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

namespace {

// One server-sent event carrying one JSON-RPC message (serialized compactly: no newline).
std::string sse_event(std::string_view message) {
  return fmt::format("event: message\ndata: {}\n\n", message);
}

asio::awaitable<bool> write_chunk(beast::tcp_stream& stream, std::string_view data,
                                  std::chrono::milliseconds timeout) {
  stream.expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(data)), kAsTuple);
  stream.expires_never();
  co_return !ec;
}

}  // namespace

asio::awaitable<bool> HttpServer::write_response(beast::tcp_stream& stream,
                                                 beast::flat_buffer& buffer, unsigned version,
                                                 bool keep_alive, Response& response) {
  std::weak_ptr<int> alive = alive_;
  if (response.exchange) {
    ++delivering_;
    struct Delivered {
      HttpServer* server;
      std::weak_ptr<int> alive;
      ~Delivered() {
        if (alive.expired()) return;
        if (--server->delivering_ == 0 && server->stopped_) server->drained_.cancel();
      }
    } delivered{this, alive};
    Exchange& exchange = *response.exchange;
    if (exchange.streaming()) {
      response.status = bhttp::status::ok;
      bool usable =
          co_await write_stream(stream, buffer, version, keep_alive, response.headers, exchange);
      co_return usable && !alive.expired();
    }
    bool watching = true;
    while (exchange.outcome() == Exchange::Outcome::kPending) {
      Wake wake = co_await await_news(stream, buffer, exchange, watching);
      if (alive.expired()) co_return false;
      if (wake == Wake::kGone) {
        exchange.abandon();
        co_return false;
      }
    }
    response.status = static_cast<bhttp::status>(exchange.status());
    response.body = std::move(exchange.body());
  }

  bhttp::response<bhttp::string_body> out{response.status, version};
  out.set(bhttp::field::server, "mcp-background-job/" + version_);
  if (!response.body.empty()) out.set(bhttp::field::content_type, response.content_type);
  if (!response.session_id.empty()) out.set(kSessionHeader, response.session_id);
  if (!response.allow.empty()) out.set(bhttp::field::allow, response.allow);
  for (const auto& [name, value] : response.headers) out.set(name, value);
  out.body() = std::move(response.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  if (metrics_ != nullptr) metrics_->http_request(out.result_int());
  stream.expires_after(settings_.write_timeout);
  auto [write_ec, written] = co_await bhttp::async_write(stream, out, kAsTuple);
  if (alive.expired()) co_return false;
  stream.expires_never();
  co_return !write_ec;
}

asio::awaitable<bool> HttpServer::write_stream(beast::tcp_stream& stream,
                                               beast::flat_buffer& buffer, unsigned version,
                                               bool keep_alive, const HeaderList& headers,
                                               Exchange& exchange) {
  std::weak_ptr<int> alive = alive_;
  bhttp::response<bhttp::empty_body> head{bhttp::status::ok, version};
  head.set(bhttp::field::server, "mcp-background-job/" + version_);
  head.set(bhttp::field::content_type, "text/event-stream");
  head.set(bhttp::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");  // proxies such as nginx would hold the events back
  for (const auto& [name, value] : headers) head.set(name, value);
  head.keep_alive(keep_alive);
  head.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> serializer{head};
  if (metrics_ != nullptr) metrics_->http_request(head.result_int());
  Counted streaming(open_streams_, alive);
  stream.expires_after(settings_.write_timeout);
  auto [head_ec, head_bytes] = co_await bhttp::async_write_header(stream, serializer, kAsTuple);
  if (alive.expired()) co_return false;
  stream.expires_never();
  bool watching = true;
  bool written = !head_ec;
  while (written) {
    for (const auto& event : exchange.take_events()) {
      written = co_await write_chunk(stream, sse_event(event), settings_.write_timeout);
      if (alive.expired()) co_return false;
      if (!written) break;
    }
    if (!written) break;
    auto outcome = exchange.outcome();
    if (outcome != Exchange::Outcome::kPending) {
      // The answer (or, if the server will not answer, the error saying so) ends the stream;
      // a stream that answers no request (GET) just ends.
      if (outcome != Exchange::Outcome::kWithdrawn && !exchange.body().empty()) {
        written = co_await write_chunk(stream, sse_event(exchange.body()), settings_.write_timeout);
        if (alive.expired()) co_return false;
      }
      break;
    }
    Wake wake = co_await await_news(stream, buffer, exchange, watching);
    if (alive.expired()) co_return false;
    if (wake == Wake::kGone) break;
    if (wake == Wake::kQuiet) {
      written = co_await write_chunk(stream, ": keep-alive\n\n", settings_.write_timeout);
      if (alive.expired()) co_return false;
    }
  }
  if (!written || exchange.outcome() == Exchange::Outcome::kPending) {
    exchange.abandon();  // the client left (or stopped reading) before the end
    co_return false;
  }
  stream.expires_after(settings_.write_timeout);
  auto [last_ec, last_bytes] = co_await asio::async_write(stream, bhttp::make_chunk_last(), kAsTuple);
  if (alive.expired()) co_return false;
  stream.expires_never();
  co_return !last_ec;
}

asio::awaitable<HttpServer::Wake> HttpServer::await_news(beast::tcp_stream& stream,
                                                         beast::flat_buffer& buffer,
                                                         Exchange& exchange, bool& watching) {
  if (exchange.has_news()) co_return Wake::kNews;
  namespace experimental = asio::experimental;
  auto& news = exchange.news();
  news.expires_at(asio::steady_timer::time_point::max());
  // Streams send a comment when quiet; a JSON answer has nothing to send before it is ready.
  asio::steady_timer quiet(executor_);
  if (exchange.streaming()) {
    quiet.expires_after(settings_.keep_alive_interval);
  } else {
    quiet.expires_at(asio::steady_timer::time_point::max());
  }
  if (!watching) {
    auto [order, news_ec, quiet_ec] =
        co_await experimental::make_parallel_group(news.async_wait(asio::deferred),
                                                   quiet.async_wait(asio::deferred))
            .async_wait(experimental::wait_for_one(), asio::use_awaitable);
    co_return order[0] == 1 ? Wake::kQuiet : Wake::kNews;
  }
  // The socket is read directly, not through the stream: its timeout must not apply.
  auto space = buffer.prepare(kWatchBytes);
  auto [order, news_ec, read_ec, read_bytes, quiet_ec] =
      co_await experimental::make_parallel_group(
          news.async_wait(asio::deferred),
          stream.socket().async_read_some(space, asio::deferred),
          quiet.async_wait(asio::deferred))
          .async_wait(experimental::wait_for_one(), asio::use_awaitable);
  if (read_bytes > 0) {
    // A pipelined request: kept for the parser. The client is still there; stop watching.
    buffer.commit(read_bytes);
    watching = false;
    co_return Wake::kNews;
  }
  if (order[0] == 1) co_return read_ec ? Wake::kGone : Wake::kNews;
  co_return order[0] == 2 ? Wake::kQuiet : Wake::kNews;
}

HttpServer::Response HttpServer::handle(const Request& request) {
  // The guard has passed the request already (serve_connection asks it on the header).
  const auto& message = request.message;
  std::string_view path = path_of(message.target());
  if (path == "/healthz") {
    if (message.method() != bhttp::verb::get) {
      return Response{.status = bhttp::status::method_not_allowed, .allow = "GET"};
    }
    return healthz();
  }
  if (path == "/metrics" && metrics_ != nullptr) {
    if (message.method() != bhttp::verb::get) {
      return Response{.status = bhttp::status::method_not_allowed, .allow = "GET"};
    }
    return metrics();
  }
  if (path != "/mcp") return not_the_servers_path();
  switch (message.method()) {
    case bhttp::verb::post:
      return post_mcp(request);
    case bhttp::verb::get:
      return get_mcp(request);
    case bhttp::verb::delete_:
      return delete_mcp(request);
    default:
      return Response{.status = bhttp::status::method_not_allowed, .allow = "GET, POST, DELETE"};
  }
}

HttpServer::Response HttpServer::post_mcp(const Request& request) {
  const auto& message = request.message;
  if (!is_json(message[bhttp::field::content_type])) {
    return error_response(bhttp::status::unsupported_media_type, mcp::error_code::kInvalidRequest,
                          "the body must be application/json");
  }
  // The one decode of the body: the session or endpoint below hands it on as it is.
  mcp::Message decoded = mcp::decode(message.body());
  switch (decoded.problem) {
    case mcp::Message::Problem::kNone:
      break;
    case mcp::Message::Problem::kNotJson:
      return error_response(bhttp::status::bad_request, mcp::error_code::kParseError,
                            "parse error: the body is not valid JSON");
    case mcp::Message::Problem::kBatch:
      return error_response(bhttp::status::bad_request, mcp::error_code::kInvalidRequest,
                            "batched requests are not supported; send one JSON-RPC message per "
                            "request");
    case mcp::Message::Problem::kNotObject:
      return error_response(bhttp::status::bad_request, mcp::error_code::kInvalidRequest,
                            "invalid request: expected a JSON object");
    case mcp::Message::Problem::kTooDeep:
      return error_response(bhttp::status::bad_request, mcp::error_code::kInvalidRequest,
                            fmt::format("invalid request: arrays and objects nest deeper than {} "
                                        "levels",
                                        mcp::kMaxNesting));
  }
  ClientAccepts may_stream = accepts(message[bhttp::field::accept], "text/event-stream")
                                 ? ClientAccepts::kEventStream
                                 : ClientAccepts::kJsonOnly;
  const Json& parsed = decoded.body;
  bool is_initialize = parsed.contains("id") && parsed.value("method", Json()) == "initialize";
  std::string_view version_header = message[kVersionHeader];
  // The era: a 2026-07-28 version (in the header or the body's _meta) is modern, whatever
  // session id the request also carries (the specification says to ignore it); anything else
  // is legacy, where initialize opens a session.
  bool modern_header = !version_header.empty() && !legacy_protocol_version_supported(version_header);
  if (modern_header || decoded.era == mcp::Era::kModern) {
    return post_modern(request, std::move(decoded), may_stream);
  }
  std::string_view session_header = message[kSessionHeader];

  std::shared_ptr<McpSession> session;
  if (is_initialize) {
    if (stopped_) {
      return error_response(bhttp::status::service_unavailable, mcp::error_code::kInternalError,
                            "the server is shutting down");
    }
    if (!make_room()) {
      return error_response(bhttp::status::service_unavailable, mcp::error_code::kInternalError,
                            fmt::format("too many sessions ({}) with requests running; end one "
                                        "with DELETE",
                                        sessions_.size()));
    }
    session = std::make_shared<McpSession>(new_session_id(), executor_, make_server_,
                                           settings_.max_streams_per_session);
    Submitted submitted = session->submit(std::move(decoded), may_stream);
    Response response = from_submitted(std::move(submitted));
    // initialize is answered at once; a result (not an error) opens the session.
    if (response.exchange || session->initialized()) {
      response.session_id = session->id();
      sessions_.emplace(session->id(), session);
      spdlog::info("http: session {} started", session->id());
    } else {
      retire(std::move(session));
    }
    return response;
  }
  Response refusal;
  auto session_found = session_named(
      session_header,
      " (send initialize first to get one, or use protocol 2026-07-28, which needs none)",
      ": it ended or never existed; send initialize to start a new one", refusal);
  if (!session_found) return refusal;
  if (!legacy_protocol_version_supported(version_header)) {
    return error_response(bhttp::status::bad_request, mcp::error_code::kInvalidRequest,
                          fmt::format("Bad Request: unsupported MCP-Protocol-Version {}; "
                                      "supported: {}",
                                      std::string(version_header),
                                      fmt::join(mcp::kLegacyVersions, ", ")));
  }
  return from_submitted(session_found->submit(std::move(decoded), may_stream));
}

HttpServer::Response HttpServer::post_modern(const Request& request, mcp::Message decoded,
                                             ClientAccepts may_stream) {
  const Json& message = decoded.body;
  if (decoded.is_request()) {
    const auto& headers = request.message;
    MirroredHeaders mirrored{.protocol_version = headers[kVersionHeader],
                             .method = headers[kMethodHeader],
                             .name = headers[kNameHeader]};
    if (auto problem = mirrored_header_problem(mirrored, message)) {
      const Json& id = message["id"];
      return error_response(bhttp::status::bad_request, mcp::error_code::kHeaderMismatch,
                            std::move(*problem),
                            id.is_string() || id.is_number_integer() ? id : Json());
    }
  }
  return from_submitted(stateless_->submit(std::move(decoded), may_stream));
}

HttpServer::Response HttpServer::get_mcp(const Request& request) {
  const auto& message = request.message;
  std::string_view version_header = message[kVersionHeader];
  if (!version_header.empty() && !legacy_protocol_version_supported(version_header)) {
    // 2026-07-28 has no GET stream: notifications travel on subscriptions/listen.
    return Response{.status = bhttp::status::method_not_allowed, .allow = "POST"};
  }
  std::string_view session_header = message[kSessionHeader];
  Response refusal;
  auto session = session_named(
      session_header, ": the GET stream belongs to a session (send initialize first)",
      ": it ended or never existed", refusal);
  if (!session) return refusal;
  if (!accepts(message[bhttp::field::accept], "text/event-stream")) {
    return error_response(bhttp::status::not_acceptable, mcp::error_code::kInvalidRequest,
                          "Not Acceptable: the GET stream is text/event-stream; send Accept: "
                          "text/event-stream");
  }
  auto stream = session->open_stream();
  if (!stream) {
    return error_response(bhttp::status::conflict, mcp::error_code::kInvalidRequest,
                          fmt::format("this session has {} SSE streams open already (the limit, "
                                      "http_max_streams_per_session); close one first",
                                      settings_.max_streams_per_session));
  }
  return Response{.exchange = std::move(stream)};
}

HttpServer::Response HttpServer::delete_mcp(const Request& request) {
  std::string_view version_header = request.message[kVersionHeader];
  if (!version_header.empty() && !legacy_protocol_version_supported(version_header)) {
    return Response{.status = bhttp::status::method_not_allowed, .allow = "POST"};
  }
  std::string_view header = request.message[kSessionHeader];
  Response refusal;
  auto session = session_named(header, "", "", refusal);
  if (!session) return refusal;
  sessions_.erase(session->id());
  spdlog::info("http: session {} ended by the client", session->id());
  retire(std::move(session));
  return Response{.status = bhttp::status::no_content};
}

HttpServer::Response HttpServer::healthz() const {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now() - started_);
  Json body{{"status", "ok"},
            {"version", version_},
            {"uptime_seconds", uptime.count()},
            {"jobs_running", jobs_.running_count()},
            {"jobs_queued", jobs_.queued_count()}};
  return Response{.status = bhttp::status::ok, .body = mcp::serialize(body)};
}

HttpServer::Response HttpServer::metrics() {
  metrics_->set_sessions(sessions_.size());
  metrics_->set_open_streams(open_streams_);
  return Response{.status = bhttp::status::ok,
                  .body = metrics_->render(),
                  .content_type = observe::Metrics::kContentType};
}

std::shared_ptr<McpSession> HttpServer::find_session(std::string_view header) const {
  if (!is_session_id(header)) return nullptr;
  auto it = sessions_.find(std::string(header));
  return it == sessions_.end() ? nullptr : it->second;
}

std::shared_ptr<McpSession> HttpServer::session_named(std::string_view header,
                                                      std::string_view if_missing,
                                                      std::string_view if_unknown,
                                                      Response& refusal) const {
  if (header.empty()) {
    refusal = error_response(bhttp::status::bad_request, mcp::error_code::kInvalidRequest,
                             fmt::format("Bad Request: {} header is required{}", kSessionHeader,
                                         if_missing));
    return nullptr;
  }
  auto session = find_session(header);
  if (!session) {
    refusal = error_response(bhttp::status::not_found, mcp::error_code::kInvalidRequest,
                             fmt::format("session not found{}", if_unknown));
  }
  return session;
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
  session->end(404, "session not found: it ended while the request was running");
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
  // Nothing outside a session refers to it (exchanges do not): it may go once its server's
  // calls have completed.
  std::erase_if(retired_, [](const std::shared_ptr<McpSession>& session) {
    return session->idle();
  });
}

}  // namespace http

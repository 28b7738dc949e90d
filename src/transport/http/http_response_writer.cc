// HttpServer's answers on the wire: a JSON response at once or when its exchange is answered, or
// an SSE stream of the exchange's events, while watching for the client leaving.
#include <fmt/format.h>

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "transport/http/http_server_parts.h"

namespace http {

using namespace server_parts;

namespace {

// What the watch for a vanished client reads at most while a request waits (a pipelined
// request's first bytes, kept for the parser).
constexpr size_t kWatchBytes = 4096;

// One server-sent event carrying one JSON-RPC message (serialized compactly: no newline).
std::string sse_event(std::string_view message) {
  return fmt::format("event: message\ndata: {}\n\n", message);
}

asio::awaitable<bool> write_chunk(beast::tcp_stream& stream, std::string_view data,
                                  std::chrono::milliseconds timeout) {
  stream.expires_after(timeout);
  auto [ec, n] =
      co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(data)), kAsTuple);
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
  auto [last_ec, last_bytes] =
      co_await asio::async_write(stream, bhttp::make_chunk_last(), kAsTuple);
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
          news.async_wait(asio::deferred), stream.socket().async_read_some(space, asio::deferred),
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

}  // namespace http

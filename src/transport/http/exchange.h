#pragma once
/// One HTTP request waiting on an McpServer. Whoever routes the server's messages (a legacy
/// session, or the stateless 2026-07-28 endpoint) fills it: messages that belong to the request
/// (its progress, a subscription's notifications), then how it ends. The connection that owns the
/// request drains it, as one JSON response or as an SSE stream, and says when the client left.
///
/// Used from the io_context's thread only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace http {

/// How a request's answer goes out: one JSON body, or an SSE stream carrying the events before it.
enum class Delivery { kJson, kStream };

/// What a client's Accept header allows for the answer to its POST: JSON only, or an SSE stream
/// too (used when the request asks for progress, and for subscriptions/listen).
enum class ClientAccepts { kJsonOnly, kEventStream };

class Exchange {
 public:
  enum class Outcome {
    kPending,
    kAnswered,   // `body` is the JSON-RPC response to the request (status 200, 400 or 404)
    kRefused,    // the server will not answer (session ended, shutting down): `body` says why
    kWithdrawn,  // no answer will come and none is owed (the client cancelled): 204
  };
  /// Events a stream may hold before the oldest are dropped: progress is cumulative, so a
  /// reader that fell behind loses only intermediate steps.
  static constexpr size_t kMaxQueuedEvents = 256;

  Exchange(const boost::asio::any_io_executor& executor, Delivery delivery);

  bool streaming() const { return delivery_ == Delivery::kStream; }

  // The router's side. Nothing may follow the first of answer/refuse/withdraw.
  void push(std::string message);
  void answer(std::string response, unsigned status = 200);
  void refuse(unsigned status, std::string body);
  void withdraw();

  // The connection's side.
  bool has_news() const { return !events_.empty() || outcome_ != Outcome::kPending; }
  std::deque<std::string> take_events() { return std::exchange(events_, {}); }
  Outcome outcome() const { return outcome_; }
  unsigned status() const { return status_; }
  std::string& body() { return body_; }
  size_t dropped_events() const { return dropped_events_; }
  /// Cancelled (never expires on its own) whenever there is news: wait on it after has_news()
  /// said there was none.
  boost::asio::steady_timer& news() { return news_; }
  /// The client went away before the end. Tells the router (see on_abandoned) once.
  void abandon();
  /// Set by the router: what a client leaving means for the request (2026-07-28: cancellation).
  std::function<void()> on_abandoned;

 private:
  void finish(Outcome outcome, unsigned status, std::string body);

  Delivery delivery_;
  std::deque<std::string> events_;
  size_t dropped_events_ = 0;
  Outcome outcome_ = Outcome::kPending;
  unsigned status_ = 0;
  std::string body_;
  boost::asio::steady_timer news_;
};

/// What a router made of one POSTed message: an answer at once (`exchange` null), or an
/// exchange to wait on.
struct Submitted {
  unsigned status = 0;
  std::string body;  // JSON, or empty
  std::shared_ptr<Exchange> exchange;
};

}  // namespace http

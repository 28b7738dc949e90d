#include "transport/http/exchange.h"

#include <utility>

namespace http {

Exchange::Exchange(const boost::asio::any_io_executor& executor, Delivery delivery)
    : delivery_(delivery), news_(executor) {
  news_.expires_at(boost::asio::steady_timer::time_point::max());
}

void Exchange::push(std::string message) {
  // A JSON answer has no room for anything before it: such messages are dropped (the
  // specification sends progress only where it can travel).
  if (!streaming() || outcome_ != Outcome::kPending) return;
  if (events_.size() >= kMaxQueuedEvents) {
    events_.pop_front();
    ++dropped_events_;
  }
  events_.push_back(std::move(message));
  news_.cancel();
}

void Exchange::answer(std::string response, unsigned status) {
  finish(Outcome::kAnswered, status, std::move(response));
}

void Exchange::refuse(unsigned status, std::string body) {
  finish(Outcome::kRefused, status, std::move(body));
}

void Exchange::withdraw() { finish(Outcome::kWithdrawn, 204, {}); }

void Exchange::finish(Outcome outcome, unsigned status, std::string body) {
  if (outcome_ != Outcome::kPending) return;
  outcome_ = outcome;
  status_ = status;
  body_ = std::move(body);
  news_.cancel();
}

void Exchange::abandon() {
  if (outcome_ != Outcome::kPending) return;
  outcome_ = Outcome::kWithdrawn;
  events_.clear();
  if (auto tell = std::exchange(on_abandoned, nullptr)) tell();
}

}  // namespace http

#pragma once
/// Drives an io_context until a condition holds or a deadline passes: tests wait on what they
/// mean, never on a guessed sleep.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace test {

template <class Condition>
bool run_until(boost::asio::io_context& io, Condition condition,
               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return true;
}

/// Makes asio open its epoll, eventfd and timerfd, and the pipe its signal handling uses (a
/// JobManager watches SIGCHLD), now rather than on first use, so an fd count taken afterwards is
/// a true baseline.
inline void open_reactor(boost::asio::io_context& io) {
  boost::asio::steady_timer timer(io);
  boost::asio::signal_set signals(io);
}

}  // namespace test

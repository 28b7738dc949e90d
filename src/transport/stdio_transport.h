#pragma once
/// Moves newline-delimited messages over a pair of file descriptors (stdin/stdout), without
/// blocking the loop and without knowing what the messages mean. A line longer than the limit is
/// skipped whole and reported, so one oversized message never wedges the stream.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

namespace transport {

class StdioTransport {
 public:
  struct Handlers {
    std::function<void(std::string_view line)> on_message;
    std::function<void(uint64_t size)> on_oversized;  // a line of `size` bytes was skipped
    std::function<void()> on_closed;                  // input reached EOF (or failed)
  };

  StdioTransport(const boost::asio::any_io_executor& executor, int input_fd, int output_fd,
                 uint64_t max_message_size, Handlers handlers);
  ~StdioTransport();

  void start();

  /// Queues one message; a newline is appended. Never blocks.
  void send(std::string message);

  /// Completes once everything queued so far has been written (or output has failed).
  boost::asio::awaitable<void> flush();

 private:
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();

  boost::asio::any_io_executor executor_;
  boost::asio::posix::stream_descriptor input_;
  boost::asio::posix::stream_descriptor output_;
  int input_flags_;  // Restored on destruction: the fds may be shared with a terminal.
  int output_flags_;
  uint64_t max_message_size_;
  Handlers handlers_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool output_failed_ = false;
  boost::asio::steady_timer drained_;  // Never expires; cancelled whenever the outbox empties.
};

}  // namespace transport

#include "transport/stdio_transport.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace transport {
namespace {

namespace asio = boost::asio;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// asio's descriptors take ownership and close on destruction; stdin and stdout must outlive
// them, so the transport works on duplicates (close-on-exec, so jobs never inherit them).
int duplicate(int fd) { return ::fcntl(fd, F_DUPFD_CLOEXEC, 3); }

}  // namespace

StdioTransport::StdioTransport(const asio::any_io_executor& executor, int input_fd, int output_fd,
                               uint64_t max_message_size, Handlers handlers)
    : executor_(executor),
      input_(executor, duplicate(input_fd)),
      output_(executor, duplicate(output_fd)),
      input_flags_(::fcntl(input_fd, F_GETFL)),
      output_flags_(::fcntl(output_fd, F_GETFL)),
      max_message_size_(max_message_size),
      handlers_(std::move(handlers)),
      drained_(executor, std::chrono::steady_clock::time_point::max()) {}

StdioTransport::~StdioTransport() {
  // O_NONBLOCK lives on the open file description, which a terminal or a parent shares.
  if (input_flags_ >= 0) ::fcntl(input_.native_handle(), F_SETFL, input_flags_);
  if (output_flags_ >= 0) ::fcntl(output_.native_handle(), F_SETFL, output_flags_);
}

void StdioTransport::start() { asio::co_spawn(executor_, read_loop(), asio::detached); }

asio::awaitable<void> StdioTransport::read_loop() {
  std::array<char, size_t{64} * 1024> chunk;
  std::string line;
  bool skipping = false;      // inside a line that already exceeded the limit
  uint64_t skipped_size = 0;  // how long that line has been so far
  for (;;) {
    auto [ec, n] = co_await input_.async_read_some(asio::buffer(chunk), kAsTuple);
    // Aborted means the transport was destroyed: `this` is gone, touch nothing.
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) break;  // EOF (the client closed stdin) or a read error: both end the session
    std::string_view data(chunk.data(), n);
    while (!data.empty()) {
      size_t newline = data.find('\n');
      std::string_view piece = data.substr(0, newline);
      data.remove_prefix(newline == std::string_view::npos ? data.size() : newline + 1);
      if (!skipping && line.size() + piece.size() > max_message_size_) {
        skipping = true;
        skipped_size = line.size();
        line.clear();
        line.shrink_to_fit();
      }
      if (skipping) {
        skipped_size += piece.size();
      } else {
        line.append(piece);
      }
      if (newline == std::string_view::npos) break;  // the line continues in the next chunk
      if (skipping) {
        skipping = false;
        handlers_.on_oversized(skipped_size);
      } else {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) handlers_.on_message(line);
      }
      line.clear();
    }
  }
  handlers_.on_closed();
}

void StdioTransport::send(std::string message) {
  if (output_failed_) return;
  message.push_back('\n');
  outbox_.push_back(std::move(message));
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(executor_, write_loop(), asio::detached);
  }
}

asio::awaitable<void> StdioTransport::write_loop() {
  while (!outbox_.empty()) {
    auto [ec, n] = co_await asio::async_write(output_, asio::buffer(outbox_.front()), kAsTuple);
    if (ec == asio::error::operation_aborted) co_return;  // destroyed: `this` is gone
    if (ec) {
      // The client stopped reading (EPIPE): nothing can reach it any more.
      spdlog::warn("stdout write failed: {}; dropping further output", ec.message());
      output_failed_ = true;
      outbox_.clear();
      break;
    }
    outbox_.pop_front();
  }
  writing_ = false;
  drained_.cancel();
}

asio::awaitable<void> StdioTransport::flush() {
  while (writing_ && !output_failed_) co_await drained_.async_wait(kAsTuple);
}

}  // namespace transport

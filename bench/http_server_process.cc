#include "http_server_process.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <csignal>
#include <cstring>
#include <optional>

#include "failure.h"
#include "fds.h"

namespace bench {
namespace {

namespace asio = boost::asio;

constexpr std::string_view kAddressPrefix = "serving MCP at http://";

// "HOST:PORT/mcp" from the address line; HOST may be an IPv6 literal in brackets.
std::optional<asio::ip::tcp::endpoint> parse_address(std::string_view text) {
  size_t path = text.find("/mcp");
  if (path == std::string_view::npos) return std::nullopt;
  std::string_view host_port = text.substr(0, path);
  size_t colon = host_port.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = host_port.substr(0, colon);
  std::string_view port_text = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint16_t port = 0;
  auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return asio::ip::tcp::endpoint(address, port);
}

}  // namespace

HttpServerProcess::HttpServerProcess(const asio::any_io_executor& executor,
                                     const ServerLaunch& launch, Clock::duration timeout)
    : stderr_(executor), deadline_(executor), log_path_(launch.log_path.string()) {
  Pipe from_stderr = unwrap(make_pipe(), "creating the server's stderr pipe");
  log_ = unwrap(create_file(launch.log_path), "creating the server log");
  // Neither stdin nor stdout is part of the HTTP transport; /dev/null keeps the server off the
  // driver's terminal and report.
  base::UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  check(null.valid(), "opening /dev/null: {}", std::strerror(errno));
  server_ = unwrap(spawn(SpawnRequest{.argv = {launch.path, "--http", "127.0.0.1:0"},
                                      .env = launch.env,
                                      .group = ProcessGroup::kInherit,
                                      .stdin_fd = null.get(),
                                      .stdout_fd = null.get(),
                                      .stderr_fd = from_stderr.write_end.get()}),
                   fmt::format("starting the server {} --http 127.0.0.1:0", launch.path));
  // Only the child holds the write end now, so its exit shows up as EOF here.
  from_stderr.write_end.reset();

  const auto deadline = Clock::now() + timeout;
  std::string seen;
  std::array<char, 4096> chunk{};
  for (;;) {
    auto ready = unwrap(wait_readable(from_stderr.read_end.get(), deadline),
                        "waiting for the server's address");
    check(ready == Readiness::kReady, "the server printed no \"{}\" line within {:.0f} s (log: {})",
          kAddressPrefix, to_seconds(timeout), log_path_);
    size_t n = unwrap(read_some(from_stderr.read_end.get(), chunk), "reading the server's stderr");
    check(n > 0, "the server exited before serving HTTP; its stderr said: {}", seen);
    std::string_view bytes(chunk.data(), n);
    unwrap(write_all(log_.get(), bytes, deadline), "writing the server log");
    seen.append(bytes);
    size_t at = seen.find(kAddressPrefix);
    if (at == std::string::npos) continue;
    size_t end = seen.find('\n', at);
    if (end == std::string::npos) continue;  // The rest of the line is still to come.
    std::string_view line =
        std::string_view(seen).substr(at + kAddressPrefix.size(), end - at - kAddressPrefix.size());
    auto endpoint = parse_address(line);
    check(endpoint.has_value(), "cannot read the server's address from \"{}\"", line);
    endpoint_ = *endpoint;
    break;
  }
  stderr_.assign(from_stderr.read_end.release());
}

asio::awaitable<void> HttpServerProcess::copy_log() {
  std::array<char, size_t{16} * 1024> chunk{};
  for (;;) {
    auto [ec, n] =
        co_await stderr_.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    if (ec) break;  // EOF: the server has exited; or the deadline closed the pipe.
    // A regular file: a blocking write is short, and the deadline is not enforced.
    unwrap(write_all(log_.get(), std::string_view(chunk.data(), n), Clock::now()),
           "writing the server log");
  }
  boost::system::error_code ignored;
  stderr_.close(ignored);
  deadline_.cancel();
}

void HttpServerProcess::terminate(Clock::time_point deadline) {
  unwrap(server_.signal(SIGTERM), "sending SIGTERM to the server");
  deadline_.expires_at(deadline);
  deadline_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // Cancelled: the log reached EOF first.
    boost::system::error_code ignored;
    stderr_.close(ignored);
  });
}

void HttpServerProcess::await_exit(Clock::time_point deadline) {
  auto status = unwrap(server_.wait_until(deadline), "waiting for the server to exit");
  check(status.has_value(), "the server did not exit within its deadline after SIGTERM (log: {})",
        log_path_);
  check(status->exit_code == 0,
        "the server ended with {} after SIGTERM (expected exit code 0; log: {})",
        describe_exit(*status), log_path_);
}

}  // namespace bench

#pragma once
/// The server under test serving MCP over Streamable HTTP: started with `--http 127.0.0.1:0`, it
/// is found at the address it prints on stderr ("serving MCP at http://HOST:PORT/mcp"). Owns the
/// process and its stderr pipe, whose bytes go to the log file: up to the address line when it
/// starts, the rest through copy_log() on the io_context the load runs on (a server whose stderr
/// pipe filled up would stall mid-run). Its stdin is /dev/null. Destroying it before it was
/// reaped kills it (Child's rule). Single-threaded, not movable: copy_log() refers to it.

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "mcp_client.h"
#include "process.h"
#include "stats.h"

namespace bench {

class HttpServerProcess {
 public:
  /// Starts `launch.path --http 127.0.0.1:0` and reads its stderr until the address line; a
  /// server that exits first, or prints no address within `timeout`, is a Failure.
  HttpServerProcess(const boost::asio::any_io_executor& executor, const ServerLaunch& launch,
                    Clock::duration timeout);
  HttpServerProcess(const HttpServerProcess&) = delete;
  HttpServerProcess& operator=(const HttpServerProcess&) = delete;

  pid_t pid() const { return server_.pid(); }
  const boost::asio::ip::tcp::endpoint& endpoint() const { return endpoint_; }

  /// Copies the server's stderr to its log until EOF (the server has exited) or until
  /// terminate()'s deadline passes. Run it on the executor while the load runs.
  boost::asio::awaitable<void> copy_log();

  /// Sends SIGTERM (the server stops its jobs and exits). copy_log() then returns at EOF, or
  /// at `deadline` if the server is still running by then.
  void terminate(Clock::time_point deadline);

  /// After terminate() and the io_context has run out: reaps the server, which must have exited
  /// with code 0 by `deadline`.
  void await_exit(Clock::time_point deadline);

 private:
  Child server_;
  base::UniqueFd log_;
  boost::asio::posix::stream_descriptor stderr_;
  boost::asio::steady_timer deadline_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::string log_path_;  // For messages.
};

}  // namespace bench

#pragma once
/// A small synchronous MCP client for the benchmark: it owns one server process and the pipes to
/// it, sends one newline-delimited JSON-RPC request at a time and reads lines until the response
/// with the matching id arrives. Every read has a deadline, so a wedged server fails the run
/// instead of hanging it. Destroying a client that was not shut down closes the server's stdin
/// (so it stops its jobs), waits a bounded time, then kills it. Single-threaded.

#include <sys/types.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"
#include "process.h"
#include "stats.h"

namespace bench {

using Json = nlohmann::json;

struct ServerLaunch {
  std::string path;
  std::vector<std::string> env;    // The server's whole environment.
  std::filesystem::path log_path;  // Where its stderr (the log) goes.
};

/// One response, with the times that bracket it on the wire: `sent` is taken just before the
/// request is written and `received` as soon as the response line is complete, so client-side
/// JSON work stays outside the round trip.
struct Reply {
  Json result;
  Clock::time_point sent;
  Clock::time_point received;
  Clock::duration round_trip() const { return received - sent; }
};

class McpClient {
 public:
  /// Longest wait for any single response unless a call says otherwise.
  static constexpr std::chrono::seconds kDefaultTimeout{10};

  /// Starts the server and completes the MCP handshake (initialize, notifications/initialized).
  static McpClient start(const ServerLaunch& launch);

  McpClient(McpClient&&) = default;
  McpClient& operator=(McpClient&&) = delete;
  McpClient(const McpClient&) = delete;
  McpClient& operator=(const McpClient&) = delete;
  ~McpClient();

  pid_t pid() const { return server_.pid(); }

  /// Sends a request and returns its result; a JSON-RPC error response is a Failure.
  Reply request(std::string_view method, Json params, Clock::duration timeout = kDefaultTimeout);
  /// tools/call: returns the tool's structuredContent; a tool error (isError) is a Failure.
  Reply call_tool(std::string_view name, Json arguments, Clock::duration timeout = kDefaultTimeout);
  Reply ping() { return request("ping", Json::object()); }

  /// Closes the server's stdin, which asks it to stop every job and exit, and waits for it.
  /// Returns the time from closing stdin to the server being reaped; a non-zero exit is a Failure.
  Clock::duration shut_down(Clock::duration timeout);

 private:
  McpClient(Child server, base::UniqueFd to_server, base::UniqueFd from_server);
  void send_line(std::string line);
  // The next complete line from the server, without its '\n'.
  std::string read_line(Clock::time_point deadline);
  [[noreturn]] void fail_on_eof();

  Child server_;
  base::UniqueFd to_server_;
  base::UniqueFd from_server_;
  static constexpr size_t kReadChunk = 64 * 1024;
  std::vector<char> chunk_;  // Where read() puts bytes; allocated once, not per read.
  std::string buffer_;       // Bytes read but not yet returned as lines.
  size_t scanned_ = 0;       // buffer_[0, scanned_) is known to hold no '\n'.
  int64_t next_id_ = 1;
};

}  // namespace bench

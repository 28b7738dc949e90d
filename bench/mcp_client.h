#pragma once
/// A small synchronous MCP client for the benchmark: it owns one server process and the pipes to
/// it, sends newline-delimited JSON-RPC requests and reads lines until the response with the
/// id it wants arrives. Usually one request is outstanding at a time (request, call_tool); send
/// and collect let a scenario pipeline many and gather their responses later, in any order.
/// Every read and write has a deadline, so a wedged server fails the run instead of hanging it.
/// Destroying a client that was not shut down closes the server's stdin (so it stops its jobs),
/// waits a bounded time, then kills it. Single-threaded.

#include <sys/types.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
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

  /// Sends a request without waiting for its response and returns its id, which collect() takes.
  /// Any number of requests may be outstanding at once.
  int64_t send(std::string_view method, Json params);
  /// send() of tools/call; collect its response with collect_tool().
  int64_t send_tool_call(std::string_view name, Json arguments);
  /// The response to a request sent earlier: reads until it arrives or `timeout` passes.
  /// Responses to other outstanding requests read meanwhile are kept for their own collect();
  /// notifications are kept for take_notifications(). A JSON-RPC error response is a Failure,
  /// and so is a response to an id that is not outstanding.
  Reply collect(int64_t id, Clock::duration timeout = kDefaultTimeout);
  /// collect() for send_tool_call(): the tool's structuredContent, as call_tool() returns it.
  Reply collect_tool(int64_t id, Clock::duration timeout = kDefaultTimeout);
  /// Requests sent and not yet collected (whether or not their response has been read).
  size_t outstanding() const { return outstanding_.size(); }
  /// Responses read but not yet collected.
  size_t responses_read_ahead() const { return read_ahead_.size(); }
  /// Notifications the server sent since the last take_notifications(), in order of arrival.
  std::vector<Json> take_notifications() { return std::exchange(notifications_, {}); }

  /// Closes the server's stdin, which asks it to stop every job, answer the requests still
  /// pending and exit. Their responses can still be collected; await_exit() then reaps the
  /// server. Returns when stdin was closed.
  Clock::time_point close_input();
  /// After close_input(): reads the server's stdout to EOF (keeping responses for collect() and
  /// notifications aside, so that the server is never held back by a full pipe), then waits
  /// until it has exited and returns when it was reaped. A non-zero exit, or none by
  /// `deadline`, is a Failure.
  Clock::time_point await_exit(Clock::time_point deadline);
  /// close_input() then await_exit(): returns the time from closing stdin to the server being
  /// reaped.
  Clock::duration shut_down(Clock::duration timeout);

 private:
  enum class RequestKind { kPlain, kToolCall };
  struct Outstanding {
    RequestKind kind;
    std::string what;  // The method, or "tool <name>", for messages.
    Clock::time_point sent;
  };
  struct ReadAhead {
    Json message;
    Clock::time_point received;
  };

  McpClient(Child server, base::UniqueFd to_server, base::UniqueFd from_server);
  int64_t send_request(RequestKind kind, std::string what, std::string_view method, Json params);
  void send_line(std::string line);
  // The next complete line from the server, without its '\n'; nullopt at EOF. Nothing by
  // `deadline` is a Failure.
  std::optional<std::string> next_line(Clock::time_point deadline);
  // Files one line from the server: a response under read_ahead_, anything else under
  // notifications_. A response to an id that is not outstanding is a Failure.
  void take_in(const std::string& text, Clock::time_point received);
  [[noreturn]] void fail_on_eof();

  Child server_;
  base::UniqueFd to_server_;
  base::UniqueFd from_server_;
  static constexpr size_t kReadChunk = 64 * 1024;
  std::vector<char> chunk_;  // Where read() puts bytes; allocated once, not per read.
  std::string buffer_;       // Bytes read but not yet returned as lines.
  size_t scanned_ = 0;       // buffer_[0, scanned_) is known to hold no '\n'.
  int64_t next_id_ = 1;
  std::unordered_map<int64_t, Outstanding> outstanding_;  // Sent, not yet collected.
  std::unordered_map<int64_t, ReadAhead> read_ahead_;     // Read, not yet collected.
  std::vector<Json> notifications_;
};

}  // namespace bench

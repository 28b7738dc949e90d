#pragma once
/// The real mcp-background-job binary on a pair of pipes, for tests that speak raw JSON lines
/// (including malformed ones no SDK would send) and watch the process itself.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace test {

using Json = nlohmann::json;

class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args = {},
                         std::map<std::string, std::string> env = {});
  ~ServerProcess();

  pid_t pid() const { return pid_; }

  void send_line(const std::string& line);
  void send(const Json& message) { send_line(message.dump()); }
  /// The next line the server writes, parsed; nullopt at EOF or after `timeout`.
  std::optional<Json> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Reads lines until the response to `id` arrives (other messages are kept for later).
  std::optional<Json> response(const Json& id,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Sends a request and returns its response.
  Json request(const std::string& method, Json params = Json::object());
  /// initialize + notifications/initialized.
  void initialize();
  /// tools/call, returning result.structuredContent (or the whole result for errors).
  Json call(const std::string& tool, Json arguments);

  void close_stdin() { to_server_.reset(); }
  /// Waits for the server to exit and returns its wait status; nullopt after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(15));

  std::string stderr_text();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  base::UniqueFd to_server_;
  base::UniqueFd from_server_;
  base::UniqueFd server_stderr_;
  std::string buffer_;
  std::vector<Json> pending_;
  int next_id_ = 1000;
};

}  // namespace test

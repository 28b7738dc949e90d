#include "mcp_client.h"

#include <sys/wait.h>

#include "failure.h"
#include "fds.h"

namespace bench {
namespace {

// A server asked to stop gets this long before the destructor kills it: enough for its
// TERM-to-KILL grace (2 s by default) and reaping.
constexpr std::chrono::seconds kStopOnDestroy{10};
constexpr std::string_view kProtocolVersion = "2025-11-25";

std::string clip(std::string_view text, size_t limit = 300) {
  if (text.size() <= limit) return std::string(text);
  return std::string(text.substr(0, limit)) + "...";
}

}  // namespace

McpClient::McpClient(Child server, base::UniqueFd to_server, base::UniqueFd from_server)
    : server_(std::move(server)),
      to_server_(std::move(to_server)),
      from_server_(std::move(from_server)),
      chunk_(kReadChunk) {}

McpClient::~McpClient() {
  if (server_.reaped()) return;
  // Killing the server outright would orphan its jobs (each leads its own process group), so
  // ask it to stop them first; Child's destructor kills it only if it does not exit in time.
  to_server_.reset();
  (void)server_.wait_until(Clock::now() + kStopOnDestroy);
}

McpClient McpClient::start(const ServerLaunch& launch) {
  Pipe to_server = unwrap(make_pipe(), "creating the server's stdin pipe");
  Pipe from_server = unwrap(make_pipe(), "creating the server's stdout pipe");
  base::UniqueFd log = unwrap(create_file(launch.log_path), "creating the server log");
  Child server = unwrap(spawn(SpawnRequest{.argv = {launch.path},
                                           .env = launch.env,
                                           .group = ProcessGroup::kInherit,
                                           .stdin_fd = to_server.read_end.get(),
                                           .stdout_fd = from_server.write_end.get(),
                                           .stderr_fd = log.get()}),
                        fmt::format("starting the server {}", launch.path));
  // The child's ends now belong to the child alone. Closing ours at once means a server that
  // exits, even during the handshake, shows up as EOF on its stdout rather than as a timeout.
  to_server.read_end.reset();
  from_server.write_end.reset();
  log.reset();
  McpClient client(std::move(server), std::move(to_server.write_end),
                   std::move(from_server.read_end));

  Reply init =
      client.request("initialize", Json{{"protocolVersion", kProtocolVersion},
                                        {"capabilities", Json::object()},
                                        {"clientInfo", {{"name", "bench"}, {"version", "1"}}}});
  check(init.result.value("protocolVersion", "") == kProtocolVersion,
        "initialize answered protocol version {} instead of {}",
        init.result.value("protocolVersion", "(none)"), kProtocolVersion);
  client.send_line(Json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}.dump());
  return client;
}

void McpClient::send_line(std::string line) {
  line.push_back('\n');
  unwrap(write_all(to_server_.get(), line), "writing to the server's stdin");
}

Reply McpClient::request(std::string_view method, Json params, Clock::duration timeout) {
  const int64_t id = next_id_++;
  std::string line =
      Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}
          .dump();
  Reply reply;
  reply.sent = Clock::now();
  send_line(std::move(line));
  const auto deadline = reply.sent + timeout;
  for (;;) {
    std::string text = read_line(deadline);
    reply.received = Clock::now();
    Json message = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    check(message.is_object(), "the server sent a line that is not a JSON object: {}", clip(text));
    // Notifications (and requests, which a client with no capabilities is never sent) carry a
    // method; they are not the answer we wait for.
    if (message.contains("method") || !message.contains("id")) continue;
    check(message["id"] == id, "the server answered id {} while request {} ({}) was pending",
          message["id"].dump(), id, method);
    if (auto error = message.find("error"); error != message.end()) {
      raise("{} failed with a JSON-RPC error: {}", method, clip(error->dump()));
    }
    check(message.contains("result"), "the response to {} has neither result nor error: {}", method,
          clip(text));
    reply.result = std::move(message["result"]);
    return reply;
  }
}

Reply McpClient::call_tool(std::string_view name, Json arguments, Clock::duration timeout) {
  Reply reply =
      request("tools/call", Json{{"name", name}, {"arguments", std::move(arguments)}}, timeout);
  if (reply.result.value("isError", false)) {
    raise("tool {} returned an error: {}", name, clip(reply.result.dump(), 600));
  }
  auto structured = reply.result.find("structuredContent");
  check(structured != reply.result.end() && structured->is_object(),
        "tool {} returned no structuredContent: {}", name, clip(reply.result.dump()));
  reply.result = std::move(*structured);
  return reply;
}

std::string McpClient::read_line(Clock::time_point deadline) {
  for (;;) {
    if (size_t end = buffer_.find('\n', scanned_); end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      scanned_ = 0;
      return line;
    }
    scanned_ = buffer_.size();
    auto ready = unwrap(wait_readable(from_server_.get(), deadline), "waiting for the server");
    check(ready == Readiness::kReady, "the server did not answer before the deadline");
    size_t n = unwrap(read_some(from_server_.get(), chunk_), "reading the server's stdout");
    if (n == 0) fail_on_eof();
    buffer_.append(chunk_.data(), n);
  }
}

void McpClient::fail_on_eof() {
  // EOF means the server exited or closed stdout; say how it ended if it has.
  auto status = server_.wait_until(Clock::now() + std::chrono::seconds(2));
  if (status && *status) {
    raise("the server closed its stdout and exited ({})", describe_wait_status(**status));
  }
  raise("the server closed its stdout but is still running");
}

Clock::duration McpClient::shut_down(Clock::duration timeout) {
  const auto started = Clock::now();
  to_server_.reset();
  auto status = unwrap(server_.wait_until(started + timeout), "waiting for the server to exit");
  const auto ended = Clock::now();
  check(status.has_value(), "the server did not exit within {:.1f} s of its stdin closing",
        to_seconds(timeout));
  check(WIFEXITED(*status) && WEXITSTATUS(*status) == 0,
        "the server ended with {} after its stdin closed (expected exit code 0)",
        describe_wait_status(*status));
  return ended - started;
}

}  // namespace bench

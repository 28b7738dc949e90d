#include "mcp_client.h"

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
  // Requests are pipelined at times: a full pipe must end in a failed deadline, not a hang.
  unwrap(set_nonblocking(to_server.write_end.get()), "making the server's stdin non-blocking");
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
  unwrap(write_all(to_server_.get(), line, Clock::now() + kDefaultTimeout),
         "writing to the server's stdin");
}

Reply McpClient::request(std::string_view method, Json params, Clock::duration timeout) {
  return collect(send(method, std::move(params)), timeout);
}

Reply McpClient::call_tool(std::string_view name, Json arguments, Clock::duration timeout) {
  return collect_tool(send_tool_call(name, std::move(arguments)), timeout);
}

int64_t McpClient::send(std::string_view method, Json params) {
  return send_request(RequestKind::kPlain, std::string(method), method, std::move(params));
}

int64_t McpClient::send_tool_call(std::string_view name, Json arguments) {
  return send_request(RequestKind::kToolCall, fmt::format("tool {}", name), "tools/call",
                      Json{{"name", name}, {"arguments", std::move(arguments)}});
}

int64_t McpClient::send_request(RequestKind kind, std::string what, std::string_view method,
                                Json params) {
  const int64_t id = next_id_++;
  std::string line =
      Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}
          .dump();
  // The clock is read after the JSON work, so that a round trip is the wire and the server.
  const auto sent = Clock::now();
  send_line(std::move(line));
  outstanding_.emplace(id, Outstanding{.kind = kind, .what = std::move(what), .sent = sent});
  return id;
}

Reply McpClient::collect(int64_t id, Clock::duration timeout) {
  auto pending = outstanding_.find(id);
  check(pending != outstanding_.end(), "collecting request {}, which is not outstanding", id);
  // It stays outstanding until its response is in hand, so that a failure can count it.
  const Outstanding request = pending->second;
  const auto deadline = Clock::now() + timeout;
  auto arrived = read_ahead_.find(id);
  while (arrived == read_ahead_.end()) {
    std::optional<std::string> text = next_line(deadline);
    if (!text) fail_on_eof();
    const auto received = Clock::now();
    take_in(*text, received);
    arrived = read_ahead_.find(id);
  }
  Json message = std::move(arrived->second.message);
  Reply reply{.sent = request.sent, .received = arrived->second.received};
  read_ahead_.erase(arrived);
  outstanding_.erase(id);

  if (auto error = message.find("error"); error != message.end()) {
    raise("{} failed with a JSON-RPC error: {}", request.what, clip(error->dump()));
  }
  check(message.contains("result"), "the response to {} has neither result nor error: {}",
        request.what, clip(message.dump()));
  reply.result = std::move(message["result"]);
  return reply;
}

Reply McpClient::collect_tool(int64_t id, Clock::duration timeout) {
  auto pending = outstanding_.find(id);
  check(pending != outstanding_.end() && pending->second.kind == RequestKind::kToolCall,
        "collecting request {} as a tool call, which it is not (or it is not outstanding)", id);
  const std::string what = pending->second.what;
  Reply reply = collect(id, timeout);
  if (reply.result.value("isError", false)) {
    raise("{} returned an error: {}", what, clip(reply.result.dump(), 600));
  }
  auto structured = reply.result.find("structuredContent");
  check(structured != reply.result.end() && structured->is_object(),
        "{} returned no structuredContent: {}", what, clip(reply.result.dump()));
  reply.result = std::move(*structured);
  return reply;
}

void McpClient::take_in(const std::string& text, Clock::time_point received) {
  Json message = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  check(message.is_object(), "the server sent a line that is not a JSON object: {}", clip(text));
  // Notifications (and requests, which a client with no capabilities is never sent) carry a
  // method.
  if (message.contains("method") || !message.contains("id")) {
    notifications_.push_back(std::move(message));
    return;
  }
  const Json& answered = message["id"];
  check(answered.is_number_integer() && outstanding_.contains(answered.get<int64_t>()),
        "the server answered id {}, which no outstanding request has", answered.dump());
  const int64_t id = answered.get<int64_t>();
  check(!read_ahead_.contains(id), "the server answered request {} twice", id);
  read_ahead_.emplace(id, ReadAhead{.message = std::move(message), .received = received});
}

std::optional<std::string> McpClient::next_line(Clock::time_point deadline) {
  for (;;) {
    if (size_t end = buffer_.find('\n', scanned_); end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      scanned_ = 0;
      return line;
    }
    scanned_ = buffer_.size();
    auto ready = unwrap(wait_readable(from_server_.get(), deadline), "waiting for the server");
    check(ready == Readiness::kReady,
          "the server wrote nothing more before the deadline ({} request(s) outstanding)",
          outstanding_.size() - read_ahead_.size());
    size_t n = unwrap(read_some(from_server_.get(), chunk_), "reading the server's stdout");
    if (n == 0) return std::nullopt;
    buffer_.append(chunk_.data(), n);
  }
}

void McpClient::fail_on_eof() {
  // EOF means the server exited or closed stdout; say how it ended if it has, and what it left
  // unanswered.
  const std::string unanswered = outstanding_.empty()
                                     ? ""
                                     : fmt::format(", leaving {} request(s) unanswered",
                                                   outstanding_.size() - read_ahead_.size());
  auto status = server_.wait_until(Clock::now() + std::chrono::seconds(2));
  if (status && *status) {
    raise("the server closed its stdout and exited ({}){}", describe_exit(**status), unanswered);
  }
  raise("the server closed its stdout but is still running{}", unanswered);
}

Clock::time_point McpClient::close_input() {
  const auto closed = Clock::now();
  to_server_.reset();
  return closed;
}

Clock::time_point McpClient::await_exit(Clock::time_point deadline) {
  check(!to_server_, "await_exit() before close_input(): the server would never exit");
  // The server may still be writing: responses to requests it was working on, and a
  // notification for each job it stops. Reading to EOF keeps a full pipe from holding it back.
  while (std::optional<std::string> text = next_line(deadline)) {
    const auto received = Clock::now();
    take_in(*text, received);
  }
  check(buffer_.empty(), "the server's output ended in the middle of a line: {}", clip(buffer_));
  auto status = unwrap(server_.wait_until(deadline), "waiting for the server to exit");
  const auto ended = Clock::now();
  check(status.has_value(), "the server did not exit by the deadline after its stdin closed");
  check(status->exit_code == 0,
        "the server ended with {} after its stdin closed (expected exit code 0)",
        describe_exit(*status));
  return ended;
}

Clock::duration McpClient::shut_down(Clock::duration timeout) {
  const auto closed = close_input();
  return await_exit(closed + timeout) - closed;
}

}  // namespace bench

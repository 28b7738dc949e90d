#include "http/mcp_session.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace http {

namespace asio = boost::asio;
using mcp::Json;

namespace {

// The progress token a request asked for, or null.
Json progress_token(const Json& message) {
  auto params = message.find("params");
  if (params == message.end() || !params->is_object()) return nullptr;
  auto meta = params->find("_meta");
  if (meta == params->end() || !meta->is_object()) return nullptr;
  auto token = meta->find("progressToken");
  if (token == meta->end() || !(token->is_string() || token->is_number_integer())) return nullptr;
  return *token;
}

}  // namespace

McpSession::McpSession(std::string id, const asio::any_io_executor& executor,
                       const MakeServer& make_server, size_t max_streams)
    : id_(std::move(id)),
      executor_(executor),
      max_streams_(max_streams),
      last_used_(std::chrono::steady_clock::now()),
      server_(make_server([this](std::string message) { route(std::move(message)); }, id_)) {
  server_->set_respond([this](Json response) { answer(std::move(response)); });
}

McpSession::~McpSession() = default;

size_t McpSession::pending() const {
  size_t streams = std::count_if(streams_.begin(), streams_.end(), [](const auto& weak) {
    auto stream = weak.lock();
    return stream && stream->outcome() == Exchange::Outcome::kPending;
  });
  return pending_.size() + streams;
}

void McpSession::route(std::string message) {
  // Only notifications come this way (responses go to answer()): small, so parsing is cheap.
  Json parsed = Json::parse(message, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return;
  auto method = parsed.find("method");
  if (method == parsed.end()) return;
  if (*method == "notifications/progress") {
    // Progress belongs to its request's stream; a request answered with JSON gets none.
    const Json& params = parsed["params"];
    auto token = params.is_object() ? params.find("progressToken") : params.end();
    if (token == params.end()) return;
    auto it = progress_.find(token->dump());
    if (it == progress_.end()) return;
    if (auto exchange = it->second.lock()) exchange->push(std::move(message));
    return;
  }
  // Sent unasked: the newest stream still open carries it (the specification wants each message
  // on one stream only).
  for (auto it = streams_.rbegin(); it != streams_.rend(); ++it) {
    auto stream = it->lock();
    if (stream && stream->outcome() == Exchange::Outcome::kPending) {
      stream->push(std::move(message));
      return;
    }
  }
  spdlog::debug("session {}: dropped {} (no GET stream open)", id_,
                method->is_string() ? method->get<std::string>() : "?");
}

void McpSession::answer(Json response) {
  const Json& id = response.contains("id") ? response["id"] : Json();
  auto it = id.is_null() ? pending_.end() : pending_.find(id.dump());
  if (it == pending_.end()) {
    // An error the server could not attach to a waiting request (id null, or the id of a
    // malformed message) answers the message being handed over right now, if any; otherwise
    // nobody waits for it (withdrawn, or a duplicate).
    if (current_) current_->answer(mcp::serialize(response));
    return;
  }
  auto exchange = std::move(it->second);
  pending_.erase(it);
  std::erase_if(progress_, [&](const auto& entry) {
    auto waiting = entry.second.lock();
    return !waiting || waiting == exchange;
  });
  exchange->answer(mcp::serialize(response));
}

Submitted McpSession::submit(std::string_view text, const Json& message, bool may_stream) {
  last_used_ = std::chrono::steady_clock::now();
  if (ended_) {
    return {404, mcp::serialize(mcp::make_error(nullptr, mcp::error_code::kInvalidRequest,
                                                "session not found: it has ended")),
            nullptr};
  }
  bool is_request = message.contains("method") && message.contains("id");
  Json token = is_request ? progress_token(message) : Json();
  auto exchange = std::make_shared<Exchange>(executor_, may_stream && !token.is_null());
  std::string key;
  if (is_request) {
    const Json& id = message["id"];
    if (id.is_string() || id.is_number_integer()) {
      key = id.dump();
      if (pending_.contains(key)) {
        return {200,
                mcp::serialize(mcp::make_error(
                    id, mcp::error_code::kInvalidRequest,
                    "request id " + key + " is already in use by a request still running")),
                nullptr};
      }
      pending_[key] = exchange;
      if (exchange->streaming()) progress_[token.dump()] = exchange;
    }
  }
  current_ = exchange;
  server_->handle_message(text);
  current_.reset();

  if (!is_request) {
    if (message.value("method", Json()) == "notifications/cancelled" &&
        message.contains("params") && message["params"].is_object() &&
        message["params"].contains("requestId")) {
      // The server sends nothing for a cancelled call; the HTTP request waiting for it ends.
      if (auto it = pending_.find(message["params"]["requestId"].dump()); it != pending_.end()) {
        it->second->withdraw();
        pending_.erase(it);
      }
    }
    // A notification (or a stray response) the server refused: the error says why.
    if (exchange->outcome() == Exchange::Outcome::kAnswered) {
      return {400, std::move(exchange->body()), nullptr};
    }
    return {202, {}, nullptr};
  }
  if (exchange->outcome() != Exchange::Outcome::kPending) {
    // Answered at once (an error, or a call that needed no waiting): plain JSON.
    pending_.erase(key);
    return {exchange->status(), std::move(exchange->body()), nullptr};
  }
  return {0, {}, std::move(exchange)};
}

std::shared_ptr<Exchange> McpSession::open_stream() {
  last_used_ = std::chrono::steady_clock::now();
  std::erase_if(streams_, [](const auto& weak) {
    auto stream = weak.lock();
    return !stream || stream->outcome() != Exchange::Outcome::kPending;
  });
  if (ended_ || streams_.size() >= max_streams_) return nullptr;
  auto stream = std::make_shared<Exchange>(executor_, /*streaming=*/true);
  streams_.push_back(stream);
  return stream;
}

void McpSession::end(unsigned status, std::string_view why) {
  if (ended_) return;
  ended_ = true;
  server_->cancel_all();
  // Each waiting request is answered under its own id, so a client reading an SSE stream can
  // tell which of its requests failed.
  for (auto& [key, exchange] : pending_) {
    exchange->refuse(status, mcp::serialize(mcp::make_error(
                                 Json::parse(key), mcp::error_code::kInvalidRequest,
                                 std::string(why))));
  }
  pending_.clear();
  progress_.clear();
  for (auto& weak : streams_) {
    if (auto stream = weak.lock()) stream->withdraw();
  }
  streams_.clear();
}

}  // namespace http

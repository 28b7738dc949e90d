#include "transport/http/mcp_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace http {

namespace asio = boost::asio;
using mcp::Json;

namespace {

// The progress token a request asked for, or null.
Json progress_token(const mcp::Message& message) {
  const Json* token = message.meta_entry(mcp::meta_key::kProgressToken);
  if (token == nullptr || !(token->is_string() || token->is_number_integer())) return nullptr;
  return *token;
}

}  // namespace

McpSession::McpSession(std::string id, const asio::any_io_executor& executor,
                       const MakeServer& make_server, size_t max_streams)
    : id_(std::move(id)),
      executor_(executor),
      max_streams_(max_streams),
      last_used_(std::chrono::steady_clock::now()),
      server_(make_server([this](mcp::Outgoing message) { route(std::move(message)); }, id_)) {}

McpSession::~McpSession() = default;

size_t McpSession::pending() const {
  size_t streams = std::count_if(streams_.begin(), streams_.end(), [](const auto& weak) {
    auto stream = weak.lock();
    return stream && stream->outcome() == Exchange::Outcome::kPending;
  });
  return pending_.size() + streams;
}

void McpSession::route(mcp::Outgoing message) {
  if (message.kind == mcp::Outgoing::Kind::kResponse) {
    answer(std::move(message.message));
  } else {
    notify(std::move(message.message));
  }
}

void McpSession::notify(Json message) {
  auto method = message.find("method");
  if (method == message.end()) return;
  if (*method == "notifications/progress") {
    // Progress belongs to its request's stream; a request answered with JSON gets none.
    const Json& params = message["params"];
    auto token = params.is_object() ? params.find("progressToken") : params.end();
    if (token == params.end()) return;
    auto it = progress_.find(token->dump());
    if (it == progress_.end()) return;
    if (auto exchange = it->second.lock()) exchange->push(mcp::serialize(message));
    return;
  }
  // Sent unasked: the newest stream still open carries it (the specification wants each message
  // on one stream only).
  for (auto it = streams_.rbegin(); it != streams_.rend(); ++it) {
    auto stream = it->lock();
    if (stream && stream->outcome() == Exchange::Outcome::kPending) {
      stream->push(mcp::serialize(message));
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

Submitted McpSession::submit(mcp::Message message, ClientAccepts accepts) {
  last_used_ = std::chrono::steady_clock::now();
  if (ended_) {
    return {404,
            mcp::serialize(mcp::make_error(nullptr, mcp::error_code::kInvalidRequest,
                                           "session not found: it has ended")),
            nullptr};
  }
  bool is_request = message.is_request();
  Json token = is_request ? progress_token(message) : Json();
  auto exchange = std::make_shared<Exchange>(
      executor_, accepts == ClientAccepts::kEventStream && !token.is_null() ? Delivery::kStream
                                                                            : Delivery::kJson);
  std::string key;
  if (is_request) {
    const Json& id = message.body["id"];
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
  // What the session still needs of a notification once the server has it: whom it cancels.
  std::string cancelled_key;
  if (!is_request && message.body.value("method", Json()) == "notifications/cancelled" &&
      message.body.contains("params") && message.body["params"].is_object() &&
      message.body["params"].contains("requestId")) {
    cancelled_key = message.body["params"]["requestId"].dump();
  }
  current_ = exchange;
  server_->handle(std::move(message));
  current_.reset();

  if (!is_request) {
    if (!cancelled_key.empty()) {
      // The server sends nothing for a cancelled call; the HTTP request waiting for it ends.
      if (auto it = pending_.find(cancelled_key); it != pending_.end()) {
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
  auto stream = std::make_shared<Exchange>(executor_, Delivery::kStream);
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
    exchange->refuse(
        status, mcp::serialize(mcp::make_error(Json::parse(key), mcp::error_code::kInvalidRequest,
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

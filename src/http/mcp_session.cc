#include "http/mcp_session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace http {

namespace asio = boost::asio;
using mcp::Json;

McpSession::McpSession(std::string id, const asio::any_io_executor& executor,
                       const MakeServer& make_server)
    : id_(std::move(id)),
      executor_(executor),
      last_used_(std::chrono::steady_clock::now()),
      server_(make_server([this](std::string message) { route(std::move(message)); }, id_)) {}

McpSession::~McpSession() = default;

void McpSession::route(std::string message) {
  Json parsed = Json::parse(message, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return;
  if (parsed.contains("method")) {
    // Sent unasked, or progress: it needs the SSE stream this transport does not have yet.
    spdlog::debug("session {}: dropped {} (no SSE stream)", id_,
                  parsed["method"].is_string() ? parsed["method"].get<std::string>() : "?");
    return;
  }
  const Json& id = parsed.contains("id") ? parsed["id"] : Json();
  std::shared_ptr<Waiter> waiter;
  if (id.is_null()) {
    waiter = current_;
  } else if (auto it = pending_.find(id.dump()); it != pending_.end()) {
    waiter = it->second;
  }
  if (!waiter || waiter->response) return;  // nobody waits for it (withdrawn, or a duplicate)
  waiter->response = std::move(message);
  waiter->ready.cancel();
}

asio::awaitable<McpSession::Reply> McpSession::exchange(std::string_view text,
                                                        const Json& message) {
  last_used_ = std::chrono::steady_clock::now();
  if (ended_) co_return Reply{Reply::Kind::kEnded, {}};
  bool is_request = message.contains("method") && message.contains("id");
  auto waiter = std::make_shared<Waiter>(executor_);
  waiter->ready.expires_at(asio::steady_timer::time_point::max());
  std::string key;
  if (is_request) {
    const Json& id = message["id"];
    if (id.is_string() || id.is_number_integer()) {
      key = id.dump();
      if (pending_.contains(key)) {
        co_return Reply{Reply::Kind::kResponse,
                        mcp::serialize(mcp::make_error(
                            id, mcp::error_code::kInvalidRequest,
                            "request id " + key + " is already in use by a request still running"))};
      }
      pending_[key] = waiter;
    }
  }
  current_ = waiter;
  server_->handle_message(text);
  current_.reset();
  if (!is_request) {
    if (message.value("method", Json()) == "notifications/cancelled" &&
        message.contains("params") && message["params"].is_object() &&
        message["params"].contains("requestId")) {
      // The server sends nothing for a cancelled call; the HTTP request waiting for it ends.
      if (auto it = pending_.find(message["params"]["requestId"].dump()); it != pending_.end()) {
        it->second->withdrawn = true;
        it->second->ready.cancel();
      }
    }
    if (waiter->response) co_return Reply{Reply::Kind::kRejected, std::move(*waiter->response)};
    co_return Reply{Reply::Kind::kAccepted, {}};
  }
  while (!waiter->response && !waiter->ended && !waiter->withdrawn) {
    co_await waiter->ready.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (!key.empty()) {
    auto it = pending_.find(key);
    if (it != pending_.end() && it->second == waiter) pending_.erase(it);
  }
  last_used_ = std::chrono::steady_clock::now();
  if (waiter->response) co_return Reply{Reply::Kind::kResponse, std::move(*waiter->response)};
  if (waiter->withdrawn) co_return Reply{Reply::Kind::kWithdrawn, {}};
  co_return Reply{Reply::Kind::kEnded, {}};
}

void McpSession::end() {
  if (ended_) return;
  ended_ = true;
  server_->cancel_all();
  for (auto& [key, waiter] : pending_) {
    waiter->ended = true;
    waiter->ready.cancel();
  }
}

}  // namespace http

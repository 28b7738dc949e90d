// HttpServer's legacy session table: finding the session a request names, making room for a new
// one (least recently used first), and keeping ended sessions until their calls complete.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "transport/http/http_server_parts.h"
#include "transport/http/session_id.h"

namespace http {

using namespace server_parts;

namespace {

constexpr std::chrono::milliseconds kSweepInterval{100};

}  // namespace

std::shared_ptr<McpSession> HttpServer::find_session(std::string_view header) const {
  if (!is_session_id(header)) return nullptr;
  auto it = sessions_.find(std::string(header));
  return it == sessions_.end() ? nullptr : it->second;
}

std::shared_ptr<McpSession> HttpServer::session_named(std::string_view header,
                                                      std::string_view if_missing,
                                                      std::string_view if_unknown,
                                                      Response& refusal) const {
  if (header.empty()) {
    refusal = error_response(
        bhttp::status::bad_request, mcp::error_code::kInvalidRequest,
        fmt::format("Bad Request: {} header is required{}", kSessionHeader, if_missing));
    return nullptr;
  }
  auto session = find_session(header);
  if (!session) {
    refusal = error_response(bhttp::status::not_found, mcp::error_code::kInvalidRequest,
                             fmt::format("session not found{}", if_unknown));
  }
  return session;
}

bool HttpServer::make_room() {
  sweep_retired();
  if (sessions_.size() < settings_.max_sessions) return true;
  auto oldest = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second->pending() > 0) continue;
    if (oldest == sessions_.end() || it->second->last_used() < oldest->second->last_used()) {
      oldest = it;
    }
  }
  if (oldest == sessions_.end()) return false;
  auto session = oldest->second;
  sessions_.erase(oldest);
  spdlog::info("http: session {} dropped (least recently used of {}, the limit)", session->id(),
               settings_.max_sessions);
  retire(std::move(session));
  return true;
}

void HttpServer::retire(std::shared_ptr<McpSession> session) {
  session->end(404, "session not found: it ended while the request was running");
  retired_.push_back(std::move(session));
  sweep_retired();
  if (!retired_.empty()) schedule_sweep();
}

// Cancelled calls complete on later turns of the loop: look again shortly, until all are gone.
void HttpServer::schedule_sweep() {
  sweep_timer_.expires_after(kSweepInterval);
  sweep_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    sweep_retired();
    if (!retired_.empty()) schedule_sweep();
  });
}

void HttpServer::sweep_retired() {
  // Nothing outside a session refers to it (exchanges do not): it may go once its server's
  // calls have completed.
  std::erase_if(retired_,
                [](const std::shared_ptr<McpSession>& session) { return session->idle(); });
}

}  // namespace http

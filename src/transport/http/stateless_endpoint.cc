#include "transport/http/stateless_endpoint.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace http {

namespace asio = boost::asio;
using mcp::Json;

namespace {

constexpr std::string_view kSubscriptionIdKey = mcp::meta_key::kSubscriptionId;
constexpr std::string_view kProtocolVersionKey = mcp::meta_key::kProtocolVersion;
constexpr std::string_view kCapabilitiesKey = mcp::meta_key::kClientCapabilities;

// Where a notification's _meta keeps `key`, or null.
Json* meta_entry(Json& message, std::string_view key) {
  auto params = message.find("params");
  if (params == message.end() || !params->is_object()) return nullptr;
  auto meta = params->find("_meta");
  if (meta == params->end() || !meta->is_object()) return nullptr;
  auto entry = meta->find(key);
  return entry == meta->end() ? nullptr : &*entry;
}

std::string refusal(std::string why) {
  return mcp::serialize(mcp::make_error(nullptr, mcp::error_code::kInvalidRequest, std::move(why)));
}

}  // namespace

StatelessEndpoint::StatelessEndpoint(const asio::any_io_executor& executor,
                                     const McpSession::MakeServer& make_server)
    : executor_(executor),
      // No session: `list {mine}` matches a modern caller by the client name in its _meta.
      server_(make_server([this](mcp::Outgoing message) { route(std::move(message)); }, "")) {}

StatelessEndpoint::~StatelessEndpoint() = default;

unsigned StatelessEndpoint::status_for(const Json& answer) {
  auto error = answer.find("error");
  if (error == answer.end() || !error->is_object()) return 200;
  Json code = error->value("code", Json());
  if (code == mcp::error_code::kMethodNotFound) return 404;
  if (code == mcp::error_code::kUnsupportedProtocolVersion ||
      code == mcp::error_code::kHeaderMismatch || code == mcp::error_code::kInvalidRequest ||
      code == mcp::error_code::kParseError) {
    return 400;
  }
  return 200;
}

Submitted StatelessEndpoint::submit(mcp::Message message, ClientAccepts accepts) {
  const bool may_stream = accepts == ClientAccepts::kEventStream;
  if (stopped_) return {503, refusal("the server is shutting down"), nullptr};
  bool is_request = message.is_request();
  Json id = is_request ? message.body["id"] : Json();  // a scalar, if valid
  if (!is_request || !(id.is_string() || id.is_number_integer())) {
    // A notification (202 unless refused), or a request the server will refuse at once.
    auto exchange = std::make_shared<Exchange>(executor_, Delivery::kJson);
    current_ = exchange;
    server_->handle(std::move(message));
    current_.reset();
    if (exchange->outcome() == Exchange::Outcome::kAnswered) {
      // answer() gave the exchange the status of the error it carries.
      unsigned status = is_request ? exchange->status() : 400;
      return {status, std::move(exchange->body()), nullptr};
    }
    return {202, {}, nullptr};
  }

  if (message.era != mcp::Era::kModern || message.meta_entry(kCapabilitiesKey) == nullptr) {
    // Without the envelope the server would take the request for a legacy one; the transport
    // answers a malformed envelope with 400, like every request it cannot serve.
    return {400,
            mcp::serialize(mcp::make_error(
                id, mcp::error_code::kInvalidParams,
                fmt::format("invalid params: a {} request carries params._meta[\"{}\"] (and "
                            "\"io.modelcontextprotocol/clientCapabilities\"); a legacy client "
                            "sends initialize first and then uses its Mcp-Session-Id",
                            mcp::kModernVersion, kProtocolVersionKey))),
            nullptr};
  }
  bool listen = message.body["method"] == "subscriptions/listen";
  if (listen && !may_stream) {
    return {400,
            mcp::serialize(mcp::make_error(id, mcp::error_code::kInvalidRequest,
                                           "subscriptions/listen is answered with an SSE "
                                           "stream: send Accept: text/event-stream")),
            nullptr};
  }
  std::string ours = "~" + std::to_string(++next_id_);
  Pending pending{id, nullptr, nullptr};
  // The decoded message is edited in place: our id and token replace the client's.
  if (Json* token = message.meta_entry(mcp::meta_key::kProgressToken);
      token != nullptr && (token->is_string() || token->is_number_integer())) {
    pending.token = std::exchange(*token, ours);
  }
  auto exchange = std::make_shared<Exchange>(
      executor_,
      may_stream && (listen || !pending.token.is_null()) ? Delivery::kStream : Delivery::kJson);
  pending.exchange = exchange;
  message.body["id"] = ours;
  // Closing the connection is how a 2026-07-28 client cancels over HTTP.
  exchange->on_abandoned = [this, ours, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired()) return;
    pending_.erase(ours);
    server_->cancel(Json(ours));
  };
  pending_.emplace(ours, std::move(pending));

  current_ = exchange;
  server_->handle(std::move(message));
  current_.reset();
  if (exchange->outcome() != Exchange::Outcome::kPending) {
    exchange->on_abandoned = nullptr;
    pending_.erase(ours);
    return {exchange->status(), std::move(exchange->body()), nullptr};
  }
  return {0, {}, std::move(exchange)};
}

void StatelessEndpoint::route(mcp::Outgoing message) {
  if (message.kind == mcp::Outgoing::Kind::kResponse) {
    answer(std::move(message.message));
  } else {
    notify(std::move(message.message));
  }
}

void StatelessEndpoint::notify(Json parsed) {
  if (!parsed.is_object() || !parsed.contains("method")) return;
  // Progress names its request by token; a subscription's notifications by subscription id.
  bool progress = parsed["method"] == "notifications/progress";
  Json* ours = nullptr;
  if (!progress) {
    ours = meta_entry(parsed, kSubscriptionIdKey);
  } else if (parsed["params"].is_object() && parsed["params"].contains("progressToken")) {
    ours = &parsed["params"]["progressToken"];
  }
  if (ours == nullptr || !ours->is_string()) return;
  auto it = pending_.find(ours->get<std::string>());
  if (it == pending_.end()) return;
  *ours = progress ? it->second.token : it->second.id;
  it->second.exchange->push(mcp::serialize(parsed));
}

void StatelessEndpoint::answer(Json response) {
  unsigned status = status_for(response);
  const Json& id = response.contains("id") ? response["id"] : Json();
  auto it = id.is_string() ? pending_.find(id.get<std::string>()) : pending_.end();
  if (it == pending_.end()) {
    // An error for the message being handed over right now (id null, or a message that was not
    // a request); otherwise a request withdrawn meanwhile: nobody waits for it.
    if (current_) current_->answer(mcp::serialize(response), status);
    return;
  }
  Pending pending = std::move(it->second);
  pending_.erase(it);
  response["id"] = pending.id;
  // A subscription's final result names it too.
  if (auto result = response.find("result"); result != response.end() && result->is_object()) {
    auto meta = result->find("_meta");
    if (meta != result->end() && meta->is_object() && meta->contains(kSubscriptionIdKey)) {
      (*meta)[std::string(kSubscriptionIdKey)] = pending.id;
    }
  }
  pending.exchange->on_abandoned = nullptr;
  pending.exchange->answer(mcp::serialize(response), status);
}

void StatelessEndpoint::shut_down() {
  if (stopped_) return;
  stopped_ = true;
  server_->end_subscriptions();
  server_->cancel_all();
  for (auto& [ours, pending] : pending_) {
    pending.exchange->on_abandoned = nullptr;
    pending.exchange->refuse(
        503, mcp::serialize(mcp::make_error(pending.id, mcp::error_code::kInternalError,
                                            "the server is shutting down")));
  }
  pending_.clear();
  spdlog::debug("http: stateless endpoint shut down");
}

}  // namespace http

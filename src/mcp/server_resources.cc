// McpServer's resources/* and logging/setLevel requests, and the gate for what it sends unasked.
// Kept apart from server.cc: the dispatcher only routes these methods here.
#include <fmt/format.h>

#include "mcp/resources.h"
#include "mcp/server.h"

namespace mcp {
namespace {

// "Resource not found" up to 2025-11-25; 2026-07-28 answers it with -32602 instead (SEP-2164).
constexpr int kResourceNotFound = -32002;
// Stamped on a subscription's notifications and on its final result.
constexpr std::string_view kSubscriptionIdKey = meta_key::kSubscriptionId;
// The templates change only with the binary; the jobs (and so the list and every read) at any
// time.
constexpr int64_t kTemplatesTtlMs = int64_t{3600} * 1000;

}  // namespace

void McpServer::notify(std::string method, Json params) {
  // Only a legacy session has a channel for unasked messages; in 2026-07-28 they travel on
  // subscriptions/listen (see listen below), each subscription with its own Notifier.
  if (legacy_version_.empty()) return;
  send_(Outgoing{Outgoing::Kind::kNotification,
                 make_notification(std::move(method), std::move(params))});
}

void McpServer::serve_resources(const Json& id, const std::string& method, const Json& params,
                                Era era) {
  const bool modern = era == Era::kModern;
  auto cacheable = [modern](Json result, int64_t ttl_ms, std::string_view scope) {
    if (modern) {
      result["ttlMs"] = ttl_ms;
      result["cacheScope"] = scope;
    }
    return result;
  };
  // Job output and commands belong to whoever runs the server: "private".
  if (method == "resources/list") {
    notifier_.list_requested();
    send_result(id, cacheable(resources::list(jobs_, safeguards_.redactor), 0, "private"), era);
    return;
  }
  if (method == "resources/templates/list") {
    send_result(id, cacheable(resources::templates(), kTemplatesTtlMs, "public"), era);
    return;
  }
  bool uri_method = method == "resources/read" || method == "resources/subscribe" ||
                    method == "resources/unsubscribe";
  bool legacy_only = method == "resources/subscribe" || method == "resources/unsubscribe" ||
                     method == "logging/setLevel";
  if (!uri_method && method != "logging/setLevel") {
    send_error(id, error_code::kMethodNotFound, fmt::format("method not found: {}", method));
    return;
  }
  if (modern && legacy_only) {
    send_error(
        id, error_code::kMethodNotFound,
        fmt::format("method not found: {} is not part of protocol {}; {}", method, kModernVersion,
                    method == "logging/setLevel"
                        ? fmt::format("set _meta[\"{}\"] per request", meta_key::kLogLevel)
                        : std::string("resource subscriptions travel on subscriptions/listen "
                                      "(params.notifications.resourceSubscriptions)")));
    return;
  }

  if (method == "logging/setLevel") {
    auto level = params.find("level");
    if (level == params.end() || !level->is_string() ||
        !notifier_.set_log_level(level->get_ref<const std::string&>())) {
      send_error(id, error_code::kInvalidParams,
                 "invalid params: 'level' must be one of debug, info, notice, warning, error, "
                 "critical, alert, emergency");
      return;
    }
    send_result(id, Json::object(), era);
    return;
  }

  auto uri_param = params.find("uri");
  if (uri_param == params.end() || !uri_param->is_string()) {
    send_error(id, error_code::kInvalidParams,
               fmt::format("invalid params: {} needs 'uri' (a string), such as job://{{job_id}} "
                           "or job://{{job_id}}/output",
                           method));
    return;
  }
  const std::string& uri = uri_param->get_ref<const std::string&>();
  auto not_found = [&](std::string message) {
    send_error(id, modern ? error_code::kInvalidParams : kResourceNotFound, std::move(message),
               Json{{"uri", uri}});
  };
  if (method == "resources/read") {
    auto result = resources::read(jobs_, uri, limits_.max_read_bytes, safeguards_.redactor);
    if (!result) return not_found(result.error().message);
    send_result(id, cacheable(std::move(*result), 0, "private"), era);
  } else if (method == "resources/subscribe") {
    auto subscribed = notifier_.subscribe(uri);
    if (!subscribed) return not_found(subscribed.error().message);
    send_result(id, Json::object(), era);
  } else {
    notifier_.unsubscribe(uri);
    send_result(id, Json::object(), era);
  }
}

void McpServer::listen(const Json& id, const Json& params) {
  auto filter = params.find("notifications");
  if (filter == params.end() || !filter->is_object()) {
    send_error(id, error_code::kInvalidParams,
               "invalid params: subscriptions/listen needs 'notifications', an object such as "
               "{\"resourcesListChanged\": true, \"resourceSubscriptions\": [\"job://ID\"]}");
    return;
  }
  auto uris = filter->find("resourceSubscriptions");
  if (uris != filter->end() && !uris->is_array()) {
    send_error(id, error_code::kInvalidParams,
               "invalid params: 'resourceSubscriptions' must be an array of job:// URIs");
    return;
  }
  std::string key = id.dump();
  if (in_flight_.contains(key)) {
    send_error(id, error_code::kInvalidRequest,
               fmt::format("request id {} is already in use by a request still running", key));
    return;
  }
  auto state = std::make_unique<InFlight>();
  state->id = id;
  // Every notification on the subscription names it: a client may hold several.
  auto stamp = [this, id](std::string method, Json params) {
    params["_meta"][std::string(kSubscriptionIdKey)] = id;
    send_(Outgoing{Outgoing::Kind::kNotification,
                   make_notification(std::move(method), std::move(params))});
  };
  state->subscription = std::make_unique<Notifier>(executor_, jobs_, stamp, safeguards_.redactor);
  Notifier& notifier = *state->subscription;
  notifier.mute_log_messages();

  // The acknowledgement names what will be honoured: the tool list never changes and there are
  // no prompts, so only resource list changes and updates of job resources that exist.
  Json honoured = Json::object();
  if (filter->value("resourcesListChanged", Json()) == true) {
    notifier.list_requested();
    honoured["resourcesListChanged"] = true;
  }
  if (uris != filter->end()) {
    Json kept = Json::array();
    for (const auto& uri : *uris) {
      if (uri.is_string() && notifier.subscribe(uri.get_ref<const std::string&>())) {
        kept.push_back(uri);
      }
    }
    honoured["resourceSubscriptions"] = std::move(kept);
  }
  in_flight_.emplace(key, std::move(state));
  stamp("notifications/subscriptions/acknowledged", Json{{"notifications", std::move(honoured)}});
}

void McpServer::end_subscriptions() {
  std::vector<Json> ids;
  for (const auto& [key, state] : in_flight_) {
    if (state->subscription) ids.push_back(state->id);
  }
  for (const auto& id : ids) {
    in_flight_.erase(id.dump());
    send_result(id, Json{{"_meta", {{std::string(kSubscriptionIdKey), id}}}}, Era::kModern);
  }
}

}  // namespace mcp

#include "mcp/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <limits>

#include "mcp/schema_check.h"
#include "mcp/tools/common.h"

namespace mcp {
namespace {

constexpr std::string_view kVersionKey = meta_key::kProtocolVersion;
constexpr std::string_view kCapabilitiesKey = meta_key::kClientCapabilities;
constexpr std::string_view kServerInfoKey = meta_key::kServerInfo;
// A tool error is at most this long (or max_read_bytes, if less), and a name quoted in a
// JSON-RPC error at most kMaxQuotedBytes: both may quote what a client sent.
constexpr uint64_t kMaxErrorBytes = 4096;
constexpr size_t kMaxQuotedBytes = 200;
// 2026-07-28 has no initialize: the client may name itself in every request's _meta.
constexpr std::string_view kClientInfoKey = meta_key::kClientInfo;
// Our tool list changes only with the binary; clients may cache it for an hour.
constexpr int64_t kToolListTtlMs = int64_t{3600} * 1000;

constexpr std::string_view kInstructions =
    "This server runs shell commands as background jobs so you can keep working while they run. "
    "Start one with execute (it returns a job_id at once), check it with status or list, read "
    "its output with tail (last lines) or output (by byte offset; pass next_offset to read only "
    "what is new), type into it with interact, and stop it with kill. Jobs keep running between "
    "calls; finished jobs are remembered for a while. Output is bounded: the start and the most "
    "recent part are kept, and dropped_bytes says how much of the middle was discarded. "
    "Secrets in output and commands (private keys, tokens, passwords) are shown as [REDACTED] "
    "unless the operator turned that off; offsets still count the bytes the job printed.";

bool is_valid_id(const Json& id) { return id.is_string() || id.is_number_integer(); }

// How a finished call is counted: a withdrawn call is cancelled whatever its handler returned.
observe::CallOutcome counted_outcome(bool cancelled, const std::exception_ptr& failure,
                                     const ToolOutcome& outcome) {
  if (cancelled) return observe::CallOutcome::kCancelled;
  if (failure) return observe::CallOutcome::kError;
  if (!outcome.error) return observe::CallOutcome::kOk;
  return outcome.denied_by.empty() ? observe::CallOutcome::kError : observe::CallOutcome::kDenied;
}

}  // namespace

McpServer::McpServer(boost::asio::any_io_executor executor, jobs::JobManager& jobs,
                     ToolLimits limits, std::string version, Send send, Safeguards safeguards,
                     Placement placement)
    : executor_(std::move(executor)),
      jobs_(jobs),
      limits_(std::move(limits)),
      version_(std::move(version)),
      send_(std::move(send)),
      tools_(make_tools(limits_)),
      safeguards_(safeguards),
      placement_(std::move(placement)),
      auditor_(safeguards.audit_log != nullptr
                   ? std::make_unique<Auditor>(*safeguards.audit_log, safeguards.redactor, jobs_)
                   : nullptr),
      notifier_(
          executor_, jobs_,
          [this](std::string method, Json params) { notify(std::move(method), std::move(params)); },
          safeguards.redactor) {
  jobs_.on_job_end([this](const jobs::Job& job) { task_ended(job); }, alive_);
}

void McpServer::send_response(Json response) {
  send_(Outgoing{Outgoing::Kind::kResponse, std::move(response)});
}

void McpServer::send_result(const Json& id, Json result, Era era) {
  if (era == Era::kModern) result["resultType"] = "complete";
  send_response(make_result(id, std::move(result)));
}

void McpServer::send_error(const Json& id, int code, std::string message, Json data) {
  send_response(make_error(id, code, std::move(message), std::move(data)));
}

void McpServer::reject_oversized(uint64_t size, uint64_t limit) {
  send_error(nullptr, error_code::kInvalidRequest,
             fmt::format("message of {} bytes exceeds the limit of {} bytes (max_message_size); "
                         "it was discarded",
                         size, limit));
}

void McpServer::cancel_all() {
  // By key, looked up again each time: should a cancellation complete a call at once, its
  // handler erases it from in_flight_.
  std::vector<Json> ids;
  for (const auto& [key, state] : in_flight_) ids.push_back(Json::parse(key));
  for (const auto& id : ids) cancel(id);
}

void McpServer::cancel(const Json& id) {
  auto it = in_flight_.find(id.dump());
  if (it == in_flight_.end() || it->second->cancelled) return;  // answered, or never seen
  if (it->second->subscription) {
    in_flight_.erase(it);  // Nothing runs for a subscription: it ends here, unanswered.
    return;
  }
  it->second->cancelled = true;
  it->second->cancel.emit(boost::asio::cancellation_type::terminal);
}

void McpServer::handle(Message decoded) {
  Json& message = decoded.body;
  switch (decoded.problem) {
    case Message::Problem::kNone:
      break;
    case Message::Problem::kNotJson:
      send_error(nullptr, error_code::kParseError, "parse error: the message is not valid JSON");
      return;
    case Message::Problem::kBatch:
      send_error(nullptr, error_code::kInvalidRequest,
                 "batched requests are not supported; send one JSON-RPC message per line");
      return;
    case Message::Problem::kNotObject:
      send_error(nullptr, error_code::kInvalidRequest, "invalid request: expected a JSON object");
      return;
    case Message::Problem::kTooDeep: {
      auto id = message.find("id");
      if (id == message.end()) return;  // a notification (or a stray response): never answered
      // A valid id is a string or an integer: a scalar, safe to copy.
      send_error(is_valid_id(*id) ? *id : Json(), error_code::kInvalidRequest,
                 fmt::format("invalid request: arrays and objects nest deeper than {} levels",
                             kMaxNesting));
      return;
    }
  }
  Json id = message.contains("id") ? message["id"] : Json();
  bool has_method = message.contains("method") && message["method"].is_string();
  if (!has_method && (message.contains("result") || message.contains("error"))) {
    return;  // A response to a request we never send: nothing to do.
  }
  // Compared as JSON, not read with value("jsonrpc", ""): that throws on a non-string (found by
  // fuzz_mcp_message: {"jsonrpc":2,...} ended the server through an uncaught type_error).
  if (!message.contains("jsonrpc") || message["jsonrpc"] != "2.0" || !has_method) {
    send_error(is_valid_id(id) ? id : Json(), error_code::kInvalidRequest,
               "invalid request: expected {\"jsonrpc\": \"2.0\", \"method\": ...}");
    return;
  }
  const std::string& method = message["method"].get_ref<const std::string&>();
  Json params = message.contains("params") ? message["params"] : Json::object();
  if (!params.is_object()) {
    if (message.contains("id")) {
      send_error(is_valid_id(id) ? id : Json(), error_code::kInvalidParams,
                 "invalid params: 'params' must be an object");
    }
    return;
  }
  if (!message.contains("id")) {
    handle_notification(method, params);
    return;
  }
  if (!is_valid_id(id)) {
    send_error(nullptr, error_code::kInvalidRequest,
               "invalid request: 'id' must be a string or an integer");
    return;
  }
  handle_request(id, method, params, decoded.era);
}

void McpServer::handle_notification(const std::string& method, const Json& params) {
  if (method == "notifications/initialized") {
    initialized_ = true;
  } else if (method == "notifications/cancelled") {
    auto request_id = params.find("requestId");
    if (request_id != params.end()) cancel(*request_id);
  }
  // Any other notification is ignored, as the specification asks.
}

void McpServer::handle_request(const Json& id, const std::string& method, const Json& params,
                               Era era) {
  // The era was decided per request by decode(): the 2026-07-28 envelope in _meta makes it
  // modern.
  auto meta = params.find("_meta");
  bool has_meta = meta != params.end() && meta->is_object();
  // server/discover exists only in the modern era, and a _meta that carries the modern client
  // keys without the version is a modern request with its version missing: both must be
  // rejected as the 2026-07-28 specification says (-32602), not served as legacy requests.
  if (era == Era::kLegacy &&
      (method == "server/discover" ||
       (has_meta && (meta->contains(kCapabilitiesKey) || meta->contains(kClientInfoKey))))) {
    send_error(id, error_code::kInvalidParams,
               fmt::format("invalid params: {} needs params._meta with '{}': \"{}\" and '{}' "
                           "(the legacy protocol versions start with initialize instead)",
                           method, kVersionKey, kModernVersion, kCapabilitiesKey));
    return;
  }
  if (era == Era::kModern) {
    const Json& requested = (*meta)[std::string(kVersionKey)];
    if (!requested.is_string() || requested.get<std::string>() != kModernVersion) {
      Json supported = Json::array({kModernVersion});
      for (auto v : kLegacyVersions) supported.push_back(v);
      send_error(id, error_code::kUnsupportedProtocolVersion,
                 fmt::format("unsupported protocol version {}; this server speaks {} (and the "
                             "legacy versions through initialize)",
                             requested.dump(), kModernVersion),
                 Json{{"supported", supported}, {"requested", requested}});
      return;
    }
    if (!meta->contains(kCapabilitiesKey)) {
      send_error(id, error_code::kInvalidParams,
                 fmt::format("invalid params: _meta must carry '{}' with protocol version {}",
                             kCapabilitiesKey, kModernVersion));
      return;
    }
  }

  if (method == "initialize" && era == Era::kLegacy) {
    send_result(id, initialize_result(params), Era::kLegacy);
  } else if (method == "initialize") {
    // 2026-07-28 has no handshake; a modern client that sends one has mixed up the eras.
    send_error(id, error_code::kMethodNotFound,
               fmt::format("method not found: initialize is not part of protocol version {}; call "
                           "server/discover (or send initialize without the {} _meta for the "
                           "legacy versions)",
                           kModernVersion, kModernVersion));
  } else if (method == "server/discover") {
    send_result(id, discover_result(), Era::kModern);
  } else if (method == "ping" && era == Era::kLegacy) {
    send_result(id, Json::object(), era);
  } else if (method == "tools/list") {
    Json tools = Json::array();
    for (const auto& tool : tools_) tools.push_back(tool.definition());
    Json result{{"tools", std::move(tools)}};
    if (era == Era::kModern) {
      result["ttlMs"] = kToolListTtlMs;
      result["cacheScope"] = "public";
    }
    send_result(id, std::move(result), era);
  } else if (method == "tools/call") {
    call_tool(id, params, era);
  } else if (method == "subscriptions/listen" && era == Era::kModern) {
    listen(id, params);
  } else if (method.starts_with("tasks/") && era == Era::kLegacy) {
    serve_tasks(id, method, params);
  } else if (method.starts_with("resources/") || method == "logging/setLevel") {
    serve_resources(id, method, params, era);
  } else {
    send_error(id, error_code::kMethodNotFound, fmt::format("method not found: {}", method));
  }
}

Json McpServer::server_info() const {
  return Json{{"name", "mcp-background-job"}, {"title", "Background jobs"}, {"version", version_}};
}

Json McpServer::initialize_result(const Json& params) {
  // Only strings are read: value() would throw on {"protocolVersion": 5} (and on a clientInfo
  // name or version that is not a string), and an exception here ends the server.
  auto string_or = [](const Json& object, const char* key, std::string fallback) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
  };
  std::string requested = string_or(params, "protocolVersion", "");
  legacy_version_ = std::string(kLatestLegacyVersion);
  for (auto v : kLegacyVersions) {
    if (requested == v) legacy_version_ = requested;
  }
  if (auto client = params.find("clientInfo"); client != params.end() && client->is_object()) {
    if (client->contains("name") && (*client)["name"].is_string()) {
      client_name_ = (*client)["name"].get<std::string>();
    }
    spdlog::info("client {} {} connected (protocol {})", string_or(*client, "name", "?"),
                 string_or(*client, "version", "?"), legacy_version_);
  }
  Json result{{"protocolVersion", legacy_version_},
              {"capabilities",
               {{"tools", {{"listChanged", false}}},
                {"resources", {{"subscribe", true}, {"listChanged", true}}},
                {"logging", Json::object()}}},
              {"serverInfo", server_info()},
              {"instructions", kInstructions}};
  // Tasks came with 2025-11-25: execute may run as one (execution.taskSupport "optional").
  if (legacy_version_ == "2025-11-25") {
    result["capabilities"]["tasks"] = {{"list", Json::object()},
                                       {"cancel", Json::object()},
                                       {"requests", {{"tools", {{"call", Json::object()}}}}}};
  }
  return result;
}

Json McpServer::discover_result() const {
  Json supported = Json::array({kModernVersion});
  for (auto v : kLegacyVersions) supported.push_back(v);
  // In 2026-07-28, resource updates and list changes travel on subscriptions/listen.
  return Json{{"supportedVersions", supported},
              {"capabilities",
               {{"tools", {{"listChanged", false}}},
                {"resources", {{"subscribe", true}, {"listChanged", true}}}}},
              {"instructions", kInstructions},
              {"ttlMs", kToolListTtlMs},
              {"cacheScope", "public"},
              {"_meta", {{kServerInfoKey, server_info()}}}};
}

void McpServer::call_tool(const Json& id, const Json& params, Era era) {
  auto began = std::chrono::steady_clock::now();
  auto name = params.find("name");
  if (name == params.end() || !name->is_string()) {
    send_error(id, error_code::kInvalidParams,
               "invalid params: tools/call needs 'name' (a string)");
    return;
  }
  const Tool* tool = nullptr;
  for (const auto& candidate : tools_) {
    if (candidate.name == name->get<std::string>()) tool = &candidate;
  }
  if (tool == nullptr) {
    std::string names;
    for (const auto& t : tools_) names += (names.empty() ? "" : ", ") + t.name;
    send_error(id, error_code::kInvalidParams,
               fmt::format("unknown tool '{}'; the tools are: {}",
                           tools::cut_text(name->get<std::string>(), kMaxQuotedBytes), names));
    return;
  }
  Json arguments = params.contains("arguments") ? params["arguments"] : Json::object();
  if (arguments.is_null()) arguments = Json::object();
  if (!arguments.is_object()) {
    send_error(id, error_code::kInvalidParams,
               "invalid params: tools/call 'arguments' must be an object");
    return;
  }

  // 2025-11-25 tasks: params.task asks for a CreateTaskResult at once and the tool's result
  // later (tasks/result). The 2026-07-28 era has no such parameter.
  std::optional<tasks::Record> task;
  if (era == Era::kLegacy && params.contains("task")) {
    const Json& asked = params["task"];
    if (!asked.is_object()) {
      send_error(id, error_code::kInvalidParams,
                 "invalid params: 'task' must be an object: {} or {\"ttl\": milliseconds}");
      return;
    }
    if (tool->task_support.empty()) {
      send_error(id, error_code::kMethodNotFound,
                 fmt::format("tool '{}' cannot run as a task (its execution.taskSupport is "
                             "forbidden): call it without 'task'; execute is the tool that does",
                             tool->name));
      return;
    }
    task.emplace();
    task->arguments = arguments;
    if (auto ttl = asked.find("ttl"); ttl != asked.end() && !ttl->is_null()) {
      if (ttl->is_number_unsigned()) {
        task->requested_ttl_ms = static_cast<int64_t>(
            std::min<uint64_t>(ttl->get<uint64_t>(), std::numeric_limits<int64_t>::max()));
      } else {
        send_error(id, error_code::kInvalidParams,
                   "invalid params: task.ttl must be a whole number of milliseconds, 0 or more "
                   "(or left out: the server's retention)");
        return;
      }
    }
    // The task is answered at once; the wait belongs to tasks/result.
    arguments.erase("wait_seconds");
  }

  // An error may quote what the client sent (a path, a pattern, an argument's name): it is
  // bounded like every other string a result carries.
  auto tool_error = [limit = std::min<uint64_t>(kMaxErrorBytes, limits_.max_read_bytes)](
                        const std::string& text) {
    return Json{
        {"content", Json::array({{{"type", "text"},
                                  {"text", tools::cut_text(text, static_cast<size_t>(limit))}}})},
        {"isError", true}};
  };
  // Who is calling, for the audit log and the jobs it starts: a 2026-07-28 request may carry
  // its client's name, a legacy session's client gave it in initialize.
  Json meta = params.contains("_meta") && params["_meta"].is_object() ? params["_meta"] : Json();
  Auditor::Call call{client_name_, placement_.session_id, tool->name, arguments};
  if (!meta.is_null() && meta.contains(kClientInfoKey) && meta[kClientInfoKey].is_object() &&
      meta[kClientInfoKey].contains("name") && meta[kClientInfoKey]["name"].is_string()) {
    call.client = meta[kClientInfoKey]["name"].get<std::string>();
  }
  if (auto problem = check_arguments(arguments, tool->input_schema)) {
    if (auditor_ && Auditor::changes_state(tool->name)) auditor_->failed(call, *problem);
    if (placement_.metrics != nullptr) {
      placement_.metrics->tool_call(tool->name, observe::CallOutcome::kError,
                                    std::chrono::steady_clock::now() - began);
    }
    if (task) {
      answer_task_call(id, ToolOutcome::fail(*problem), *problem, std::move(*task));
      return;
    }
    send_result(id, tool_error(*problem), era);
    return;
  }

  std::string key = id.dump();
  if (in_flight_.contains(key)) {
    send_error(id, error_code::kInvalidRequest,
               fmt::format("request id {} is already in use by a call still running", key));
    return;
  }
  auto& in_flight = in_flight_[key];
  in_flight = std::make_unique<InFlight>();
  InFlight* state = in_flight.get();
  std::function<void(double, std::optional<double>, std::string)> report_progress;
  bool wants_progress =
      !meta.is_null() && meta.contains("progressToken") &&
      (meta["progressToken"].is_string() || meta["progressToken"].is_number_integer());
  if (wants_progress) {
    report_progress = [this, state, token = meta["progressToken"]](
                          double progress, std::optional<double> total, std::string message) {
      if (state->answered || state->cancelled) return;
      Json params{
          {"progressToken", token}, {"progress", progress}, {"message", std::move(message)}};
      if (total) params["total"] = *total;
      send_(Outgoing{Outgoing::Kind::kNotification,
                     make_notification("notifications/progress", std::move(params))});
    };
  } else {
    report_progress = [](double, std::optional<double>, const std::string&) {};
  }
  state->context = std::make_unique<ToolContext>(
      ToolContext{jobs_, limits_, report_progress, wants_progress, safeguards_.redactor});
  state->context->caller = jobs::JobOwner{call.client, placement_.session_id};
  state->context->history = placement_.history;
  state->context->keepers = placement_.keepers;
  if (auditor_) {
    // Recorded when the call acts, not when it answers: execute's wait_seconds or interact's
    // wait may come long after, and the job's end may come before.
    state->context->acted = [this, state, call](const jobs::Job& job) {
      if (state->audited) return;
      state->audited = true;
      auditor_->allowed(call, job);
    };
  }

  boost::asio::co_spawn(
      executor_, tool->handler(arguments, *state->context),
      boost::asio::bind_cancellation_slot(
          state->cancel.slot(),
          [this, id, key, era, began, tool_name = tool->name, tool_error, call = std::move(call),
           task = std::move(task)](const std::exception_ptr& failure, ToolOutcome outcome) {
            bool cancelled = in_flight_.at(key)->cancelled;
            bool audited = in_flight_.at(key)->audited;
            in_flight_.at(key)->answered = true;
            in_flight_.erase(key);
            if (auditor_ && !audited) audit_outcome(call, cancelled, failure, outcome);
            if (placement_.metrics != nullptr) {
              placement_.metrics->tool_call(tool_name, counted_outcome(cancelled, failure, outcome),
                                            std::chrono::steady_clock::now() - began);
            }
            if (cancelled) return;  // The client withdrew the request: it wants no response.
            if (failure) {
              try {
                std::rethrow_exception(failure);
              } catch (const std::exception& e) {
                // The detail goes to the log, never to the client.
                spdlog::error("tool {} failed: {}", tool_name, e.what());
              }
              send_error(id, error_code::kInternalError,
                         fmt::format("internal error in tool '{}'; see the server log", tool_name));
              return;
            }
            if (task) {
              answer_task_call(id, outcome, outcome.error.value_or(""), *task);
              return;
            }
            if (outcome.error) {
              send_result(id, tool_error(*outcome.error), era);
              return;
            }
            Json text_block{{"type", "text"}, {"text", serialize(outcome.structured)}};
            send_result(id,
                        Json{{"content", Json::array({text_block})},
                             {"structuredContent", std::move(outcome.structured)}},
                        era);
          }));
}

void McpServer::audit_outcome(const Auditor::Call& call, bool cancelled,
                              const std::exception_ptr& failure, const ToolOutcome& outcome) {
  if (!failure && !outcome.denied_by.empty()) {
    auditor_->denied(call, outcome.denied_by, outcome.error.value_or(""));
    return;
  }
  // Calls that change nothing are recorded only when a policy rule refused them (above).
  if (!Auditor::changes_state(call.tool)) return;
  if (failure) {
    auditor_->failed(call, cancelled ? "cancelled by the client" : "internal error");
  } else if (outcome.error) {
    auditor_->failed(call, *outcome.error);
  } else if (cancelled) {
    auditor_->failed(call, "cancelled by the client");
  } else {
    // A call that succeeded without acting on a job (none does today): allowed, all the same.
    auditor_->allowed(call);
  }
}

}  // namespace mcp

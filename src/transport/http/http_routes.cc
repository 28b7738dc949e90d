// What HttpServer answers per path and method: /healthz, /metrics, and /mcp (POST in both eras,
// GET and DELETE for legacy sessions). A POST's body is decoded here, once.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "mcp/message.h"
#include "transport/http/http_server_parts.h"
#include "transport/http/mirrored_headers.h"
#include "transport/http/session_id.h"

namespace http {

using namespace server_parts;

namespace {

bool is_json(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return beast::iequals(type, "application/json");
}

HttpServer::Response from_submitted(Submitted submitted) {
  HttpServer::Response response;
  if (submitted.exchange) {
    response.exchange = std::move(submitted.exchange);
  } else {
    response.status = static_cast<bhttp::status>(submitted.status);
    response.body = std::move(submitted.body);
  }
  return response;
}

// A path this server does not serve, whoever asks (with a token configured or not). The clients
// that ask are OAuth clients probing for discovery and registration documents after a 401
// (`/.well-known/oauth-protected-resource`, `/register`, ...): they read a 404 as "none here",
// and parse the body of a failed registration as an OAuth error (RFC 6749 section 5.2, RFC 7591
// section 3.2.2), so the body takes that shape and its description is what such a client shows.
HttpServer::Response not_the_servers_path() {
  Json body{{"error", "not_found"},
            {"error_description",
             "not found: this server serves MCP at /mcp and has no OAuth endpoints; when it asks "
             "for a token, send the one its operator configured as the header 'Authorization: "
             "Bearer <token>'"}};
  return HttpServer::Response{.status = bhttp::status::not_found, .body = mcp::serialize(body)};
}

}  // namespace

HttpServer::Response HttpServer::handle(const Request& request) {
  // The guard has passed the request already (serve_connection asks it on the header).
  const auto& message = request.message;
  std::string_view path = path_of(message.target());
  if (path == "/healthz") {
    if (message.method() != bhttp::verb::get) {
      return Response{.status = bhttp::status::method_not_allowed, .allow = "GET"};
    }
    return healthz();
  }
  if (path == "/metrics" && metrics_ != nullptr) {
    if (message.method() != bhttp::verb::get) {
      return Response{.status = bhttp::status::method_not_allowed, .allow = "GET"};
    }
    return metrics();
  }
  if (path != "/mcp") return not_the_servers_path();
  switch (message.method()) {
    case bhttp::verb::post:
      return post_mcp(request);
    case bhttp::verb::get:
      return get_mcp(request);
    case bhttp::verb::delete_:
      return delete_mcp(request);
    default:
      return Response{.status = bhttp::status::method_not_allowed, .allow = "GET, POST, DELETE"};
  }
}

HttpServer::Response HttpServer::post_mcp(const Request& request) {
  const auto& message = request.message;
  if (!is_json(message[bhttp::field::content_type])) {
    return error_response(bhttp::status::unsupported_media_type, mcp::error_code::kInvalidRequest,
                          "the body must be application/json");
  }
  // The one decode of the body: the session or endpoint below hands it on as it is.
  mcp::Message decoded = mcp::decode(message.body());
  switch (decoded.problem) {
    case mcp::Message::Problem::kNone:
      break;
    case mcp::Message::Problem::kNotJson:
      return error_response(bhttp::status::bad_request, mcp::error_code::kParseError,
                            "parse error: the body is not valid JSON");
    case mcp::Message::Problem::kBatch:
      return error_response(bhttp::status::bad_request, mcp::error_code::kInvalidRequest,
                            "batched requests are not supported; send one JSON-RPC message per "
                            "request");
    case mcp::Message::Problem::kNotObject:
      return error_response(bhttp::status::bad_request, mcp::error_code::kInvalidRequest,
                            "invalid request: expected a JSON object");
    case mcp::Message::Problem::kTooDeep:
      return error_response(bhttp::status::bad_request, mcp::error_code::kInvalidRequest,
                            fmt::format("invalid request: arrays and objects nest deeper than {} "
                                        "levels",
                                        mcp::kMaxNesting));
  }
  ClientAccepts may_stream = accepts(message[bhttp::field::accept], "text/event-stream")
                                 ? ClientAccepts::kEventStream
                                 : ClientAccepts::kJsonOnly;
  const Json& parsed = decoded.body;
  bool is_initialize = parsed.contains("id") && parsed.value("method", Json()) == "initialize";
  std::string_view version_header = message[kVersionHeader];
  // The era: a 2026-07-28 version (in the header or the body's _meta) is modern, whatever
  // session id the request also carries (the specification says to ignore it); anything else
  // is legacy, where initialize opens a session.
  bool modern_header =
      !version_header.empty() && !legacy_protocol_version_supported(version_header);
  if (modern_header || decoded.era == mcp::Era::kModern) {
    return post_modern(request, std::move(decoded), may_stream);
  }
  std::string_view session_header = message[kSessionHeader];

  std::shared_ptr<McpSession> session;
  if (is_initialize) {
    if (stopped_) {
      return error_response(bhttp::status::service_unavailable, mcp::error_code::kInternalError,
                            "the server is shutting down");
    }
    if (!make_room()) {
      return error_response(bhttp::status::service_unavailable, mcp::error_code::kInternalError,
                            fmt::format("too many sessions ({}) with requests running; end one "
                                        "with DELETE",
                                        sessions_.size()));
    }
    session = std::make_shared<McpSession>(new_session_id(), executor_, make_server_,
                                           settings_.max_streams_per_session);
    Submitted submitted = session->submit(std::move(decoded), may_stream);
    Response response = from_submitted(std::move(submitted));
    // initialize is answered at once; a result (not an error) opens the session.
    if (response.exchange || session->initialized()) {
      response.session_id = session->id();
      sessions_.emplace(session->id(), session);
      spdlog::info("http: session {} started", session->id());
    } else {
      retire(std::move(session));
    }
    return response;
  }
  Response refusal;
  auto session_found = session_named(
      session_header,
      " (send initialize first to get one, or use protocol 2026-07-28, which needs none)",
      ": it ended or never existed; send initialize to start a new one", refusal);
  if (!session_found) return refusal;
  if (!legacy_protocol_version_supported(version_header)) {
    return error_response(
        bhttp::status::bad_request, mcp::error_code::kInvalidRequest,
        fmt::format("Bad Request: unsupported MCP-Protocol-Version {}; "
                    "supported: {}",
                    std::string(version_header), fmt::join(mcp::kLegacyVersions, ", ")));
  }
  return from_submitted(session_found->submit(std::move(decoded), may_stream));
}

HttpServer::Response HttpServer::post_modern(const Request& request, mcp::Message decoded,
                                             ClientAccepts may_stream) {
  const Json& message = decoded.body;
  if (decoded.is_request()) {
    const auto& headers = request.message;
    MirroredHeaders mirrored{.protocol_version = headers[kVersionHeader],
                             .method = headers[kMethodHeader],
                             .name = headers[kNameHeader]};
    if (auto problem = mirrored_header_problem(mirrored, message)) {
      const Json& id = message["id"];
      return error_response(bhttp::status::bad_request, mcp::error_code::kHeaderMismatch,
                            std::move(*problem),
                            id.is_string() || id.is_number_integer() ? id : Json());
    }
  }
  return from_submitted(stateless_->submit(std::move(decoded), may_stream));
}

HttpServer::Response HttpServer::get_mcp(const Request& request) {
  const auto& message = request.message;
  std::string_view version_header = message[kVersionHeader];
  if (!version_header.empty() && !legacy_protocol_version_supported(version_header)) {
    // 2026-07-28 has no GET stream: notifications travel on subscriptions/listen.
    return Response{.status = bhttp::status::method_not_allowed, .allow = "POST"};
  }
  std::string_view session_header = message[kSessionHeader];
  Response refusal;
  auto session =
      session_named(session_header, ": the GET stream belongs to a session (send initialize first)",
                    ": it ended or never existed", refusal);
  if (!session) return refusal;
  if (!accepts(message[bhttp::field::accept], "text/event-stream")) {
    return error_response(bhttp::status::not_acceptable, mcp::error_code::kInvalidRequest,
                          "Not Acceptable: the GET stream is text/event-stream; send Accept: "
                          "text/event-stream");
  }
  auto stream = session->open_stream();
  if (!stream) {
    return error_response(bhttp::status::conflict, mcp::error_code::kInvalidRequest,
                          fmt::format("this session has {} SSE streams open already (the limit, "
                                      "http_max_streams_per_session); close one first",
                                      settings_.max_streams_per_session));
  }
  return Response{.exchange = std::move(stream)};
}

HttpServer::Response HttpServer::delete_mcp(const Request& request) {
  std::string_view version_header = request.message[kVersionHeader];
  if (!version_header.empty() && !legacy_protocol_version_supported(version_header)) {
    return Response{.status = bhttp::status::method_not_allowed, .allow = "POST"};
  }
  std::string_view header = request.message[kSessionHeader];
  Response refusal;
  auto session = session_named(header, "", "", refusal);
  if (!session) return refusal;
  sessions_.erase(session->id());
  spdlog::info("http: session {} ended by the client", session->id());
  retire(std::move(session));
  return Response{.status = bhttp::status::no_content};
}

HttpServer::Response HttpServer::healthz() const {
  auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  Json body{{"status", "ok"},
            {"version", version_},
            {"uptime_seconds", uptime.count()},
            {"jobs_running", jobs_.running_count()},
            {"jobs_queued", jobs_.queued_count()}};
  return Response{.status = bhttp::status::ok, .body = mcp::serialize(body)};
}

HttpServer::Response HttpServer::metrics() {
  metrics_->set_sessions(sessions_.size());
  metrics_->set_open_streams(open_streams_);
  return Response{.status = bhttp::status::ok,
                  .body = metrics_->render(),
                  .content_type = observe::Metrics::kContentType};
}

}  // namespace http

#pragma once
/// Whether an HTTP request may be served at all, decided from its header before a byte of its
/// body is read, and which CORS headers its response carries. The HTTP server asks it first
/// for every request; it knows nothing of sessions or MCP.
///
///   1. Exactly one Host (HTTP/1.1) and at most one Origin: else 400 (RFC 9112 section 3.2).
///   2. Host must name this server, and Origin (when a browser sends one) must be a page of this
///      server or an origin the operator listed for CORS: anything else is 403, against DNS
///      rebinding (the MCP specification requires servers to validate Origin).
///   3. A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) from a listed
///      origin is answered here, 204, without the token: browsers never send it on a preflight.
///   4. With an auth token configured, requests for /mcp and /metrics need
///      `Authorization: Bearer TOKEN`: missing or wrong is 401 with `WWW-Authenticate: Bearer`
///      (RFC 6750). /healthz needs none, and neither does a path the server does not serve (404
///      for everyone). The token is compared in constant time (SHA-256 digests, CRYPTO_memcmp)
///      and never appears in anything the guard returns.
///
/// The HTTP server asks it as soon as a request's header is read, before any of the body.

#include <array>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mcp/protocol.h"

namespace http {

struct GuardSettings {
  // Host names or addresses accepted in Host (and as the host of an Origin) besides localhost,
  // 127.0.0.1 and [::1]; any spelling base::canonical_host reads, any port.
  std::vector<std::string> allowed_hosts;
  // Origins (scheme://host[:port]) whose pages may call cross-origin: preflights are answered and
  // responses carry Access-Control-Allow-Origin.
  std::vector<std::string> cors_origins;
  // Empty: no token is required.
  std::string auth_token;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// The guard's answer: serve the request, or answer it with `status` and `body` (400, 403, 401,
/// or 204 to a preflight). `headers` go on the response the guard answers with (WWW-Authenticate,
/// the preflight's Access-Control-Allow-*); a served response gets cors_headers() instead.
struct Verdict {
  std::optional<boost::beast::http::status> status;  // unset: serve the request
  std::string body;  // a JSON-RPC error with id null, for 400, 401 and 403; empty for 204
  HeaderList headers;
  bool serve() const { return !status.has_value(); }
};

class RequestGuard {
 public:
  /// `bind_host` is the address the server listens on: a specific one (not 0.0.0.0 or ::) is
  /// accepted in Host as well, since clients reach the server by it. Entries of the settings
  /// that base::canonical_host or base::parse_origin cannot read are ignored (the configuration
  /// has refused them at start-up already).
  RequestGuard(const GuardSettings& settings, std::string_view bind_host);

  Verdict check(const boost::beast::http::request_header<>& request) const;

  /// The headers every response to `request` carries when it comes from a listed CORS origin
  /// (Access-Control-Allow-Origin, Vary: Origin, Access-Control-Expose-Headers); none otherwise.
  HeaderList cors_headers(const boost::beast::http::request_header<>& request) const;

  bool token_required() const { return token_digest_.has_value(); }

 private:
  bool host_allowed(std::string_view host_header) const;
  bool cors_origin(std::string_view origin_header) const;
  Verdict check_token(std::string_view authorization) const;

  std::vector<std::string> hosts_;                             // canonical
  std::vector<std::string> origins_;                           // serialized, see base::Origin
  std::optional<std::array<unsigned char, 32>> token_digest_;  // SHA-256 of the token
};

/// MCP-Protocol-Version on a legacy session's requests after initialize: absent (the
/// specification says to assume 2025-03-26) or one of the legacy versions the server speaks.
using mcp::legacy_protocol_version_supported;

}  // namespace http

#include "transport/http/request_guard.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>

#include "base/authority.h"
#include "mcp/json_rpc.h"

namespace http {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::array<std::string_view, 3> kLoopbackNames{"localhost", "127.0.0.1", "[::1]"};
constexpr std::string_view kChallenge = "Bearer realm=\"mcp-background-job\"";
// Browsers cap how long they cache a preflight (Chromium at 2 hours); asking more buys nothing.
constexpr std::string_view kPreflightMaxAge = "7200";
constexpr std::string_view kAllowedMethods = "GET, POST, DELETE, OPTIONS";
constexpr std::string_view kAllowedHeaders =
    "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, "
    "Mcp-Name, Last-Event-ID";
// A page may read these from a response: the session it was given, and why it was refused.
constexpr std::string_view kExposedHeaders = "Mcp-Session-Id, WWW-Authenticate";

using Digest = std::array<unsigned char, 32>;

Digest sha256(std::string_view text) {
  Digest digest{};
  unsigned int size = 0;
  // Cannot fail for SHA-256 short of memory exhaustion; a zero digest then matches no token's.
  ::EVP_Digest(text.data(), text.size(), digest.data(), &size, ::EVP_sha256(), nullptr);
  return digest;
}

Verdict refuse(bhttp::status status, std::string message, HeaderList headers = {}) {
  return Verdict{status,
                 mcp::serialize(mcp::make_error(nullptr, mcp::error_code::kInvalidRequest,
                                                std::move(message))),
                 std::move(headers)};
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// The paths that answer with something worth a token: MCP itself and the metrics. /healthz is for
// load balancers and shows only counts. Any other path is 404 for everyone, token or not: asking
// for one there protects nothing, and OAuth clients probing for discovery documents after a 401
// would read the 401 as "this server does OAuth" and fail in ways that hide the server's message.
bool needs_token(std::string_view path) { return path == "/mcp" || path == "/metrics"; }

}  // namespace

RequestGuard::RequestGuard(const GuardSettings& settings, std::string_view bind_host)
    : hosts_(kLoopbackNames.begin(), kLoopbackNames.end()) {
  for (const std::string& host : settings.allowed_hosts) {
    if (auto canonical = base::canonical_host(host)) hosts_.push_back(std::move(*canonical));
  }
  // Bound to one address, the server is reached by that address; 0.0.0.0 and :: are no address
  // a client names (its clients use names the operator lists).
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(bind_host, ec);
  if (!ec && !address.is_unspecified()) {
    if (auto canonical = base::canonical_host(bind_host)) hosts_.push_back(std::move(*canonical));
  }
  for (const std::string& origin : settings.cors_origins) {
    if (auto parsed = base::parse_origin(origin)) origins_.push_back(parsed->serialize());
  }
  if (!settings.auth_token.empty()) token_digest_ = sha256(settings.auth_token);
}

bool RequestGuard::host_allowed(std::string_view host_header) const {
  auto authority = base::parse_authority(host_header);
  return authority && std::find(hosts_.begin(), hosts_.end(), authority->host) != hosts_.end();
}

bool RequestGuard::cors_origin(std::string_view origin_header) const {
  auto origin = base::parse_origin(origin_header);
  return origin &&
         std::find(origins_.begin(), origins_.end(), origin->serialize()) != origins_.end();
}

Verdict RequestGuard::check(const bhttp::request_header<>& request) const {
  // One Host and at most one Origin (RFC 9112 section 3.2, RFC 6454 section 7.3): with two, the
  // check below and whatever reads the request later could each take a different one.
  if (request.count(bhttp::field::host) > 1 || request.count(bhttp::field::origin) > 1) {
    return refuse(bhttp::status::bad_request,
                  "bad request: the Host and Origin headers may each appear only once");
  }
  if (request.version() >= 11 && request.find(bhttp::field::host) == request.end()) {
    return refuse(bhttp::status::bad_request,
                  "bad request: an HTTP/1.1 request must carry a Host header");
  }
  // Against DNS rebinding: a page on another site that resolved its name to this machine still
  // sends its own name as Host and its own origin as Origin.
  if (!host_allowed(request[bhttp::field::host])) {
    return refuse(bhttp::status::forbidden,
                  "forbidden: the Host header must name this server (localhost, 127.0.0.1, "
                  "[::1], or a name its operator lists in http_allowed_hosts)");
  }
  std::string_view origin = request[bhttp::field::origin];
  bool listed = false;
  if (!origin.empty()) {
    listed = cors_origin(origin);
    auto parsed = base::parse_origin(origin);
    bool own_page =
        parsed && std::find(hosts_.begin(), hosts_.end(), parsed->authority.host) != hosts_.end();
    if (!listed && !own_page) {
      return refuse(bhttp::status::forbidden,
                    "forbidden: requests from this Origin are not allowed (its operator can allow "
                    "a page's origin in http_cors_origins)");
    }
  }
  bool preflight = request.method() == bhttp::verb::options && !origin.empty() &&
                   request.find(bhttp::field::access_control_request_method) != request.end();
  if (preflight) {
    if (!listed) {
      return refuse(bhttp::status::forbidden,
                    "forbidden: cross-origin requests from this Origin are not allowed (its "
                    "operator can allow a page's origin in http_cors_origins)");
    }
    return Verdict{bhttp::status::no_content,
                   {},
                   {{"Access-Control-Allow-Origin", std::string(origin)},
                    {"Access-Control-Allow-Methods", std::string(kAllowedMethods)},
                    {"Access-Control-Allow-Headers", std::string(kAllowedHeaders)},
                    {"Access-Control-Max-Age", std::string(kPreflightMaxAge)}}};
  }
  if (token_digest_ && needs_token(path_of(request.target()))) {
    return check_token(request[bhttp::field::authorization]);
  }
  return {};
}

Verdict RequestGuard::check_token(std::string_view authorization) const {
  if (authorization.empty()) {
    return refuse(bhttp::status::unauthorized,
                  "unauthorized: this server requires a bearer token: send the header "
                  "'Authorization: Bearer <token>' with the token its operator configured "
                  "(MCP_BG_AUTH_TOKEN or auth_token_file)",
                  {{"WWW-Authenticate", std::string(kChallenge)}});
  }
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !boost::beast::iequals(authorization.substr(0, kScheme.size()), kScheme)) {
    return refuse(bhttp::status::unauthorized,
                  "unauthorized: the Authorization header must use the Bearer scheme: "
                  "'Authorization: Bearer <token>'",
                  {{"WWW-Authenticate", std::string(kChallenge)}});
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  // Digests of equal size, compared in constant time: neither the token's length nor how much
  // of it a guess got right shows in the time the answer takes.
  Digest presented = sha256(token);
  if (CRYPTO_memcmp(presented.data(), token_digest_->data(), presented.size()) != 0) {
    return refuse(bhttp::status::unauthorized,
                  "unauthorized: the bearer token is wrong; send the token this server's operator "
                  "configured",
                  {{"WWW-Authenticate",
                    std::string(kChallenge) +
                        ", error=\"invalid_token\", error_description=\"the token is wrong\""}});
  }
  return {};
}

HeaderList RequestGuard::cors_headers(const bhttp::request_header<>& request) const {
  std::string_view origin = request[bhttp::field::origin];
  if (origin.empty() || !cors_origin(origin)) return {};
  return {{"Access-Control-Allow-Origin", std::string(origin)},
          {"Vary", "Origin"},
          {"Access-Control-Expose-Headers", std::string(kExposedHeaders)}};
}

}  // namespace http

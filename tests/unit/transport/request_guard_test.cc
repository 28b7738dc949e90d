#include "transport/http/request_guard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "transport/http/session_id.h"

namespace http {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::string_view kToken = "s3cret-token-0123456789abcdef";

struct Request {
  bhttp::verb method = bhttp::verb::post;
  std::string target = "/mcp";
  std::string host = "127.0.0.1:8765";
  std::string origin;
  std::string authorization;
  std::string preflight_method;  // Access-Control-Request-Method
};

bhttp::request_header<> make(const Request& r) {
  bhttp::request_header<> header;
  header.method(r.method);
  header.target(r.target);
  if (!r.host.empty()) header.set(bhttp::field::host, r.host);
  if (!r.origin.empty()) header.set(bhttp::field::origin, r.origin);
  if (!r.authorization.empty()) header.set(bhttp::field::authorization, r.authorization);
  if (!r.preflight_method.empty()) {
    header.set(bhttp::field::access_control_request_method, r.preflight_method);
  }
  return header;
}

std::string header_of(const Verdict& verdict, std::string_view name) {
  for (const auto& [key, value] : verdict.headers) {
    if (key == name) return value;
  }
  return {};
}

std::string header_of(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

// The JSON-RPC error in a refusal: id null, and its message.
std::string message_of(const Verdict& verdict) {
  auto body = nlohmann::json::parse(verdict.body);
  EXPECT_TRUE(body.at("id").is_null());
  EXPECT_EQ(body.at("error").at("code"), -32600);
  return body.at("error").at("message");
}

TEST(RequestGuard, HostMustNameThisMachine) {
  RequestGuard guard({}, "127.0.0.1");
  for (const char* host : {"localhost", "127.0.0.1", "[::1]", "localhost:8765", "127.0.0.1:1",
                           "[::1]:65535", "LOCALHOST:80", "[0:0::1]:80"}) {
    EXPECT_TRUE(guard.check(make({.host = host})).serve()) << host;
  }
  for (const char* host :
       {"evil.example", "localhost.evil.example", "127.0.0.1.nip.io", "127.0.0.1:", "127.0.0.1:abc",
        "::1", "[::1]x", "localhost:123456", "0.0.0.0", "10.0.0.1:80", "user@localhost"}) {
    Verdict verdict = guard.check(make({.host = host}));
    ASSERT_FALSE(verdict.serve()) << host;
    EXPECT_EQ(*verdict.status, bhttp::status::forbidden) << host;
    EXPECT_NE(message_of(verdict).find("http_allowed_hosts"), std::string::npos);
  }
}

TEST(RequestGuard, OneHostAndAtMostOneOriginElse400) {
  RequestGuard guard({.auth_token = std::string(kToken)}, "127.0.0.1");
  auto refused_as_bad = [](const Verdict& verdict) {
    return !verdict.serve() && *verdict.status == bhttp::status::bad_request &&
           message_of(verdict).find("only once") != std::string::npos;
  };
  // Two Host lines: whichever comes first, the request is refused before anything else (the
  // token is not even asked for).
  for (auto [first, second] :
       {std::pair{"127.0.0.1:8765", "evil.example"}, std::pair{"evil.example", "127.0.0.1:8765"},
        std::pair{"localhost", "localhost"}}) {
    bhttp::request_header<> twice = make({.host = first});
    twice.insert(bhttp::field::host, second);
    EXPECT_TRUE(refused_as_bad(guard.check(twice))) << first << ", " << second;
  }
  bhttp::request_header<> two_origins = make({.origin = "http://localhost"});
  two_origins.insert(bhttp::field::origin, "https://evil.example");
  EXPECT_TRUE(refused_as_bad(guard.check(two_origins)));

  // HTTP/1.1 requires Host; HTTP/1.0 predates it, and without one it cannot name this server.
  Verdict missing = guard.check(make({.host = ""}));
  ASSERT_FALSE(missing.serve());
  EXPECT_EQ(*missing.status, bhttp::status::bad_request);
  EXPECT_NE(message_of(missing).find("must carry a Host header"), std::string::npos);
  bhttp::request_header<> old = make({.host = ""});
  old.version(10);
  EXPECT_EQ(*guard.check(old).status, bhttp::status::forbidden);
}

TEST(RequestGuard, ConfiguredHostsAndASpecificBoundAddressAreAccepted) {
  RequestGuard guard({.allowed_hosts = {"mcp.example.com", "fd00::7"}}, "192.168.1.20");
  for (const char* host : {"mcp.example.com", "MCP.example.com:8765", "[fd00::7]:1",
                           "192.168.1.20:8765", "localhost:1"}) {
    EXPECT_TRUE(guard.check(make({.host = host})).serve()) << host;
  }
  for (const char* host : {"other.example.com", "example.com", "192.168.1.21:8765"}) {
    EXPECT_FALSE(guard.check(make({.host = host})).serve()) << host;
  }
  // Bound to every address, no address is implied: 0.0.0.0 is nothing a client names.
  RequestGuard any({}, "0.0.0.0");
  EXPECT_FALSE(any.check(make({.host = "0.0.0.0:8765"})).serve());
  RequestGuard any6({}, "::");
  EXPECT_FALSE(any6.check(make({.host = "[::]:8765"})).serve());
  RequestGuard v6({}, "fd00::9");
  EXPECT_TRUE(v6.check(make({.host = "[fd00::9]:8765"})).serve());
}

TEST(RequestGuard, OriginIsAbsentAPageOfThisServerOrAListedCorsOrigin) {
  RequestGuard guard(
      {.allowed_hosts = {"mcp.example.com"}, .cors_origins = {"https://app.example.com"}},
      "127.0.0.1");
  for (const char* origin :
       {"http://localhost", "http://127.0.0.1:3000", "https://[::1]:8443", "HTTP://localhost:1",
        "https://mcp.example.com", "https://app.example.com", "https://app.example.com:443"}) {
    EXPECT_TRUE(guard.check(make({.origin = origin})).serve()) << origin;
  }
  for (const char* origin :
       {"null", "http://evil.example", "https://localhost.evil.example", "file://", "localhost",
        "http://", "ftp://localhost", "https://app.example.com:8443", "http://app.example.org"}) {
    Verdict verdict = guard.check(make({.origin = origin}));
    ASSERT_FALSE(verdict.serve()) << origin;
    EXPECT_EQ(*verdict.status, bhttp::status::forbidden) << origin;
    EXPECT_NE(message_of(verdict).find("http_cors_origins"), std::string::npos);
  }
}

TEST(RequestGuard, PreflightFromAListedOriginIsAnsweredWithoutTheToken) {
  RequestGuard guard(
      {.cors_origins = {"https://app.example.com"}, .auth_token = std::string(kToken)},
      "127.0.0.1");
  Verdict verdict = guard.check(make({.method = bhttp::verb::options,
                                      .origin = "https://app.example.com",
                                      .preflight_method = "POST"}));
  ASSERT_FALSE(verdict.serve());
  EXPECT_EQ(*verdict.status, bhttp::status::no_content);
  EXPECT_TRUE(verdict.body.empty());
  EXPECT_EQ(header_of(verdict, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(header_of(verdict, "Access-Control-Allow-Methods"), "GET, POST, DELETE, OPTIONS");
  for (const char* name : {"Content-Type", "Accept", "Authorization", "Mcp-Session-Id",
                           "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name", "Last-Event-ID"}) {
    EXPECT_NE(header_of(verdict, "Access-Control-Allow-Headers").find(name), std::string::npos)
        << name;
  }
  EXPECT_FALSE(header_of(verdict, "Access-Control-Max-Age").empty());

  // A page of this server's own host, not listed for CORS: its preflight is refused, clearly.
  Verdict unlisted = guard.check(make({.method = bhttp::verb::options,
                                       .origin = "http://localhost:3000",
                                       .preflight_method = "POST"}));
  ASSERT_FALSE(unlisted.serve());
  EXPECT_EQ(*unlisted.status, bhttp::status::forbidden);
  EXPECT_NE(message_of(unlisted).find("http_cors_origins"), std::string::npos);
  // A foreign origin: refused before anything else.
  EXPECT_EQ(*guard
                 .check(make({.method = bhttp::verb::options,
                              .origin = "https://evil.example",
                              .preflight_method = "POST"}))
                 .status,
            bhttp::status::forbidden);
  // OPTIONS without Origin is no preflight: it needs the token like any request.
  EXPECT_EQ(*guard.check(make({.method = bhttp::verb::options})).status,
            bhttp::status::unauthorized);
}

TEST(RequestGuard, CorsHeadersOnlyForListedOrigins) {
  RequestGuard guard({.cors_origins = {"https://app.example.com"}}, "127.0.0.1");
  HeaderList listed = guard.cors_headers(make({.origin = "https://app.example.com"}));
  EXPECT_EQ(header_of(listed, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(header_of(listed, "Vary"), "Origin");
  EXPECT_NE(header_of(listed, "Access-Control-Expose-Headers").find("Mcp-Session-Id"),
            std::string::npos);
  EXPECT_TRUE(guard.cors_headers(make({})).empty());
  EXPECT_TRUE(guard.cors_headers(make({.origin = "http://localhost:3000"})).empty());
  EXPECT_TRUE(guard.cors_headers(make({.origin = "https://evil.example"})).empty());
}

TEST(RequestGuard, NoTokenConfiguredNoTokenAsked) {
  RequestGuard guard({}, "127.0.0.1");
  EXPECT_FALSE(guard.token_required());
  EXPECT_TRUE(guard.check(make({})).serve());
  EXPECT_TRUE(guard.check(make({.authorization = "Bearer anything"})).serve());
}

TEST(RequestGuard, MissingTokenIs401WithABearerChallenge) {
  RequestGuard guard({.auth_token = std::string(kToken)}, "127.0.0.1");
  EXPECT_TRUE(guard.token_required());
  for (bhttp::verb method : {bhttp::verb::post, bhttp::verb::get, bhttp::verb::delete_}) {
    for (const char* target : {"/mcp", "/metrics", "/mcp?x=/healthz", "/metrics?x"}) {
      Verdict verdict = guard.check(make({.method = method, .target = target}));
      ASSERT_FALSE(verdict.serve()) << target;
      EXPECT_EQ(*verdict.status, bhttp::status::unauthorized) << target;
      EXPECT_EQ(header_of(verdict, "WWW-Authenticate"), "Bearer realm=\"mcp-background-job\"");
      EXPECT_NE(message_of(verdict).find("Authorization: Bearer <token>"), std::string::npos);
    }
  }
  Verdict basic = guard.check(make({.authorization = "Basic dXNlcjpwYXNz"}));
  EXPECT_EQ(*basic.status, bhttp::status::unauthorized);
  EXPECT_NE(message_of(basic).find("Bearer scheme"), std::string::npos);
  EXPECT_EQ(*guard.check(make({.authorization = "Bearer"})).status, bhttp::status::unauthorized);
  EXPECT_EQ(*guard.check(make({.authorization = "Bearer "})).status, bhttp::status::unauthorized);
}

TEST(RequestGuard, PathsTheServerDoesNotServeNeedNoToken) {
  // They are 404 for everyone: what OAuth clients probe after a 401 must not look protected.
  RequestGuard guard({.auth_token = std::string(kToken)}, "127.0.0.1");
  for (bhttp::verb method : {bhttp::verb::get, bhttp::verb::post}) {
    for (const char* target :
         {"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp",
          "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration",
          "/register", "/nope", "/healthz/x", "/mcp/x", "/"}) {
      EXPECT_TRUE(guard.check(make({.method = method, .target = target})).serve()) << target;
    }
  }
  // Host is still checked there.
  EXPECT_FALSE(guard.check(make({.target = "/register", .host = "evil.example"})).serve());
}

TEST(RequestGuard, HealthzNeedsNoToken) {
  RequestGuard guard({.auth_token = std::string(kToken)}, "127.0.0.1");
  EXPECT_TRUE(guard.check(make({.method = bhttp::verb::get, .target = "/healthz"})).serve());
  EXPECT_TRUE(guard.check(make({.method = bhttp::verb::get, .target = "/healthz?full"})).serve());
  // Host is still checked there.
  EXPECT_FALSE(
      guard.check(make({.method = bhttp::verb::get, .target = "/healthz", .host = "evil.example"}))
          .serve());
}

TEST(RequestGuard, WrongTokenIsInvalidTokenAndTheRightOnePasses) {
  RequestGuard guard({.auth_token = std::string(kToken)}, "127.0.0.1");
  const std::string token(kToken);
  for (const std::string& wrong :
       {token.substr(0, token.size() - 1), token + "x", std::string("x") + token.substr(1),
        std::string("short"), std::string(4000, 'a')}) {
    Verdict verdict = guard.check(make({.authorization = "Bearer " + wrong}));
    ASSERT_FALSE(verdict.serve()) << wrong;
    EXPECT_EQ(*verdict.status, bhttp::status::unauthorized);
    EXPECT_NE(header_of(verdict, "WWW-Authenticate").find("error=\"invalid_token\""),
              std::string::npos);
    EXPECT_NE(message_of(verdict).find("wrong"), std::string::npos);
  }
  EXPECT_TRUE(guard.check(make({.authorization = "Bearer " + token})).serve());
  EXPECT_TRUE(guard.check(make({.authorization = "bearer  " + token + " "})).serve());
}

TEST(RequestGuard, TheTokenNeverAppearsInWhatTheGuardReturns) {
  RequestGuard guard(
      {.cors_origins = {"https://app.example.com"}, .auth_token = std::string(kToken)},
      "127.0.0.1");
  const std::string almost = std::string(kToken).substr(0, 20);
  for (const Request& request :
       {Request{}, Request{.authorization = "Bearer " + almost},
        Request{.authorization = "Basic x"}, Request{.host = "evil.example"},
        Request{.origin = "https://app.example.com"},
        Request{.method = bhttp::verb::options,
        .origin = "https://app.example.com",
        .preflight_method = "POST"}}) {
    Verdict verdict = guard.check(make(request));
    EXPECT_EQ(verdict.body.find(kToken), std::string::npos);
    EXPECT_EQ(verdict.body.find(almost), std::string::npos);
    for (const auto& [name, value] : verdict.headers) {
      EXPECT_EQ(value.find(almost), std::string::npos) << name;
    }
  }
}

TEST(RequestGuard, HostIsCheckedBeforeTheToken) {
  // A rebinding page learns nothing about whether a token is configured.
  RequestGuard guard({.auth_token = std::string(kToken)}, "127.0.0.1");
  EXPECT_EQ(*guard.check(make({.host = "evil.example"})).status, bhttp::status::forbidden);
  EXPECT_EQ(*guard.check(make({.origin = "https://evil.example"})).status,
            bhttp::status::forbidden);
}

TEST(RequestGuard, LegacyProtocolVersions) {
  EXPECT_TRUE(legacy_protocol_version_supported(""));
  EXPECT_TRUE(legacy_protocol_version_supported("2025-11-25"));
  EXPECT_TRUE(legacy_protocol_version_supported("2025-06-18"));
  EXPECT_TRUE(legacy_protocol_version_supported("2025-03-26"));
  EXPECT_FALSE(legacy_protocol_version_supported("2024-11-05"));
  EXPECT_FALSE(legacy_protocol_version_supported("2026-07-28"));
  EXPECT_FALSE(legacy_protocol_version_supported("banana"));
}

TEST(SessionId, IsThirtyTwoHexDigitsAndNeverRepeats) {
  std::string a = new_session_id();
  std::string b = new_session_id();
  EXPECT_TRUE(is_session_id(a)) << a;
  EXPECT_TRUE(is_session_id(b)) << b;
  EXPECT_NE(a, b);
  EXPECT_FALSE(is_session_id(""));
  EXPECT_FALSE(is_session_id(a.substr(1)));
  EXPECT_FALSE(is_session_id("ABCDEF0123456789ABCDEF0123456789"));
  EXPECT_FALSE(is_session_id("0123456789abcdef0123456789abcdeg"));
}

}  // namespace
}  // namespace http

#include "http/request_guard.h"

#include <gtest/gtest.h>

#include "http/session_id.h"

namespace http {
namespace {

TEST(RequestGuard, HostMustNameThisMachine) {
  for (const char* host : {"localhost", "127.0.0.1", "[::1]", "localhost:8765", "127.0.0.1:1",
                           "[::1]:65535", "LOCALHOST:80"}) {
    EXPECT_TRUE(host_allowed(host)) << host;
  }
  for (const char* host : {"", "evil.example", "localhost.evil.example", "127.0.0.1.nip.io",
                           "127.0.0.1:", "127.0.0.1:abc", "::1", "[::1]x", "localhost:123456",
                           "0.0.0.0", "10.0.0.1:80"}) {
    EXPECT_FALSE(host_allowed(host)) << host;
  }
}

TEST(RequestGuard, OriginIsAbsentOrALocalPage) {
  for (const char* origin : {"", "http://localhost", "http://127.0.0.1:3000", "https://[::1]:8443",
                             "HTTP://localhost:1"}) {
    EXPECT_TRUE(origin_allowed(origin)) << origin;
  }
  for (const char* origin : {"null", "http://evil.example", "https://localhost.evil.example",
                             "file://", "localhost", "http://", "ftp://localhost"}) {
    EXPECT_FALSE(origin_allowed(origin)) << origin;
  }
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

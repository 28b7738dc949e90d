#include "base/authority.h"

#include <gtest/gtest.h>

namespace base {
namespace {

TEST(Authority, HostAndPortInOneCanonicalSpelling) {
  EXPECT_EQ(parse_authority("LocalHost:8765").value(), (Authority{"localhost", 8765}));
  EXPECT_EQ(parse_authority("127.0.0.1").value(), (Authority{"127.0.0.1", std::nullopt}));
  EXPECT_EQ(parse_authority("[::1]:0").value(), (Authority{"[::1]", 0}));
  EXPECT_EQ(parse_authority("[0:0:0:0:0:0:0:1]").value().host, "[::1]");
  EXPECT_EQ(parse_authority("[FE80::A]:65535").value(), (Authority{"[fe80::a]", 65535}));
  EXPECT_EQ(parse_authority("my_service.internal").value().host, "my_service.internal");
}

TEST(Authority, RefusesWhatNoHostHeaderShouldCarry) {
  for (const char* text :
       {"", ":80", "127.0.0.1:", "127.0.0.1:abc", "localhost:123456", "localhost:65536", "::1",
        "[::1]x", "user@localhost", "evil%2eexample", "a b", "example.com/path", "[v1.x]"}) {
    EXPECT_FALSE(parse_authority(text).has_value()) << text;
  }
}

TEST(Authority, CanonicalHostTakesIpv6WithOrWithoutBracketsButNoPort) {
  EXPECT_EQ(canonical_host("::1").value(), "[::1]");
  EXPECT_EQ(canonical_host("[2001:DB8::1]").value(), "[2001:db8::1]");
  EXPECT_EQ(canonical_host("MCP.Example.COM").value(), "mcp.example.com");
  EXPECT_EQ(canonical_host("10.0.0.5").value(), "10.0.0.5");
  auto with_port = canonical_host("mcp.example.com:8765");
  ASSERT_FALSE(with_port.has_value());
  EXPECT_NE(with_port.error().message.find("port"), std::string::npos);
  EXPECT_FALSE(canonical_host("").has_value());
  EXPECT_FALSE(canonical_host("http://x").has_value());
}

TEST(Authority, OriginsSerializeAsBrowsersSendThem) {
  EXPECT_EQ(parse_origin("https://App.Example.com").value().serialize(), "https://app.example.com");
  EXPECT_EQ(parse_origin("https://app.example.com:443").value().serialize(),
            "https://app.example.com");
  EXPECT_EQ(parse_origin("http://app.example.com:80/").value().serialize(),
            "http://app.example.com");
  EXPECT_EQ(parse_origin("http://localhost:3000").value().serialize(), "http://localhost:3000");
  EXPECT_EQ(parse_origin("HTTP://[::1]:8443").value().serialize(), "http://[::1]:8443");
  EXPECT_EQ(parse_origin("https://app.example.com:80").value().serialize(),
            "https://app.example.com:80");
}

TEST(Authority, OriginsAreSchemeHostAndPortOnly) {
  for (const char* text :
       {"null", "", "file://", "ftp://localhost", "localhost", "http://",
        "https://app.example.com/path", "https://app.example.com?q", "https://user@app.example.com",
        "https://app.example.com#x", "chrome-extension://abc"}) {
    EXPECT_FALSE(parse_origin(text).has_value()) << text;
  }
}

TEST(Authority, LoopbackHosts) {
  for (const char* host : {"localhost", "127.0.0.1", "127.1.2.3", "[::1]"}) {
    EXPECT_TRUE(is_loopback_host(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "[::]", "10.0.0.1", "localhost.example", "128.0.0.1"}) {
    EXPECT_FALSE(is_loopback_host(host)) << host;
  }
}

}  // namespace
}  // namespace base

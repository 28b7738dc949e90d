#pragma once
/// The host (and port) named by an HTTP Host header or an Origin, read with Boost.URL (RFC 3986)
/// and spelled one canonical way, so that names compare as plain strings: a name or IPv4 address
/// in lower case, an IPv6 address in brackets in its shortest form ("[::1]"). The configuration
/// (checking allow-lists at start-up) and the HTTP request guard (comparing each request's headers
/// with them) both read hosts through here, so a name is spelled the same on both sides.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace base {

struct Authority {
  std::string host;  // canonical, see above
  std::optional<uint16_t> port;
  bool operator==(const Authority&) const = default;
};

/// `host[:port]` as a Host header carries it: no user info, a port of 1 to 5 digits (at most
/// 65535) after a colon when there is one. Names may hold letters, digits, '-', '.' and '_'.
Result<Authority> parse_authority(std::string_view text);

/// A host alone: a name, an IPv4 address, or an IPv6 address with or without brackets.
Result<std::string> canonical_host(std::string_view text);

struct Origin {
  std::string scheme;  // "http" or "https"
  Authority authority;
  /// scheme://host[:port], without the port when it is the scheme's default (80, 443): the form
  /// browsers send, so that a configured "https://app.example.com:443" matches it.
  std::string serialize() const;
};

/// An Origin header's value (RFC 6454): http(s)://host[:port], nothing after it but an optional
/// "/". "null" and every other scheme are errors.
Result<Origin> parse_origin(std::string_view text);

/// The loopback names a local client uses: "localhost", any 127.0.0.0/8 address, "[::1]".
bool is_loopback_host(std::string_view canonical);

}  // namespace base

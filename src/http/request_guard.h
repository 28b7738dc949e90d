#pragma once
/// What an HTTP request must carry to be served at all, before anything reads its body as MCP:
/// a Host and an Origin that name this machine (DNS-rebinding protection; the MCP specification
/// requires servers to validate Origin), and a protocol version the server speaks.

#include <string_view>

namespace http {

/// Host header: localhost, 127.0.0.1 or [::1], with or without a port, any case. A missing Host
/// (empty) is refused: HTTP/1.1 requires it.
bool host_allowed(std::string_view host);

/// Origin header: absent (empty; not a browser) or http(s)://one of the hosts above.
bool origin_allowed(std::string_view origin);

/// MCP-Protocol-Version on a legacy session's requests after initialize: absent (the
/// specification says to assume 2025-03-26) or one of the legacy versions the server speaks.
bool legacy_protocol_version_supported(std::string_view version);

}  // namespace http

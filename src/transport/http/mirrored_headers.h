#pragma once
/// The 2026-07-28 rule that a POST's MCP headers mirror its body (MCP-Protocol-Version the
/// body's _meta protocol version, Mcp-Method its method, Mcp-Name the tool or prompt name or
/// resource URI), so that a proxy routing on the headers sees what the server will run. A
/// request whose headers are missing, malformed or different is refused with -32020
/// (HeaderMismatch) before the server sees it.

#include <optional>
#include <string>
#include <string_view>

#include "mcp/json_rpc.h"

namespace http {

/// The header values as received; empty when absent.
struct MirroredHeaders {
  std::string_view protocol_version;
  std::string_view method;
  std::string_view name;
};

/// What is wrong with the headers of `message` (a JSON-RPC request object), or nullopt.
std::optional<std::string> mirrored_header_problem(const MirroredHeaders& headers,
                                                   const mcp::Json& message);

/// A header value as the client meant it: `=?base64?...?=` decoded, anything else as it is.
/// Nullopt for characters a header may not carry, or a sentinel that is not valid base64.
std::optional<std::string> decode_header_value(std::string_view value);

}  // namespace http

#pragma once
/// JSON-RPC 2.0 message construction for MCP, and the error codes the server uses.

#include <string>

#include <nlohmann/json.hpp>

namespace mcp {

using Json = nlohmann::json;

namespace error_code {
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kUnsupportedProtocolVersion = -32022;  // 2026-07-28
// 2026-07-28 over HTTP: the MCP headers do not mirror the body (or are missing or malformed).
constexpr int kHeaderMismatch = -32020;
}  // namespace error_code

Json make_result(const Json& id, Json result);
Json make_error(const Json& id, int code, std::string message, Json data = nullptr);
Json make_notification(std::string method, Json params);

/// Compact, single-line serialisation (stdio framing forbids embedded newlines); invalid UTF-8,
/// which should never reach here, is replaced rather than thrown on.
std::string serialize(const Json& message);

}  // namespace mcp

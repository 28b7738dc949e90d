#pragma once
/// JSON-RPC 2.0 message construction for MCP, and the error codes the server uses.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

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

/// Deeper than any real MCP message (a few levels), and shallow enough for recursion.
inline constexpr int kMaxNesting = 100;

/// Whether arrays and objects in `text` (valid JSON) nest deeper than `limit`. A loop over the
/// text, not a walk of the parsed value: copying or dumping a Json recurses once per level, so a
/// message of 400,000 '[' (800 KB, under max_message_size) overflowed the stack at the first copy
/// (found by fuzz_mcp_message; over HTTP, the 2026-07-28 path's dump of the request). Parsing and
/// destroying are iterative in nlohmann::json: nothing else may touch such a value, so every
/// transport asks this before it does.
bool nested_deeper_than(std::string_view text, int limit = kMaxNesting);

/// Compact, single-line serialisation (stdio framing forbids embedded newlines); invalid UTF-8,
/// which should never reach here, is replaced rather than thrown on.
std::string serialize(const Json& message);

}  // namespace mcp

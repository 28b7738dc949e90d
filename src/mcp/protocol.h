#pragma once
/// The one place that spells MCP's protocol versions and the `_meta` keys of the 2026-07-28
/// envelope: the server, the decoder and the HTTP transport all read them from here.

#include <algorithm>
#include <array>
#include <string_view>

namespace mcp {

/// The stateless era: every request carries its version in params._meta.
inline constexpr std::string_view kModernVersion = "2026-07-28";
/// The session era (initialize, then a session), newest first.
inline constexpr std::array<std::string_view, 3> kLegacyVersions{"2025-11-25", "2025-06-18",
                                                                 "2025-03-26"};
inline constexpr std::string_view kLatestLegacyVersion = kLegacyVersions.front();

/// Whether `version` (an MCP-Protocol-Version header) names a legacy version. Empty counts as
/// legacy: a legacy client may leave the header out (it then means 2025-03-26).
inline bool legacy_protocol_version_supported(std::string_view version) {
  return version.empty() || std::find(kLegacyVersions.begin(), kLegacyVersions.end(), version) !=
                                kLegacyVersions.end();
}

/// The keys of params._meta (and result._meta) that 2026-07-28 defines.
namespace meta_key {
inline constexpr std::string_view kProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view kClientCapabilities =
    "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view kClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view kServerInfo = "io.modelcontextprotocol/serverInfo";
inline constexpr std::string_view kSubscriptionId = "io.modelcontextprotocol/subscriptionId";
inline constexpr std::string_view kLogLevel = "io.modelcontextprotocol/logLevel";
/// 2025-11-25 tasks: what a message about a task carries (tasks/result's result).
inline constexpr std::string_view kRelatedTask = "io.modelcontextprotocol/related-task";
/// Not namespaced: the same key in both eras.
inline constexpr std::string_view kProgressToken = "progressToken";
}  // namespace meta_key

}  // namespace mcp

#include "transport/http/mirrored_headers.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/archive/iterators/binary_from_base64.hpp>
#include <boost/archive/iterators/transform_width.hpp>

#include "mcp/protocol.h"

namespace http {

using mcp::Json;

namespace {

constexpr std::string_view kSentinelStart = "=?base64?";
constexpr std::string_view kSentinelEnd = "?=";

// RFC 9110 field values: visible ASCII, space and tab.
bool header_safe(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte == '\t' || (byte >= 0x20 && byte <= 0x7e);
  });
}

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  std::string_view digits = text.substr(0, text.size() - padding);
  bool valid = std::all_of(digits.begin(), digits.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  });
  if (!valid) return std::nullopt;
  using namespace boost::archive::iterators;
  using Decoder = transform_width<binary_from_base64<std::string_view::const_iterator>, 8, 6>;
  std::string decoded(Decoder(digits.begin()), Decoder(digits.end()));
  // The decoder turns the last partial group into whole bytes: drop what the padding stood for.
  decoded.resize(digits.size() * 6 / 8);
  return decoded;
}

// The body's value for a header, or nullopt when the body has none (or not a string).
std::optional<std::string> body_string(const Json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string mismatch(std::string_view header, std::string_view value,
                     const std::optional<std::string>& body) {
  return fmt::format("Header mismatch: {} header value '{}' does not match body value {}", header,
                     value, body ? fmt::format("'{}'", *body) : std::string("(absent)"));
}

}  // namespace

std::optional<std::string> decode_header_value(std::string_view value) {
  if (!header_safe(value)) return std::nullopt;
  if (value.size() >= kSentinelStart.size() + kSentinelEnd.size() &&
      value.starts_with(kSentinelStart) && value.ends_with(kSentinelEnd)) {
    return decode_base64(value.substr(kSentinelStart.size(),
                                      value.size() - kSentinelStart.size() - kSentinelEnd.size()));
  }
  return std::string(value);
}

std::optional<std::string> mirrored_header_problem(const MirroredHeaders& headers,
                                                   const Json& message) {
  const Json empty = Json::object();
  const Json& params =
      message.contains("params") && message["params"].is_object() ? message["params"] : empty;
  const Json& meta =
      params.contains("_meta") && params["_meta"].is_object() ? params["_meta"] : empty;

  if (headers.protocol_version.empty()) {
    return "Header mismatch: the MCP-Protocol-Version header is required (2026-07-28)";
  }
  auto body_version = body_string(meta, mcp::meta_key::kProtocolVersion);
  // A body without the envelope is not a header problem: the endpoint refuses it as invalid
  // params, which tells the client what the body lacks.
  if (meta.contains(mcp::meta_key::kProtocolVersion) &&
      (!body_version || *body_version != headers.protocol_version)) {
    return mismatch("MCP-Protocol-Version", headers.protocol_version, body_version);
  }

  auto body_method = body_string(message, "method");
  if (headers.method.empty()) {
    return "Header mismatch: the Mcp-Method header is required (it mirrors the body's method)";
  }
  if (!body_method || *body_method != headers.method) {
    return mismatch("Mcp-Method", headers.method, body_method);
  }

  // Mcp-Name names what the request acts on, for the methods that act on something named.
  std::string_view name_key;
  if (*body_method == "tools/call" || *body_method == "prompts/get") name_key = "name";
  if (*body_method == "resources/read") name_key = "uri";
  if (name_key.empty()) return std::nullopt;
  auto body_name = body_string(params, name_key);
  if (headers.name.empty()) {
    return fmt::format(
        "Header mismatch: the Mcp-Name header is required for {} (it mirrors "
        "params.{})",
        *body_method, name_key);
  }
  auto decoded = decode_header_value(headers.name);
  if (!decoded) {
    return "Header mismatch: the Mcp-Name header holds characters a header may not carry, or an "
           "invalid =?base64?...?= value";
  }
  if (!body_name || *body_name != *decoded) return mismatch("Mcp-Name", *decoded, body_name);
  return std::nullopt;
}

}  // namespace http

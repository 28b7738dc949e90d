#include "transport/http/mirrored_headers.h"

#include <gtest/gtest.h>

namespace http {
namespace {

using mcp::Json;

Json request(const std::string& method, Json params = Json::object(),
             const std::string& version = "2026-07-28") {
  params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", version},
                     {"io.modelcontextprotocol/clientCapabilities", Json::object()}};
  return Json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
}

TEST(MirroredHeaders, MatchingHeadersPass) {
  EXPECT_EQ(mirrored_header_problem({"2026-07-28", "tools/list", ""}, request("tools/list")),
            std::nullopt);
  EXPECT_EQ(mirrored_header_problem({"2026-07-28", "tools/call", "status"},
                                    request("tools/call", {{"name", "status"}})),
            std::nullopt);
  EXPECT_EQ(mirrored_header_problem({"2026-07-28", "resources/read", "job://x/output"},
                                    request("resources/read", {{"uri", "job://x/output"}})),
            std::nullopt);
}

TEST(MirroredHeaders, EachHeaderIsRequiredAndCompared) {
  Json call = request("tools/call", {{"name", "status"}});
  auto problem = [&](MirroredHeaders headers) {
    return mirrored_header_problem(headers, call).value_or("(none)");
  };
  EXPECT_NE(problem({"", "tools/call", "status"}).find("MCP-Protocol-Version header is required"),
            std::string::npos);
  EXPECT_NE(problem({"2025-11-25", "tools/call", "status"}).find("body value '2026-07-28'"),
            std::string::npos);
  EXPECT_NE(problem({"2026-07-28", "", "status"}).find("Mcp-Method header is required"),
            std::string::npos);
  EXPECT_NE(problem({"2026-07-28", "tools/list", "status"}).find("'tools/list'"),
            std::string::npos);
  EXPECT_NE(problem({"2026-07-28", "tools/call", ""}).find("Mcp-Name header is required"),
            std::string::npos);
  EXPECT_NE(problem({"2026-07-28", "tools/call", "kill"})
                .find("'kill' does not match body value "
                      "'status'"),
            std::string::npos);
  // Header values are case-sensitive.
  EXPECT_NE(problem({"2026-07-28", "Tools/Call", "status"}), "(none)");
}

TEST(MirroredHeaders, ABodyWithoutTheEnvelopeIsLeftToTheEndpoint) {
  Json bare{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}};
  EXPECT_EQ(mirrored_header_problem({"2026-07-28", "tools/list", ""}, bare), std::nullopt);
}

TEST(MirroredHeaders, NamesMayTravelBase64Encoded) {
  EXPECT_EQ(decode_header_value("=?base64?c3RhdHVz?="), "status");
  EXPECT_EQ(decode_header_value("=?base64?SGVsbG8sIOS4lueVjA==?="),
            "Hello, \xe4\xb8\x96\xe7\x95\x8c");
  EXPECT_EQ(decode_header_value("=?base64?IHBhZGRlZCA=?="), " padded ");
  EXPECT_EQ(decode_header_value("plain"), "plain");
  EXPECT_EQ(decode_header_value("=?base64?"
                                "?="),
            "");  // split: "??=" is a trigraph
  EXPECT_EQ(decode_header_value("=?base64?not base64?="), std::nullopt);
  EXPECT_EQ(decode_header_value("=?base64?abc?="), std::nullopt);  // not a multiple of 4
  EXPECT_EQ(decode_header_value("bad\x01value"), std::nullopt);
  EXPECT_EQ(decode_header_value("caf\xc3\xa9"), std::nullopt);  // raw UTF-8 must be encoded

  Json call = request("tools/call", {{"name", "status"}});
  EXPECT_EQ(mirrored_header_problem({"2026-07-28", "tools/call", "=?base64?c3RhdHVz?="}, call),
            std::nullopt);
  EXPECT_NE(mirrored_header_problem({"2026-07-28", "tools/call", "=?base64?!!!!?="}, call),
            std::nullopt);
}

}  // namespace
}  // namespace http

#pragma once
/// What the HTTP transport takes from the settings, and the line that says where it serves.

#include <boost/asio/ip/tcp.hpp>

#include "config/config.h"
#include "transport/http/http_server.h"

namespace app {

/// The HTTP transport's settings (config.http must be set).
http::HttpSettings http_settings(const config::Config& config);

/// Tells stderr where MCP is served (a fixed format, for scripts and tests that start the server
/// on port 0) and logs where the token came from, never the token.
void announce_http(const boost::asio::ip::tcp::endpoint& bound, const config::Config& config);

}  // namespace app

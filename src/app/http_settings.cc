#include "app/http_settings.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>

namespace app {

http::HttpSettings http_settings(const config::Config& config) {
  return http::HttpSettings{
      .host = config.http->host,
      .port = config.http->port,
      .max_body_size = config.max_message_size,
      .max_connections = static_cast<size_t>(config.http_max_connections),
      .max_sessions = static_cast<size_t>(config.http_max_sessions),
      .header_timeout = config.http_header_timeout,
      .idle_timeout = config.http_idle_timeout,
      .max_streams_per_session = static_cast<size_t>(config.http_max_streams_per_session),
      .guard = {.allowed_hosts = config.http_allowed_hosts,
                .cors_origins = config.http_cors_origins,
                .auth_token = config.auth_token}};
}

void announce_http(const boost::asio::ip::tcp::endpoint& bound, const config::Config& config) {
  // A fixed format, for scripts and tests that start the server on port 0.
  std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                             : bound.address().to_string();
  std::fprintf(stderr, "mcp-background-job: serving MCP at http://%s:%u/mcp\n", host.c_str(),
               static_cast<unsigned>(bound.port()));
  // Where the token came from, never the token.
  if (!config.auth_token.empty()) {
    spdlog::info("http: every request but GET /healthz needs the bearer token from {}",
                 config.auth_token_file.empty() ? std::string("MCP_BG_AUTH_TOKEN")
                                                : config.auth_token_file.string());
  } else {
    spdlog::info("http: no auth token: any local process can call this server");
  }
}

}  // namespace app

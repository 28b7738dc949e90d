// The HTTP transport's kinds of value: the address to listen at, and the hosts and origins
// accepted in Host and Origin.
#include <arpa/inet.h>
#include <netinet/in.h>

#include "base/authority.h"
#include "config/setting.h"

namespace config {
namespace {

// HOST:PORT, with an IPv6 host in brackets; the host an IP address or "localhost". Whether a
// non-loopback host may be served is decided once every source is read (it needs auth_token).
base::Result<HttpAddress> parse_http_address(std::string_view text) {
  std::string_view trimmed = trim(text);
  size_t colon = trimmed.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return base::fail(fmt::format("{} is not HOST:PORT", quote(text)));
  }
  std::string host(trimmed.substr(0, colon));
  std::string_view port_text = trimmed.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return base::fail(fmt::format("{} is not HOST:PORT", quote(text)));
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return base::fail(
        fmt::format("{}: an IPv6 address goes in brackets ([::1]:PORT)", quote(text)));
  }
  auto port = parse_integer(port_text);
  if (!port || *port < 0 || *port > 65535) {
    return base::fail(fmt::format("{}: the port is not a number from 0 to 65535", quote(text)));
  }
  in_addr v4{};
  in6_addr v6{};
  if (host != "localhost" && ::inet_pton(AF_INET, host.c_str(), &v4) != 1 &&
      ::inet_pton(AF_INET6, host.c_str(), &v6) != 1) {
    return base::fail(fmt::format("{}: the host is not an IP address or localhost", quote(text)));
  }
  return HttpAddress{std::move(host), static_cast<uint16_t>(*port)};
}

}  // namespace

Setting http_setting(Names names, std::string help) {
  return Setting{
      std::move(names),
      "HOST:PORT",
      std::move(help),
      "none (stdio)",
      "HOST:PORT with an IP address or localhost as the host (IPv6 in brackets; a "
      "non-loopback one needs an auth token) and a port from 0 (any free one) to "
      "65535, or \"\" for stdio",
      TomlForm::kStringOnly,
      [](std::string_view text, const ValueContext&, Config& config) -> base::Result<void> {
        if (trim(text).empty()) {
          config.http.reset();
          return {};
        }
        auto address = parse_http_address(text);
        if (!address) return tl::unexpected(address.error());
        config.http = std::move(*address);
        return {};
      }};
}

Setting hosts_setting(Names names, std::string help) {
  return list_setting(
      std::move(names), "HOSTS", std::move(help), "none",
      "host names or IP addresses (IPv6 with or without brackets), without a port",
      [](const std::vector<std::string>& items, const ValueContext&,
         Config& config) -> base::Result<void> {
        std::vector<std::string> hosts;
        for (const std::string& item : items) {
          auto host = base::canonical_host(item);
          if (!host) return base::fail(fmt::format("{}: {}", quote(item), host.error().message));
          hosts.push_back(std::move(*host));
        }
        config.http_allowed_hosts = std::move(hosts);
        return {};
      });
}

Setting origins_setting(Names names, std::string help) {
  return list_setting(
      std::move(names), "ORIGINS", std::move(help), "none",
      "origins: http:// or https://, a host and an optional port, nothing after (e.g. "
      "https://app.example.com)",
      [](const std::vector<std::string>& items, const ValueContext&,
         Config& config) -> base::Result<void> {
        std::vector<std::string> origins;
        for (const std::string& item : items) {
          if (item == "*") {
            return base::fail(
                "\"*\" would let every web page call the server: list the origins "
                "of the pages that may");
          }
          auto origin = base::parse_origin(item);
          if (!origin) {
            return base::fail(fmt::format("{}: {}", quote(item), origin.error().message));
          }
          origins.push_back(origin->serialize());
        }
        config.http_cors_origins = std::move(origins);
        return {};
      });
}

bool HttpAddress::loopback() const {
  auto canonical = base::canonical_host(host);
  return canonical && base::is_loopback_host(*canonical);
}

}  // namespace config

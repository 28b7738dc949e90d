#include "base/authority.h"

#include <algorithm>
#include <boost/url/authority_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>

namespace base {
namespace {

namespace urls = boost::urls;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// What Boost.URL calls a reg-name admits percent escapes and sub-delimiters; a host name in
// a Host header or an allow-list is letters, digits, '-', '.' and '_' (the last for names such
// as Docker's service names).
bool plain_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_';
  });
}

// The host and port of an authority Boost.URL has parsed, checked and spelled canonically.
Result<Authority> from_view(const urls::authority_view& view) {
  if (view.has_userinfo()) return fail("it holds user information (user@host)");
  Authority authority;
  switch (view.host_type()) {
    case urls::host_type::ipv4:
      authority.host = view.host_ipv4_address().to_string();
      break;
    case urls::host_type::ipv6:
      authority.host = "[" + view.host_ipv6_address().to_string() + "]";
      break;
    case urls::host_type::name: {
      std::string_view name = view.encoded_host();
      if (!plain_name(name)) {
        return fail("the host name may hold only letters, digits, '-', '.' and '_'");
      }
      authority.host = lower(name);
      break;
    }
    case urls::host_type::none:
    case urls::host_type::ipvfuture:
      return fail("it names no host");
  }
  if (authority.host.empty()) return fail("it names no host");
  if (view.has_port()) {
    std::string_view port = view.port();
    // port_number() is 0 for a value that does not fit: check the digits ourselves.
    if (port.empty() || port.size() > 5 || std::stoul(std::string(port)) > 65535) {
      return fail("the port is not a number from 0 to 65535");
    }
    authority.port = view.port_number();
  }
  return authority;
}

}  // namespace

Result<Authority> parse_authority(std::string_view text) {
  auto view = urls::parse_authority(text);
  if (!view) return fail("it is not host[:port]");
  return from_view(*view);
}

Result<std::string> canonical_host(std::string_view text) {
  std::string bracketed(text);
  // A bare IPv6 address is the one host with colons; an authority needs it in brackets.
  if (std::count(text.begin(), text.end(), ':') > 1 && !text.starts_with('[')) {
    bracketed = "[" + bracketed + "]";
  }
  auto authority = parse_authority(bracketed);
  if (!authority) return tl::unexpected(authority.error());
  if (authority->port) return fail("it has a port: give the host alone (any port is accepted)");
  return std::move(authority->host);
}

std::string Origin::serialize() const {
  std::string out = scheme + "://" + authority.host;
  bool default_port = authority.port && ((scheme == "http" && *authority.port == 80) ||
                                         (scheme == "https" && *authority.port == 443));
  if (authority.port && !default_port) out += ":" + std::to_string(*authority.port);
  return out;
}

Result<Origin> parse_origin(std::string_view text) {
  auto url = urls::parse_absolute_uri(text);
  if (!url) return fail("it is not scheme://host[:port]");
  Origin origin;
  origin.scheme = lower(url->scheme());
  if (origin.scheme != "http" && origin.scheme != "https") {
    return fail("its scheme is neither http nor https");
  }
  if (!url->has_authority()) return fail("it names no host");
  std::string_view path = url->encoded_path();
  if ((!path.empty() && path != "/") || url->has_query()) {
    return fail("an origin is scheme://host[:port], with no path or query");
  }
  auto checked = from_view(url->authority());
  if (!checked) return tl::unexpected(checked.error());
  origin.authority = std::move(*checked);
  return origin;
}

bool is_loopback_host(std::string_view canonical) {
  if (canonical == "localhost" || canonical == "[::1]") return true;
  auto ipv4 = urls::parse_ipv4_address(canonical);
  return ipv4 && ipv4->is_loopback();
}

}  // namespace base

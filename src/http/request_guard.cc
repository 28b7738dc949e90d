#include "http/request_guard.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace http {
namespace {

constexpr std::array<std::string_view, 3> kLoopbackNames{"localhost", "127.0.0.1", "[::1]"};
constexpr std::array<std::string_view, 3> kLegacyVersions{"2025-11-25", "2025-06-18",
                                                          "2025-03-26"};

bool all_digits(std::string_view text) {
  return !text.empty() && text.size() <= 5 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool host_allowed(std::string_view host) {
  std::string lower(host);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view name : kLoopbackNames) {
    std::string_view text = lower;
    if (!text.starts_with(name)) continue;
    text.remove_prefix(name.size());
    if (text.empty()) return true;
    if (text.front() == ':' && all_digits(text.substr(1))) return true;
  }
  return false;
}

bool origin_allowed(std::string_view origin) {
  if (origin.empty()) return true;
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (origin.size() > scheme.size() && std::equal(scheme.begin(), scheme.end(), origin.begin(),
                                                    [](char a, char b) {
                                                      return a == std::tolower(
                                                                      static_cast<unsigned char>(b));
                                                    })) {
      std::string_view rest = origin.substr(scheme.size());
      if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // tolerated
      return host_allowed(rest);
    }
  }
  return false;
}

bool legacy_protocol_version_supported(std::string_view version) {
  if (version.empty()) return true;
  return std::find(kLegacyVersions.begin(), kLegacyVersions.end(), version) !=
         kLegacyVersions.end();
}

}  // namespace http

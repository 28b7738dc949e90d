#include "transport/http/session_id.h"

#include <array>
#include <cstdint>

#include "base/uuid.h"

namespace http {

std::string new_session_id() {
  std::array<uint8_t, 16> bytes = base::random_128_bits();
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string id;
  id.reserve(bytes.size() * 2);
  for (uint8_t byte : bytes) {
    id.push_back(kHex[byte >> 4]);
    id.push_back(kHex[byte & 0xf]);
  }
  return id;
}

bool is_session_id(std::string_view text) {
  if (text.size() != 32) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace http

#include "base/uuid.h"

#include <sys/random.h>

#include <array>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

namespace base {

std::array<uint8_t, 16> random_128_bits() {
  std::array<uint8_t, 16> bytes{};
  size_t filled = 0;
  while (filled < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // No entropy on Linux >= 3.17 is not a state we can run in.
    }
    filled += static_cast<size_t>(n);
  }
  return bytes;
}

std::string new_uuid_v4() {
  // Boost's generator draws from getrandom too, and sets the version and variant bits.
  return boost::uuids::to_string(boost::uuids::random_generator()());
}

bool looks_like_uuid(std::string_view text) {
  // 36 characters rule out the other forms the parser takes (no dashes, braces).
  if (text.size() != 36) return false;
  try {
    (void)boost::uuids::string_generator()(text.begin(), text.end());
    return true;
  } catch (const std::runtime_error&) {
    return false;
  }
}

}  // namespace base

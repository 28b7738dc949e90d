#include "base/utf8.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace base {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the well-formed sequence starting at `s[i]`, or 0 if it is not one (RFC 3629 table:
// no overlongs, no surrogates, nothing above U+10FFFF).
size_t valid_sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

}  // namespace

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  append_sanitized_utf8(out, bytes);
  return out;
}

void append_sanitized_utf8(std::string& out, std::string_view bytes) {
  append_sanitized_utf8(out, std::span<const std::string_view>(&bytes, 1));
}

void append_sanitized_utf8(std::string& out, std::span<const std::string_view> parts) {
  size_t total = 0;
  for (std::string_view part : parts) total += part.size();
  out.reserve(out.size() + total);
  size_t skip = 0;  // bytes at the start of the next part already taken by a character
  for (size_t p = 0; p < parts.size(); ++p) {
    std::string_view bytes = parts[p];
    size_t i = std::min(skip, bytes.size());
    skip -= i;
    while (i < bytes.size()) {
      // Fast path for ASCII runs, which is nearly all build and test output.
      size_t start = i;
      while (i < bytes.size() && static_cast<uint8_t>(bytes[i]) < 0x80) ++i;
      out.append(bytes.substr(start, i - start));
      if (i == bytes.size()) break;
      // The next four bytes of the whole text, wherever the parts split them.
      std::array<char, 4> ahead{};
      size_t seen = 0;
      for (size_t q = p, j = i; q < parts.size() && seen < ahead.size(); ++q, j = 0) {
        for (; j < parts[q].size() && seen < ahead.size(); ++j) ahead[seen++] = parts[q][j];
      }
      std::string_view next(ahead.data(), seen);
      size_t len = valid_sequence_length(next, 0);
      if (len == 0) {
        out.append(kReplacement);
        ++i;
      } else {
        out.append(next.substr(0, len));
        i += len;
      }
    }
    skip += i - std::min(i, bytes.size());  // a character that ran on into the next parts
  }
}

size_t incomplete_utf8_tail(std::string_view bytes) {
  // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
  size_t n = bytes.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    uint8_t b = static_cast<uint8_t>(bytes[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

}  // namespace base

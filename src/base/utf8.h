#pragma once
/// Job output is bytes; JSON strings must be UTF-8. These helpers make any byte range safe to send
/// without ever stopping capture on bad input.

#include <string>
#include <string_view>

namespace base {

/// Copies `bytes`, replacing each invalid or truncated UTF-8 sequence with U+FFFD.
std::string sanitize_utf8(std::string_view bytes);

/// The same, appended to `out`: no string of its own.
void append_sanitized_utf8(std::string& out, std::string_view bytes);

/// How many bytes at the end of `bytes` are the start of a multi-byte character that is not yet
/// complete (0 to 3). A reader that stops there can continue from the character's first byte.
size_t incomplete_utf8_tail(std::string_view bytes);

}  // namespace base

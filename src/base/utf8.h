#pragma once
/// Job output is bytes; JSON strings must be UTF-8. These helpers make any byte range safe to send
/// without ever stopping capture on bad input.

#include <span>
#include <string>
#include <string_view>

namespace base {

/// Copies `bytes`, replacing each invalid or truncated UTF-8 sequence with U+FFFD.
std::string sanitize_utf8(std::string_view bytes);

/// The same, appended to `out`: no string of its own.
void append_sanitized_utf8(std::string& out, std::string_view bytes);

/// The same for a text given in parts (pieces of a log, a text with markers put in), as if they
/// were joined, without joining them: a character split between parts comes out whole.
void append_sanitized_utf8(std::string& out, std::span<const std::string_view> parts);

/// How many bytes at the end of `bytes` are the start of a multi-byte character that is not yet
/// complete (0 to 3). A reader that stops there can continue from the character's first byte.
size_t incomplete_utf8_tail(std::string_view bytes);

}  // namespace base

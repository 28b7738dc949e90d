#pragma once
/// Session ids for the HTTP transport: 128 bits from the kernel's CSPRNG, as 32 lowercase hex
/// digits, so one cannot be guessed from another.

#include <string>
#include <string_view>

namespace http {

/// A fresh id (getrandom; it blocks only before the kernel's pool is first seeded at boot).
std::string new_session_id();

/// True for text shaped like an id we issue (32 lowercase hex digits): anything else is unknown
/// without a lookup.
bool is_session_id(std::string_view text);

}  // namespace http

#pragma once
/// Random (version 4) UUIDs for job ids, from the kernel's random source; never a pid, never
/// reused.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace base {

/// 128 bits from the kernel's random source (getrandom), for ids that must not be guessed.
std::array<uint8_t, 16> random_128_bits();

/// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower case.
std::string new_uuid_v4();

/// True when `text` has the canonical 8-4-4-4-12 hex shape of a UUID (any version, any case).
bool looks_like_uuid(std::string_view text);

}  // namespace base

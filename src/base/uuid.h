#pragma once
/// Random (version 4) UUIDs for job ids, from the kernel's random source; never a pid, never reused.

#include <string>
#include <string_view>

namespace base {

/// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower case.
std::string new_uuid_v4();

/// True when `text` has the canonical 8-4-4-4-12 hex shape of a UUID (any version, any case).
bool looks_like_uuid(std::string_view text);

}  // namespace base

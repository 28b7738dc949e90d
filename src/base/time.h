#pragma once
/// Wall-clock timestamps as clients see them.

#include <chrono>
#include <string>

namespace base {

using WallClock = std::chrono::system_clock;

/// ISO 8601 in UTC with milliseconds: "2026-11-22T02:05:57.123Z".
std::string iso8601_utc(WallClock::time_point when);

}  // namespace base

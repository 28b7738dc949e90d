#pragma once
/// The value parsers shared by every configuration source (flags, environment, TOML strings), so
/// that the same text gives the same value or the same error wherever it was written. Each error
/// is a reason that quotes the text ("\"ten\" is not an integer"); load_config adds the setting,
/// its source and what is allowed. Used by config.cc and its tests only.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace config {

/// `text` without surrounding blanks (space, tab, CR, LF).
std::string_view trim(std::string_view text);

/// ASCII case-insensitive equality.
bool equals_ignoring_case(std::string_view a, std::string_view b);

/// A whole number with an optional leading '-', e.g. "10" or "-1"; anything else is an error.
base::Result<int64_t> parse_integer(std::string_view text);

/// A non-negative number of bytes with an optional unit, e.g. "512", "64K", "1.5 MiB", "2gb".
/// Units are case-insensitive and all binary: B, K/KB/KiB (1024), M/MB/MiB, G/GB/GiB. A fraction
/// of a byte left by a decimal ("0.1K" is 102.4 bytes) is rounded down.
base::Result<uint64_t> parse_size(std::string_view text);

/// A non-negative time with an optional unit ms, s, m, h or d (case-insensitive); a bare number is
/// seconds. Decimals are allowed ("0.5s", "1.5"); a fraction of a millisecond is rounded down.
base::Result<std::chrono::milliseconds> parse_duration(std::string_view text);

/// trace, debug, info, warn (or warning), error, off; case-insensitive.
base::Result<LogLevel> parse_log_level(std::string_view text);

/// true, false, 1, 0, yes, no; case-insensitive.
base::Result<bool> parse_boolean(std::string_view text);

/// A comma-separated list, as environment variables and flags give one: items are trimmed of
/// surrounding blanks, empty items are dropped (so "" is the empty list), and "\\," is a comma
/// inside an item (so a regular expression can say {1\\,3}). Other backslashes are kept as written.
std::vector<std::string> parse_list(std::string_view text);

/// The shortest exact spelling that parse_size reads back: "10MiB", "1KiB", "1000B".
std::string format_size(uint64_t bytes);

/// A comma-separated list, as environment variables and flags give one: items are trimmed of
/// surrounding blanks, empty items are dropped (so "" is the empty list), and "\\," is a comma
/// inside an item (so a regular expression can say {1\\,3}). Other backslashes are kept as written.
std::vector<std::string> parse_list(std::string_view text);

/// The shortest exact spelling that parse_duration reads back: "1h", "30s", "0s", "1500ms".
std::string format_duration(std::chrono::milliseconds duration);

/// `text` in double quotes, with quotes, backslashes and control bytes escaped so that a stray
/// newline or escape sequence in a value cannot garble the error that quotes it.
std::string quote(std::string_view text);

}  // namespace config

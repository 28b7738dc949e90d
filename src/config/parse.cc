#include "config/parse.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <span>

namespace config {
namespace {

// A value times its unit can exceed 64 bits before the range check rejects it; 128-bit arithmetic
// makes "too large" a comparison instead of a chain of overflow checks.
__extension__ typedef unsigned __int128 Wide;

// Digits after the point beyond this many cannot change a result in whole bytes or milliseconds
// (every multiplier is below 2^37), and dropping them keeps fraction * multiplier inside 128 bits.
constexpr int kMaxFractionDigits = 18;

struct Unit {
  std::string_view name;  // Lower case; matched case-insensitively.
  uint64_t multiplier;
};

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = kKiB * 1024;
constexpr uint64_t kGiB = kMiB * 1024;

constexpr std::array kSizeUnits = {
    Unit{"b", 1},     Unit{"k", kKiB},   Unit{"kb", kKiB}, Unit{"kib", kKiB}, Unit{"m", kMiB},
    Unit{"mb", kMiB}, Unit{"mib", kMiB}, Unit{"g", kGiB},  Unit{"gb", kGiB},  Unit{"gib", kGiB},
};

constexpr uint64_t kSecond = 1000;
constexpr uint64_t kMinute = 60 * kSecond;
constexpr uint64_t kHour = 60 * kMinute;
constexpr uint64_t kDay = 24 * kHour;

constexpr std::array kDurationUnits = {
    Unit{"ms", 1}, Unit{"s", kSecond}, Unit{"m", kMinute}, Unit{"h", kHour}, Unit{"d", kDay},
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// "<digits>[.<digits>][ ]*<unit>" times the unit (or `bare_multiplier` when there is none), for
// sizes and durations alike. `what` names the kind of value in errors ("a size").
base::Result<uint64_t> parse_scaled(std::string_view original, std::span<const Unit> units,
                                    uint64_t bare_multiplier, uint64_t max, std::string_view what) {
  std::string_view text = trim(original);
  auto not_a = [&] { return base::fail(fmt::format("{} is not {}", quote(original), what)); };
  if (text.size() >= 2 && text[0] == '-' && is_digit(text[1])) {
    return base::fail(fmt::format("{} is negative", quote(original)));
  }

  size_t pos = 0;
  Wide whole = 0;
  bool whole_too_large = false;
  while (pos < text.size() && is_digit(text[pos])) {
    whole = whole * 10 + static_cast<unsigned>(text[pos] - '0');
    // Clamp instead of overflowing 128 bits on an absurdly long run of digits.
    if (whole > std::numeric_limits<uint64_t>::max()) {
      whole_too_large = true;
      whole = std::numeric_limits<uint64_t>::max();
    }
    ++pos;
  }
  if (pos == 0) return not_a();

  Wide fraction = 0;
  Wide fraction_scale = 1;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t fraction_start = pos;
    int kept = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      if (kept < kMaxFractionDigits) {
        fraction = fraction * 10 + static_cast<unsigned>(text[pos] - '0');
        fraction_scale *= 10;
        ++kept;
      }
      ++pos;
    }
    if (pos == fraction_start) return not_a();  // "5." or "5.K": a point needs digits after it.
  }

  while (pos < text.size() && is_space(text[pos])) ++pos;
  const std::string_view unit_text = text.substr(pos);
  uint64_t multiplier = bare_multiplier;
  if (!unit_text.empty()) {
    const Unit* found = nullptr;
    for (const Unit& unit : units) {
      if (equals_ignoring_case(unit_text, unit.name)) found = &unit;
    }
    if (found == nullptr) {
      for (char c : unit_text) {
        if (!is_alpha(c)) return not_a();
      }
      return base::fail(
          fmt::format("{} has an unknown unit {}", quote(original), quote(unit_text)));
    }
    multiplier = found->multiplier;
  }

  const Wide value = whole * multiplier + fraction * multiplier / fraction_scale;
  if (whole_too_large || value > max) {
    return base::fail(fmt::format("{} is too large", quote(original)));
  }
  return static_cast<uint64_t>(value);
}

}  // namespace

// Surrounding whitespace is dropped so that a value copied with a trailing newline (an env file,
// a shell heredoc) still reads as the value the user meant.
std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

base::Result<int64_t> parse_integer(std::string_view text) {
  const std::string_view trimmed = trim(text);
  // from_chars alone would accept "10abc" as 10; require that every character is part of it.
  const std::string_view digits = trimmed.starts_with('-') ? trimmed.substr(1) : trimmed;
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
    return base::fail(fmt::format("{} is not an integer", quote(text)));
  }

  int64_t value = 0;
  const auto [end, error] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), value);
  if (error == std::errc::result_out_of_range) {
    return base::fail(fmt::format("{} is out of range", quote(text)));
  }
  if (error != std::errc() || end != trimmed.data() + trimmed.size()) {
    return base::fail(fmt::format("{} is not an integer", quote(text)));
  }
  return value;
}

base::Result<uint64_t> parse_size(std::string_view text) {
  return parse_scaled(text, kSizeUnits, 1, std::numeric_limits<uint64_t>::max(), "a size");
}

base::Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  using Rep = std::chrono::milliseconds::rep;
  auto ms = parse_scaled(text, kDurationUnits, kSecond,
                         static_cast<uint64_t>(std::numeric_limits<Rep>::max()), "a duration");
  if (!ms) return tl::unexpected(ms.error());
  return std::chrono::milliseconds(static_cast<Rep>(*ms));
}

base::Result<LogLevel> parse_log_level(std::string_view text) {
  struct Name {
    std::string_view name;
    LogLevel level;
  };
  static constexpr std::array kNames = {
      Name{"trace", LogLevel::kTrace},  Name{"debug", LogLevel::kDebug},
      Name{"info", LogLevel::kInfo},    Name{"warn", LogLevel::kWarn},
      Name{"warning", LogLevel::kWarn}, Name{"error", LogLevel::kError},
      Name{"off", LogLevel::kOff},
  };
  const std::string_view trimmed = trim(text);
  for (const Name& name : kNames) {
    if (equals_ignoring_case(trimmed, name.name)) return name.level;
  }
  return base::fail(fmt::format("{} is not a log level", quote(text)));
}

base::Result<bool> parse_boolean(std::string_view text) {
  const std::string_view trimmed = trim(text);
  for (std::string_view yes : {"true", "1", "yes"}) {
    if (equals_ignoring_case(trimmed, yes)) return true;
  }
  for (std::string_view no : {"false", "0", "no"}) {
    if (equals_ignoring_case(trimmed, no)) return false;
  }
  return base::fail(fmt::format("{} is not a boolean", quote(text)));
}

std::vector<std::string> parse_list(std::string_view text) {
  std::vector<std::string> items;
  std::string item;
  auto finish = [&] {
    std::string_view trimmed = trim(item);
    if (!trimmed.empty()) items.emplace_back(trimmed);
    item.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == ',') {
      item.push_back(',');
      ++i;
    } else if (text[i] == ',') {
      finish();
    } else {
      item.push_back(text[i]);
    }
  }
  finish();
  return items;
}

std::string format_size(uint64_t bytes) {
  if (bytes == 0) return "0B";
  if (bytes % kGiB == 0) return fmt::format("{}GiB", bytes / kGiB);
  if (bytes % kMiB == 0) return fmt::format("{}MiB", bytes / kMiB);
  if (bytes % kKiB == 0) return fmt::format("{}KiB", bytes / kKiB);
  return fmt::format("{}B", bytes);
}

std::string format_duration(std::chrono::milliseconds duration) {
  struct Step {
    int64_t ms;
    std::string_view suffix;
  };
  static constexpr std::array kSteps = {
      Step{static_cast<int64_t>(kDay), "d"},
      Step{static_cast<int64_t>(kHour), "h"},
      Step{static_cast<int64_t>(kMinute), "m"},
      Step{static_cast<int64_t>(kSecond), "s"},
  };
  const int64_t ms = duration.count();
  if (ms == 0) return "0s";
  for (const Step& step : kSteps) {
    if (ms % step.ms == 0) return fmt::format("{}{}", ms / step.ms, step.suffix);
  }
  return fmt::format("{}ms", ms);
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace config

#include "config/parse.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace config {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = kKiB * 1024;
constexpr uint64_t kGiB = kMiB * 1024;

struct SizeCase {
  std::string text;
  uint64_t bytes;
};

TEST(ParseSize, AcceptsBareBytesAndEveryBinaryUnitInAnyCase) {
  const std::vector<SizeCase> cases = {
      {"0", 0},           {"512", 512},     {"10B", 10},         {"10b", 10},
      {"1K", kKiB},       {"1k", kKiB},     {"1KB", kKiB},       {"1kb", kKiB},
      {"1KiB", kKiB},     {"1kib", kKiB},   {"3M", 3 * kMiB},    {"3mb", 3 * kMiB},
      {"3MiB", 3 * kMiB}, {"2G", 2 * kGiB}, {"2gb", 2 * kGiB},   {"2GiB", 2 * kGiB},
      {"1 MiB", kMiB},    {"1   k", kKiB},  {" 4M\n", 4 * kMiB}, {"64GiB", 64 * kGiB},
  };
  for (const SizeCase& c : cases) {
    auto parsed = parse_size(c.text);
    ASSERT_TRUE(parsed) << c.text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, c.bytes) << c.text;
  }
}

TEST(ParseSize, AcceptsDecimalsAndRoundsDownToWholeBytes) {
  EXPECT_EQ(*parse_size("1.5MB"), 1572864u);
  EXPECT_EQ(*parse_size("0.5k"), 512u);
  EXPECT_EQ(*parse_size("1.25 GiB"), kGiB + kGiB / 4);
  EXPECT_EQ(*parse_size("0.1K"), 102u);  // 102.4 bytes.
  EXPECT_EQ(*parse_size("2.9"), 2u);     // A bare number is bytes.
}

TEST(ParseSize, LargestValueAndOverflow) {
  EXPECT_EQ(*parse_size("18446744073709551615"), UINT64_MAX);
  // 2^64 - 2^30 + (2^30 - 0.107) rounds down to exactly the largest value.
  EXPECT_EQ(*parse_size("17179869183.9999999999G"), UINT64_MAX);
  for (const char* text : {"18446744073709551616", "17179869184G", "17179869184.5G"}) {
    auto parsed = parse_size(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().message, "\"" + std::string(text) + "\" is too large");
  }
  auto absurd = parse_size(std::string(60, '9') + "G");
  ASSERT_FALSE(absurd);
  EXPECT_NE(absurd.error().message.find("is too large"), std::string::npos);
}

TEST(ParseSize, RejectsNegativeValues) {
  for (const char* text : {"-1", "-1K", " -0.5M"}) {
    auto parsed = parse_size(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message.find("is negative"), std::string::npos) << text;
  }
}

TEST(ParseSize, RejectsGarbageQuotingTheText) {
  for (const char* text :
       {"", "abc", "K", "1.", ".5", "1..5", "1 2", "1.5.2", "+5", "0x10", "1e3"}) {
    auto parsed = parse_size(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().message, "\"" + std::string(text) + "\" is not a size") << text;
  }
}

TEST(ParseSize, NamesAnUnknownUnit) {
  auto parsed = parse_size("5X");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "\"5X\" has an unknown unit \"X\"");
  EXPECT_FALSE(parse_size("1KBB"));
  EXPECT_FALSE(parse_size("1T"));  // Not one of the units the help lists.
  EXPECT_FALSE(parse_size("1ms"));
}

struct DurationCase {
  std::string text;
  milliseconds value;
};

TEST(ParseDuration, BareNumbersAreSecondsAndUnitsScale) {
  using namespace std::chrono_literals;
  const std::vector<DurationCase> cases = {
      {"0", 0ms},       {"5", 5s},        {"1.5", 1500ms},  {"0.5s", 500ms},
      {"250ms", 250ms}, {"250MS", 250ms}, {"2m", 2min},     {"2M", 2min},
      {"1h", 1h},       {"1.5h", 90min},  {"1d", 24h},      {"30d", 24h * 30},
      {"1 s", 1s},      {" 10s ", 10s},   {"0.0005s", 0ms}, {"1.0009", 1000ms},
  };
  for (const DurationCase& c : cases) {
    auto parsed = parse_duration(c.text);
    ASSERT_TRUE(parsed) << c.text << ": " << parsed.error().message;
    EXPECT_EQ(parsed->count(), c.value.count()) << c.text;
  }
}

TEST(ParseDuration, RejectsNegativeGarbageUnknownUnitsAndOverflow) {
  auto negative = parse_duration("-1s");
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().message, "\"-1s\" is negative");

  for (const char* text : {"", "abc", "s", "1.", "1e3", "1:30", "5 5"}) {
    auto parsed = parse_duration(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().message, "\"" + std::string(text) + "\" is not a duration") << text;
  }

  auto unit = parse_duration("5w");
  ASSERT_FALSE(unit);
  EXPECT_EQ(unit.error().message, "\"5w\" has an unknown unit \"w\"");

  EXPECT_EQ(parse_duration("9223372036854775807ms")->count(), INT64_MAX);
  for (const char* text : {"9223372036854775808ms", "106751991168d", "99999999999999999999"}) {
    auto parsed = parse_duration(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message.find("is too large"), std::string::npos) << text;
  }
}

TEST(ParseInteger, AcceptsWholeNumbersOnly) {
  EXPECT_EQ(*parse_integer("10"), 10);
  EXPECT_EQ(*parse_integer("-1"), -1);
  EXPECT_EQ(*parse_integer(" 7 "), 7);
  for (const char* text : {"ten", "1.5", "", "10abc", "+5", "-", "1 0", "0x10"}) {
    auto parsed = parse_integer(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().message, "\"" + std::string(text) + "\" is not an integer") << text;
  }
  auto huge = parse_integer("99999999999999999999");
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().message, "\"99999999999999999999\" is out of range");
}

TEST(ParseLogLevel, AcceptsEveryNameInAnyCaseAndWarning) {
  EXPECT_EQ(*parse_log_level("trace"), LogLevel::kTrace);
  EXPECT_EQ(*parse_log_level("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*parse_log_level("Info"), LogLevel::kInfo);
  EXPECT_EQ(*parse_log_level("warn"), LogLevel::kWarn);
  EXPECT_EQ(*parse_log_level("WARNING"), LogLevel::kWarn);
  EXPECT_EQ(*parse_log_level("error"), LogLevel::kError);
  EXPECT_EQ(*parse_log_level("off"), LogLevel::kOff);
  auto bad = parse_log_level("verbose");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "\"verbose\" is not a log level");
  EXPECT_FALSE(parse_log_level(""));
  EXPECT_FALSE(parse_log_level("warnings"));
}

TEST(ParseBoolean, AcceptsTheSixSpellingsInAnyCase) {
  for (const char* yes : {"true", "True", "1", "yes", "YES", " true "}) {
    EXPECT_EQ(parse_boolean(yes), true) << yes;
  }
  for (const char* no : {"false", "FALSE", "0", "no", "No"}) {
    EXPECT_EQ(parse_boolean(no), false) << no;
  }
  for (const char* bad : {"", "on", "off", "2", "y", "truee"}) {
    auto parsed = parse_boolean(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_NE(parsed.error().message.find("is not a boolean"), std::string::npos);
  }
}

TEST(FormatSize, UsesTheLargestExactUnitAndReadsBack) {
  EXPECT_EQ(format_size(0), "0B");
  EXPECT_EQ(format_size(1000), "1000B");
  EXPECT_EQ(format_size(kKiB), "1KiB");
  EXPECT_EQ(format_size(10 * kMiB), "10MiB");
  EXPECT_EQ(format_size(1536 * kMiB), "1536MiB");
  EXPECT_EQ(format_size(64 * kGiB), "64GiB");
  for (uint64_t bytes :
       {uint64_t{0}, uint64_t{1}, uint64_t{1023}, kKiB + 1, 3 * kMiB, 5 * kGiB, UINT64_MAX}) {
    EXPECT_EQ(*parse_size(format_size(bytes)), bytes);
  }
}

TEST(FormatDuration, UsesTheLargestExactUnitAndReadsBack) {
  using namespace std::chrono_literals;
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(10min), "10m");
  EXPECT_EQ(format_duration(1h), "1h");
  EXPECT_EQ(format_duration(24h * 30), "30d");
  for (milliseconds value : {milliseconds(0), milliseconds(1), milliseconds(61001),
                             milliseconds(90min), milliseconds(48h)}) {
    EXPECT_EQ(*parse_duration(format_duration(value)), value);
  }
}

TEST(Quote, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(quote("plain"), "\"plain\"");
  EXPECT_EQ(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote("x\ny\tz"), "\"x\\ny\\tz\"");
  EXPECT_EQ(quote(std::string("\x1b[0m", 4)), "\"\\x1b[0m\"");
  EXPECT_EQ(quote("héllo"), "\"héllo\"");  // UTF-8 passes through.
}

}  // namespace
}  // namespace config

namespace config {
namespace {

TEST(ParseList, SplitsTrimsDropsEmptiesAndKeepsEscapedCommas) {
  EXPECT_EQ(parse_list(""), std::vector<std::string>{});
  EXPECT_EQ(parse_list(" , ,"), std::vector<std::string>{});
  EXPECT_EQ(parse_list("a, b ,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(parse_list(R"(x{1\,3}, \d+)"), (std::vector<std::string>{"x{1,3}", R"(\d+)"}));
  EXPECT_EQ(parse_list(R"(trailing\)"), std::vector<std::string>{R"(trailing\)"});
}

}  // namespace
}  // namespace config

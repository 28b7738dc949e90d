#include "base/time.h"

#include <gtest/gtest.h>

namespace base {
namespace {

TEST(Time, FormatsUtcWithMilliseconds) {
  WallClock::time_point when{std::chrono::milliseconds(1795314357123)};
  EXPECT_EQ(iso8601_utc(when), "2026-11-22T02:25:57.123Z");
  EXPECT_EQ(iso8601_utc(WallClock::time_point{}), "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace base

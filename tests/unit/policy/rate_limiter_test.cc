#include "policy/rate_limiter.h"

#include <gtest/gtest.h>

namespace policy {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

TEST(RateLimiter, ZeroMeansNoLimit) {
  RateLimiter limiter(0, Clock::time_point{});
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.try_take(Clock::time_point{}));
}

TEST(RateLimiter, AllowsABurstThenSaysHowLongToWait) {
  Clock::time_point t0{};
  RateLimiter limiter(3, t0);
  EXPECT_FALSE(limiter.try_take(t0));
  EXPECT_FALSE(limiter.try_take(t0));
  EXPECT_FALSE(limiter.try_take(t0));
  auto wait = limiter.try_take(t0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, Clock::duration(20s));  // 60 s / 3 per minute
  // A denied attempt takes nothing: halfway there, half the wait remains.
  auto later = limiter.try_take(t0 + 10s);
  ASSERT_TRUE(later);
  EXPECT_EQ(*later, Clock::duration(10s));
  EXPECT_FALSE(limiter.try_take(t0 + 20s));
  EXPECT_TRUE(limiter.try_take(t0 + 20s));
}

TEST(RateLimiter, RefillsNoFurtherThanTheBurst) {
  Clock::time_point t0{};
  RateLimiter limiter(2, t0);
  auto t1 = t0 + 1h;
  EXPECT_FALSE(limiter.try_take(t1));
  EXPECT_FALSE(limiter.try_take(t1));
  EXPECT_TRUE(limiter.try_take(t1));
}

}  // namespace
}  // namespace policy

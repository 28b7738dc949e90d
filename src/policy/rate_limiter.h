#pragma once
/// A token bucket: at most `per_minute` starts in any minute, refilled continuously, so a burst
/// of up to `per_minute` is allowed after a quiet minute and the steady rate is per_minute/60 s.
/// Used by the job engine for max_starts_per_minute; the clock is passed in so tests need no sleep.

#include <chrono>
#include <optional>

namespace policy {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  /// `per_minute` of zero means no limit.
  explicit RateLimiter(int per_minute, Clock::time_point now = Clock::now());

  /// Takes one token if there is one. Otherwise returns how long until the next token exists,
  /// and takes nothing.
  std::optional<Clock::duration> try_take(Clock::time_point now = Clock::now());

  int per_minute() const { return per_minute_; }

 private:
  void refill(Clock::time_point now);

  int per_minute_;
  double tokens_;
  Clock::time_point last_refill_;
};

}  // namespace policy

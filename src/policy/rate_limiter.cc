#include "policy/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace policy {

RateLimiter::RateLimiter(int per_minute, Clock::time_point now)
    : per_minute_(per_minute), tokens_(per_minute), last_refill_(now) {}

void RateLimiter::refill(Clock::time_point now) {
  if (now <= last_refill_) return;
  std::chrono::duration<double> elapsed = now - last_refill_;
  tokens_ = std::min<double>(per_minute_, tokens_ + elapsed.count() * per_minute_ / 60.0);
  last_refill_ = now;
}

std::optional<RateLimiter::Clock::duration> RateLimiter::try_take(Clock::time_point now) {
  if (per_minute_ <= 0) return std::nullopt;
  refill(now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return std::nullopt;
  }
  // Time for the bucket to grow from tokens_ to one whole token, rounded up so that a caller
  // who waits exactly this long is let through.
  std::chrono::duration<double> missing((1.0 - tokens_) * 60.0 / per_minute_);
  return std::chrono::ceil<Clock::duration>(missing);
}

}  // namespace policy

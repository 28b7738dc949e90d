#include "stats.h"

#include <algorithm>
#include <cmath>

#include "failure.h"

namespace bench {

Clock::duration Samples::percentile(double fraction) const {
  check(!values_.empty() && fraction > 0.0 && fraction <= 1.0,
        "percentile {} of {} samples is undefined", fraction, values_.size());
  std::vector<Clock::duration> sorted = values_;
  auto rank = static_cast<size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  auto nth = sorted.begin() + static_cast<std::ptrdiff_t>(std::max<size_t>(rank, 1) - 1);
  std::nth_element(sorted.begin(), nth, sorted.end());
  return *nth;
}

double to_micros(Clock::duration value) {
  return std::chrono::duration<double, std::micro>(value).count();
}

double to_millis(Clock::duration value) {
  return std::chrono::duration<double, std::milli>(value).count();
}

double to_seconds(Clock::duration value) { return std::chrono::duration<double>(value).count(); }

}  // namespace bench

#pragma once
/// Timing samples and the summaries the report prints (median, percentiles). Used by the
/// scenarios; single-threaded.

#include <chrono>
#include <cstdint>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

/// Durations collected one at a time; summaries sort a copy, so adding stays O(1).
class Samples {
 public:
  void reserve(size_t count) { values_.reserve(count); }
  void add(Clock::duration value) { values_.push_back(value); }
  size_t size() const { return values_.size(); }

  /// Nearest-rank percentile, `fraction` in (0, 1]: the smallest sample that at least that
  /// fraction of the samples do not exceed. Needs at least one sample.
  Clock::duration percentile(double fraction) const;
  Clock::duration median() const { return percentile(0.5); }

 private:
  std::vector<Clock::duration> values_;
};

double to_micros(Clock::duration value);
double to_millis(Clock::duration value);
double to_seconds(Clock::duration value);

}  // namespace bench

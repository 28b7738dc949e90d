#pragma once
/// Line-oriented views of a job's output for `wait` (match a pattern in new output) and `grep`
/// (matching lines with context). Lines are cut at '\n'; a final line without one counts.
/// Lines are only ever assembled from kept bytes: none spans the dropped middle.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <re2/re2.h>

#include "jobs/output_log.h"

namespace mcp::tools {

struct Line {
  uint64_t offset;   // Absolute offset of the line's first byte.
  std::string text;  // Without the '\n'; raw bytes.
  bool complete;     // Ended by '\n' (false for a last line still being written).
};

/// The lines of the kept output of `filter` in [from, to), in order. A line begun before `from`
/// is not included; a line cut by the dropped middle is split there.
std::vector<Line> collect_lines(const jobs::OutputLog& log, uint64_t from, uint64_t to,
                                jobs::StreamFilter filter);

/// Scans output incrementally for the first line matching a pattern, resuming where the last
/// scan stopped (after the last complete line), so repeated scans cost only the new bytes.
class LineMatcher {
 public:
  LineMatcher(const RE2& pattern, uint64_t from, jobs::StreamFilter filter)
      : pattern_(pattern), scanned_(from), filter_(filter) {}

  std::optional<Line> scan(const jobs::OutputLog& log);

 private:
  const RE2& pattern_;
  uint64_t scanned_;
  jobs::StreamFilter filter_;
};

/// Compiles a pattern given by a client, or says what is wrong with it, naming the argument.
std::optional<std::string> compile_pattern(const std::string& argument, const std::string& text,
                                           std::unique_ptr<RE2>& out);

}  // namespace mcp::tools

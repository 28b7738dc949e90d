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
#include "policy/redactor.h"

namespace mcp::tools {

struct Line {
  uint64_t offset;   // Absolute offset of the line's first byte.
  std::string text;  // Without the '\n'; raw bytes, or as shown once redacted (redact_lines).
  bool complete;     // Ended by '\n' (false for a last line still being written).
  size_t raw_size = 0;  // Bytes the job printed for it (without the '\n'), whatever `text` became.
};

/// The lines of the kept output of `filter` in [from, to), in order. A line begun before `from`
/// is not included; a line cut by the dropped middle is split there.
std::vector<Line> collect_lines(const jobs::OutputLog& log, uint64_t from, uint64_t to,
                                jobs::StreamFilter filter);

/// Scans output incrementally for the first line matching a pattern, resuming where the last
/// scan stopped (after the last complete line), so repeated scans cost only the new bytes. With
/// a redactor, lines are matched (and returned) as the client would see them, redacted.
class LineMatcher {
 public:
  LineMatcher(const RE2& pattern, uint64_t from, jobs::StreamFilter filter,
              const policy::Redactor* redactor = nullptr)
      : pattern_(pattern), scanned_(from), filter_(filter), redactor_(redactor) {}

  std::optional<Line> scan(const jobs::OutputLog& log);

 private:
  const RE2& pattern_;
  uint64_t scanned_;
  jobs::StreamFilter filter_;
  const policy::Redactor* redactor_;
};

/// Lines matching a pattern, with up to `context` lines around each, like grep -C.
struct GrepResult {
  std::vector<Line> matches;  // The matching lines only.
  std::string text;           // Matches and context as lines; "--" between separate groups.
  uint64_t scanned_to = 0;    // Offset after the last line considered (where to continue).
  bool truncated = false;     // Stopped at max_bytes (forward) or left out older matches (last).
};

/// Forward: matches in order from the first line, stopping before max_bytes of text is exceeded.
GrepResult grep_forward(const std::vector<Line>& lines, const RE2& pattern, size_t context,
                        uint64_t max_bytes);
/// The last `count` matches (and their context), at most max_bytes of text.
GrepResult grep_last(const std::vector<Line>& lines, const RE2& pattern, size_t context,
                     size_t count, uint64_t max_bytes);

/// Compiles a pattern given by a client, or says what is wrong with it, naming the argument.
std::optional<std::string> compile_pattern(const std::string& argument, const std::string& text,
                                           std::unique_ptr<RE2>& out);

}  // namespace mcp::tools

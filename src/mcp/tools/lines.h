#pragma once
/// Line-oriented views of a job's output for `wait` (match a pattern in new output) and `grep`
/// (matching lines with context). Lines are cut at '\n'; a final line without one counts.
/// Lines are only ever assembled from kept bytes: none spans the dropped middle.

#include <re2/re2.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/output_log.h"
#include "policy/redactor.h"

namespace mcp::tools {

struct Line {
  uint64_t offset;      // Absolute offset of the line's first byte.
  std::string text;     // Without the '\n'; raw bytes, or as shown once redacted (redact_lines).
  bool complete;        // Ended by '\n' (false for a last line still being written).
  size_t raw_size = 0;  // Bytes the job printed for it (without the '\n'), whatever `text` became.
};

/// The lines of the kept output of `filter` in [from, to), in order. A line begun before `from`
/// is not included; a line cut by the dropped middle is split there.
std::vector<Line> collect_lines(const jobs::OutputLog& log, uint64_t from, uint64_t to,
                                jobs::StreamFilter filter);

/// One rule for how long a line may be when it is shown, whoever shows it (grep, tail with grep,
/// wait's match, the digest of a finished job): a line is matched whole, and shown as at most
/// `limit` bytes of it. A longer one is cut around where `pattern` first matches it (its start
/// without a pattern or a match), never inside a character, and says so where bytes are left
/// out: "[... N bytes not shown ...]". Raw bytes in, raw bytes out (sanitised when shown).
std::string shown_line(std::string_view text, const RE2* pattern, size_t limit);

/// How long a line shown by grep, by tail with grep and by wait's match may be (at most the
/// call's max_bytes).
inline constexpr size_t kShownLineBytes = 4096;

/// A client's pattern made ready to find matching lines in a long stretch of output: RE2 runs
/// far faster over one long text (its DFA, no per-call setup) than over millions of short lines,
/// so the stretch is searched whole in multi-line mode to find candidate lines, and each
/// candidate is then checked as a line. A pattern whose meaning would change in multi-line mode
/// (\A, \z, flags turned off) is matched line by line instead.
class LinePattern {
 public:
  explicit LinePattern(const RE2& line);
  const RE2& line() const { return line_; }

  /// The lines of the kept output of `filter` in [from, to) whose raw text matches, in order:
  /// `found(line, previous_start, next_end)` is called for each until it returns false, with the
  /// offset where the line before it starts and where the line after it ends (its own bounds at
  /// the edges of the stretch). Only matching lines are assembled. A line cut by `to` counts.
  void find(const jobs::OutputLog& log, uint64_t from, uint64_t to, jobs::StreamFilter filter,
            const std::function<bool(Line&, uint64_t, uint64_t)>& found) const;

 private:
  const RE2& line_;
  std::unique_ptr<RE2> block_;  // null: line by line
};

/// Scans output incrementally for the first line matching a pattern. Each scan looks only at
/// what arrived since the last one: the complete lines once, and a last line still being
/// written (a prompt) only while it is short, so a long line in the making is not scanned again
/// on every chunk. With a redactor, lines are matched (and returned) as the client would see
/// them, redacted.
class LineMatcher {
 public:
  LineMatcher(const RE2& pattern, uint64_t from, jobs::StreamFilter filter,
              const policy::Redactor* redactor = nullptr)
      : pattern_(pattern),
        lines_(pattern),
        scanned_(from),
        searched_to_(from),
        filter_(filter),
        redactor_(redactor) {}

  std::optional<Line> scan(const jobs::OutputLog& log);

  /// A last line without its '\n' is matched only up to this size: prompts are short.
  static constexpr uint64_t kLongestPartialLine = 4096;

 private:
  std::optional<Line> match(const jobs::OutputLog& log, uint64_t from, uint64_t to);

  const RE2& pattern_;
  LinePattern lines_;
  uint64_t scanned_;      // Where the first line not yet matched whole begins.
  uint64_t searched_to_;  // [scanned_, searched_to_) holds no '\n' of the filter's bytes.
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

/// Forward: matches in order from the first line, stopping before max_bytes of text is exceeded
/// (the first group is always returned, cut to fit, so a next_offset always moves on). Lines are
/// shown as shown_line cuts them, in `text` and in `matches`.
GrepResult grep_forward(const std::vector<Line>& lines, const RE2& pattern, size_t context,
                        uint64_t max_bytes);
/// The last `count` matches (and their context), at most max_bytes of text.
GrepResult grep_last(const std::vector<Line>& lines, const RE2& pattern, size_t context,
                     size_t count, uint64_t max_bytes);

/// Compiles a pattern given by a client, or says what is wrong with it, naming the argument.
std::optional<std::string> compile_pattern(const std::string& argument, const std::string& text,
                                           std::unique_ptr<RE2>& out);

}  // namespace mcp::tools

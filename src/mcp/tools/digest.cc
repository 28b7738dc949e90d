#include "mcp/tools/digest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <vector>

#include "base/utf8.h"
#include "mcp/tools/lines.h"
#include "mcp/tools/redaction.h"

namespace mcp::tools {

// Each alternative is anchored on how a tool words a failure, not on the bare word "error",
// which passing builds print too (-Werror, error.c, test_error_handling, "0 errors").
const char* const kDefaultErrorPattern =
    // gcc, clang, rustc, cargo, go vet, Python logging: "x.c:2:3: error: ...", "error[E0308]:",
    // "ERROR: ..."; and "fatal: ..." (git), "fatal error: ..." (gcc, Go runtime).
    R"((?i:\berror(\[\w+\])?:)|(?i:\bfatal( error)?:))"
    // Python and JS exceptions, Java's: "ValueError: x", "AssertionError [ERR_ASSERTION]: ...",
    // "java.lang.IllegalStateException: ...", and a traceback's first line.
    R"(|\b[A-Z]\w*(Error|Exception)\b( \[\w+\])?(:|$)|^Traceback \(most recent call last\))"
    // Test runners: FAIL/FAILED/FAILURE in capitals (pytest, unittest, jest, go test, cargo,
    // gtest), go's "--- FAIL:", ctest's "***Failed" and "(Failed)", TAP's "not ok 3", node
    // --test's and jest's marks, pytest's "E   assert ...", gtest's "x.cc:4: Failure".
    R"(|\bFAIL(ED|URE)?\b|\*\*\*Failed|\(Failed\)|^\s*not ok \d+|^\s*[✕✖✗]\s|^\s*●\s|^E\s{2,}\S)"
    R"(|: Failure$)"
    // Panics, failed assertions (assert.h, Rust), crashes.
    R"(|^panic:|\bpanicked at\b|(?i:\bassertion\b.*\bfailed\b)|\bSegmentation fault\b)"
    R"(|\bcore dumped\b)"
    // make, the linker, npm.
    R"(|\bmake(\[\d+\])?: \*\*\*|\bundefined reference to\b|\bnpm (ERR!|error)\b)";

namespace {

// Of the budget: the first lines get a quarter, the error lines a quarter, the last lines the
// rest (three quarters when no line matches).
constexpr uint64_t kHeadShare = 4;
constexpr uint64_t kErrorShare = 4;
// An error line (or its context) is shown as at most this much of it.
constexpr size_t kErrorLineBytes = 300;
// The error pattern is looked for in at most this much of what is left out, the part nearest
// the last lines: a digest costs about the same however much the job printed (10 MB searched
// whole took 100 ms, paid by every wait that returns it), and a test run's failure report
// comes near its end.
constexpr uint64_t kErrorScanBytes = uint64_t{256} << 10;

// The '\n' in `bytes`, eight at a time: what is left out may be 10 MB, and a byte-by-byte count
// of it (std::count, not vectorised at -O2) took 5 ms of every digest.
uint64_t count_newlines(std::string_view bytes) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7FULL;
  uint64_t count = 0;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    const uint64_t x = word ^ (kOnes * '\n');  // a zero byte where there was a '\n'
    // The high bit of each byte of `found` is set exactly where x has a zero byte.
    const uint64_t found = ~(((x & kLow7) + kLow7) | x | kLow7);
    // One bit a byte, summed into the top byte by the multiplication (at most 8: no carry).
    // std::popcount would be a call into libgcc without -mpopcnt.
    count += ((found >> 7) * kOnes) >> 56;
  }
  for (; i < bytes.size(); ++i) count += bytes[i] == '\n' ? 1 : 0;
  return count;
}

struct Span {
  uint64_t from;
  uint64_t to;
};

uint64_t kept_size(const jobs::OutputLog& log, uint64_t from, uint64_t to) {
  uint64_t size = 0;
  for (const auto& piece : log.pieces(from, to, jobs::StreamFilter::kBoth))
    size += piece.bytes.size();
  return size;
}

// Where the first lines end: after the last '\n' within `limit` kept bytes from `from` (the cut
// at a character boundary if the first line alone is longer), never past `end`. Searched
// in the log's memory: nothing is copied.
uint64_t head_end(const jobs::OutputLog& log, uint64_t from, uint64_t end, uint64_t limit) {
  if (end - from <= limit) return end;
  auto pieces = log.pieces(from, from + limit, jobs::StreamFilter::kBoth);
  size_t seen = 0;
  size_t newline = std::string_view::npos;
  for (const auto& piece : pieces) {
    if (size_t at = piece.bytes.rfind('\n'); at != std::string_view::npos) newline = seen + at;
    seen += piece.bytes.size();
  }
  if (newline != std::string_view::npos) return from + newline + 1;
  // The last three bytes, wherever the pieces split them: enough to see a cut character.
  std::string last;
  for (auto it = pieces.rbegin(); it != pieces.rend() && last.size() < 3; ++it) {
    size_t take = std::min(3 - last.size(), it->bytes.size());
    last.insert(0, it->bytes.substr(it->bytes.size() - take));
  }
  return from + seen - base::incomplete_utf8_tail(last);
}

// Where the last lines begin: after the first '\n' within the last `limit` kept bytes before
// `total` (a character boundary if the last line alone is longer), never before `floor`.
uint64_t tail_begin(const jobs::OutputLog& log, uint64_t floor, uint64_t total, uint64_t limit) {
  uint64_t start = total > limit ? std::max(floor, total - limit) : floor;
  if (log.dropped_bytes() > 0 && start < log.tail_start() && start >= log.head_size()) {
    start = log.tail_start();
  }
  if (start == floor) return start;
  size_t seen = 0;
  size_t newline = std::string_view::npos;
  for (const auto& piece : log.pieces(start, total, jobs::StreamFilter::kBoth)) {
    if (newline == std::string_view::npos) {
      if (size_t at = piece.bytes.find('\n'); at != std::string_view::npos) newline = seen + at;
    }
    seen += piece.bytes.size();
  }
  if (newline != std::string_view::npos && newline + 1 < seen) return start + newline + 1;
  return std::min(log.character_start(start, jobs::StreamFilter::kBoth), total);
}

// The kept text of [from, to) as shown, with a line where the dropped middle lies within it.
std::string shown_stretch(const policy::Redactor* redactor, const jobs::OutputLog& log,
                          uint64_t from, uint64_t to) {
  if (log.dropped_bytes() > 0 && from < log.head_size() && to > log.tail_start()) {
    std::string text =
        shown_output(redactor, log, jobs::StreamFilter::kBoth, from, log.head_size());
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
    text += fmt::format(
        "[... {} bytes dropped: the server keeps the first and the last of a "
        "job's output (max_output_size) ...]\n",
        log.dropped_bytes());
    return text + shown_output(redactor, log, jobs::StreamFilter::kBoth, log.tail_start(), to);
  }
  return shown_output(redactor, log, jobs::StreamFilter::kBoth, from, to);
}

// One error line with its context: [from, to) covers them, `match` is the error line's offset.
struct ErrorGroup {
  uint64_t from;
  uint64_t to;
};

// The groups of error lines in [from, to), merged where their context touches (at most `most`),
// and how many error lines there are in all (counted raw: `error_section` shows only those that
// still match once redacted).
std::vector<ErrorGroup> find_error_groups(const jobs::OutputLog& log, Span span, const RE2& errors,
                                          size_t most, uint64_t& error_lines) {
  std::vector<ErrorGroup> groups;
  LinePattern pattern(errors);
  pattern.find(log, span.from, span.to, jobs::StreamFilter::kBoth,
               [&](Line&, uint64_t previous_start, uint64_t next_end) {
                 ++error_lines;
                 if (!groups.empty() && previous_start <= groups.back().to) {
                   groups.back().to = std::max(groups.back().to, next_end);
                 } else if (groups.size() < most) {
                   groups.push_back({previous_start, next_end});
                 }
                 return true;
               });
  return groups;
}

// The error section: each group's lines (cut to kErrorLineBytes), redacted, under a line with its
// offset, as long as they fit in `budget`. Returns the text and sets `shown` to how many error
// lines it holds.
std::string error_section(const policy::Redactor* redactor, const jobs::OutputLog& log,
                          const std::vector<ErrorGroup>& groups, const RE2& errors, uint64_t budget,
                          uint64_t& shown) {
  std::string section;
  for (const auto& group : groups) {
    auto lines = collect_lines(log, group.from, group.to, jobs::StreamFilter::kBoth);
    redact_lines(redactor, log, jobs::StreamFilter::kBoth, lines);
    std::string text = fmt::format("[offset {}]\n", group.from);
    uint64_t matched = 0;
    for (const auto& line : lines) {
      if (RE2::PartialMatch(line.text, errors)) ++matched;
      text += shown_line(line.text, &errors, kErrorLineBytes) + "\n";
    }
    if (matched == 0) continue;  // it matched only what redaction hides
    if (section.size() + text.size() > budget) break;
    section += text;
    shown += matched;
  }
  return section;
}

}  // namespace

const RE2& default_error_pattern() {
  static const RE2 pattern(kDefaultErrorPattern);
  return pattern;
}

const RE2* error_pattern_argument(const nlohmann::json& arguments, std::unique_ptr<RE2>& own,
                                  std::optional<std::string>& problem) {
  auto given = arguments.find("error_pattern");
  if (given == arguments.end()) return &default_error_pattern();
  const auto& text = given->get_ref<const std::string&>();
  if (text.empty()) return nullptr;
  problem = compile_pattern("error_pattern", text, own);
  return problem ? nullptr : own.get();
}

nlohmann::json error_pattern_schema() {
  return {{"type", "string"},
          {"description",
           "RE2 pattern of the lines worth showing from the part of the output left out (default: "
           "errors, failed tests, tracebacks, panics, failed assertions of common tools); \"\" for "
           "none."}};
}

Digest output_digest(const policy::Redactor* redactor, const jobs::OutputLog& log, uint64_t from,
                     uint64_t budget, const RE2* errors) {
  const uint64_t total = log.total_bytes();
  from = std::min(from, total);
  const bool gap = log.dropped_bytes() > 0;
  if (gap && from >= log.head_size() && from < log.tail_start()) from = log.tail_start();
  Digest digest{.offset = from, .next_offset = total};
  if (kept_size(log, from, total) <= budget) {
    digest.text = shown_stretch(redactor, log, from, total);
    digest.truncated = gap && from < log.head_size();
    return digest;
  }
  digest.truncated = true;

  // The first lines; with the dropped middle after them, no further than the head's end.
  const uint64_t first_region_end = gap && from < log.head_size() ? log.head_size() : total;
  const uint64_t head_to = head_end(log, from, first_region_end, budget / kHeadShare);
  const uint64_t tail_limit = budget - budget / kHeadShare - budget / kErrorShare;
  uint64_t tail_from = tail_begin(log, head_to, total, tail_limit);

  std::string errors_text;
  uint64_t error_lines = 0, errors_shown = 0;
  uint64_t scan_from = head_to;
  auto search_errors = [&] {
    if (errors == nullptr || tail_from <= head_to) return;
    // The last kErrorScanBytes of what is left out, from a line's start.
    scan_from = tail_begin(log, head_to, tail_from, kErrorScanBytes);
    // Each group costs at least its offset line and one line: no more than could be shown.
    const uint64_t error_budget = budget / kErrorShare;
    auto groups = find_error_groups(log, {scan_from, tail_from}, *errors,
                                    static_cast<size_t>(error_budget / 32 + 1), error_lines);
    errors_text = error_section(redactor, log, groups, *errors, error_budget, errors_shown);
  };
  search_errors();
  if (errors_shown == 0) {
    // No error lines to show: their share goes to the last lines.
    tail_from = tail_begin(log, head_to, total, tail_limit + budget / kErrorShare);
  }
  // Where the error pattern was not looked for, if anywhere: a client can search it itself.
  std::string unsearched;
  if (errors != nullptr && scan_from > head_to) {
    unsearched = fmt::format(
        " (it was looked for from offset {} on: output with grep searches before)", scan_from);
  }

  std::string text = shown_stretch(redactor, log, from, head_to);
  if (!text.empty() && text.back() != '\n') text.push_back('\n');
  const uint64_t skipped = tail_from - head_to;
  uint64_t newlines = 0;
  for (const auto& piece : log.pieces(head_to, tail_from, jobs::StreamFilter::kBoth)) {
    newlines += count_newlines(piece.bytes);
  }
  uint64_t dropped = 0;
  if (gap) {
    uint64_t a = std::max(head_to, log.head_size()), b = std::min(tail_from, log.tail_start());
    if (b > a) dropped = b - a;
  }
  std::string what = fmt::format("{} lines, {} bytes", newlines, skipped);
  if (dropped > 0) what += fmt::format(" ({} of them dropped by the server)", dropped);
  if (errors_shown > 0) {
    text += fmt::format(
        "[... {} not shown (offsets {} to {}): output {{\"offset\": {}}} reads them. {} of them "
        "match the error pattern{}{}; each with a line of context:]\n",
        what, head_to, tail_from, head_to, error_lines,
        errors_shown < error_lines ? fmt::format(" ({} shown)", errors_shown) : std::string(),
        unsearched);
    text += errors_text;
    text += "[... end of the lines not shown ...]\n";
  } else {
    std::string about_errors;
    if (error_lines > 0) {
      about_errors = fmt::format("; {} of them match the error pattern (tail with grep shows them)",
                                 error_lines);
    } else if (errors != nullptr) {
      about_errors = "; none matches the error pattern" + unsearched;
    }
    text += fmt::format(
        "[... {} not shown (offsets {} to {}): output {{\"offset\": {}}} reads "
        "them{} ...]\n",
        what, head_to, tail_from, head_to, about_errors);
  }
  text += shown_stretch(redactor, log, tail_from, total);
  digest.text = std::move(text);  // every part is already valid UTF-8
  return digest;
}

Digest DigestCache::digest(std::string_view job_id, const policy::Redactor* redactor,
                           const jobs::OutputLog& log, uint64_t from, uint64_t budget,
                           const RE2* errors) {
  // Every pattern is compiled with the same options: its text says what it matches.
  const std::string pattern = errors != nullptr ? errors->pattern() : std::string();
  const uint64_t total = log.total_bytes();
  for (const Entry& entry : entries_) {
    if (entry.job_id == job_id && entry.total == total && entry.from == from &&
        entry.budget == budget && entry.errors == pattern) {
      return entry.digest;
    }
  }
  Digest made = output_digest(redactor, log, from, budget, errors);
  if (entries_.size() == kEntries) entries_.erase(entries_.begin());
  entries_.push_back(Entry{std::string(job_id), total, from, budget, pattern, made});
  return made;
}

}  // namespace mcp::tools

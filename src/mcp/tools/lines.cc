#include "mcp/tools/lines.h"

#include <utility>

#include <fmt/format.h>

#include "mcp/tools/redaction.h"

namespace mcp::tools {

std::vector<Line> collect_lines(const jobs::OutputLog& log, uint64_t from, uint64_t to,
                                jobs::StreamFilter filter) {
  std::vector<Line> lines;
  Line current{from, "", false};
  bool open = false;        // `current` has started
  uint64_t expected = from;  // where the next byte continues `current`
  for (const auto& piece : log.pieces(from, to, filter)) {
    if (open && piece.offset != expected) {
      // A gap: the dropped middle, or bytes of the other stream. The dropped middle splits a
      // line; the other stream does not (a filtered line continues across it).
      if (piece.offset >= log.tail_start() && expected <= log.head_size()) {
        lines.push_back(std::exchange(current, Line{piece.offset, "", false}));
      }
    }
    std::string_view bytes = piece.bytes;
    uint64_t position = piece.offset;
    while (!bytes.empty()) {
      if (!open) {
        current = Line{position, "", false};
        open = true;
      }
      size_t newline = bytes.find('\n');
      if (newline == std::string_view::npos) {
        current.text.append(bytes);
        position += bytes.size();
        break;
      }
      current.text.append(bytes.substr(0, newline));
      current.complete = true;
      lines.push_back(std::exchange(current, Line{}));
      open = false;
      bytes.remove_prefix(newline + 1);
      position += newline + 1;
    }
    expected = piece.offset + piece.bytes.size();
  }
  if (open) lines.push_back(std::move(current));
  for (auto& line : lines) line.raw_size = line.text.size();
  return lines;
}

std::optional<Line> LineMatcher::scan(const jobs::OutputLog& log) {
  uint64_t start = scanned_;
  if (start >= log.head_size() && start < log.tail_start()) start = log.tail_start();  // dropped
  auto lines = collect_lines(log, start, log.total_bytes(), filter_);
  redact_lines(redactor_, log, filter_, lines);
  for (auto& line : lines) {
    if (RE2::PartialMatch(line.text, pattern_)) return std::move(line);
    // A complete line never needs scanning again; an incomplete one is rescanned when it grows.
    if (line.complete) scanned_ = line.offset + line.raw_size + 1;
  }
  return std::nullopt;
}

namespace {

uint64_t end_of(const Line& line) { return line.offset + line.raw_size + (line.complete ? 1 : 0); }

// Appends lines[first..last] to `result.text`, with "--" (when context was asked for, as grep
// does) if it does not continue the lines already there. Returns false, adding nothing, if that
// would exceed max_bytes.
bool append_group(const std::vector<Line>& lines, size_t first, size_t last, size_t context,
                  std::optional<size_t>& last_emitted, uint64_t max_bytes, GrepResult& result) {
  if (last_emitted && first <= *last_emitted) first = *last_emitted + 1;
  if (first > last) return true;
  std::string group;
  if (context > 0 && last_emitted && first > *last_emitted + 1) group += "--\n";
  for (size_t i = first; i <= last; ++i) group += lines[i].text + "\n";
  if (result.text.size() + group.size() > max_bytes) return false;
  result.text += group;
  last_emitted = last;
  return true;
}

}  // namespace

GrepResult grep_forward(const std::vector<Line>& lines, const RE2& pattern, size_t context,
                        uint64_t max_bytes) {
  GrepResult result;
  result.scanned_to = lines.empty() ? 0 : end_of(lines.back());
  std::optional<size_t> last_emitted;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!RE2::PartialMatch(lines[i].text, pattern)) continue;
    size_t first = i >= context ? i - context : 0;
    size_t last = std::min(lines.size() - 1, i + context);
    if (!append_group(lines, first, last, context, last_emitted, max_bytes, result)) {
      result.truncated = true;
      result.scanned_to = lines[first].offset;  // the next read starts with this group
      break;
    }
    result.matches.push_back(lines[i]);
  }
  return result;
}

GrepResult grep_last(const std::vector<Line>& lines, const RE2& pattern, size_t context,
                     size_t count, uint64_t max_bytes) {
  GrepResult result;
  result.scanned_to = lines.empty() ? 0 : end_of(lines.back());
  std::vector<size_t> hits;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (RE2::PartialMatch(lines[i].text, pattern)) hits.push_back(i);
  }
  size_t skip = hits.size() > count ? hits.size() - count : 0;
  result.truncated = skip > 0;
  // Keep the most recent groups that fit, then emit them oldest first.
  std::vector<size_t> kept;
  uint64_t budget = 0;
  for (size_t k = hits.size(); k-- > skip;) {
    size_t i = hits[k];
    uint64_t size = 0;
    for (size_t j = i >= context ? i - context : 0; j <= std::min(lines.size() - 1, i + context); ++j) {
      size += lines[j].text.size() + 1;
    }
    if (budget + size > max_bytes) {
      result.truncated = true;
      break;
    }
    budget += size;
    kept.insert(kept.begin(), i);
  }
  std::optional<size_t> last_emitted;
  for (size_t i : kept) {
    size_t first = i >= context ? i - context : 0;
    size_t last = std::min(lines.size() - 1, i + context);
    append_group(lines, first, last, context, last_emitted, ~0ull, result);
    result.matches.push_back(lines[i]);
  }
  return result;
}

std::optional<std::string> compile_pattern(const std::string& argument, const std::string& text,
                                           std::unique_ptr<RE2>& out) {
  RE2::Options options;
  options.set_log_errors(false);
  out = std::make_unique<RE2>(text, options);
  if (!out->ok()) {
    return fmt::format("argument '{}' is not a valid RE2 regular expression: {}", argument,
                       out->error());
  }
  return std::nullopt;
}

}  // namespace mcp::tools

#include "mcp/tools/lines.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

#include "base/utf8.h"
#include "mcp/tools/redaction.h"

namespace mcp::tools {

std::vector<Line> collect_lines(const jobs::OutputLog& log, uint64_t from, uint64_t to,
                                jobs::StreamFilter filter) {
  std::vector<Line> lines;
  Line current{from, "", false};
  bool open = false;         // `current` has started
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

namespace {

bool continuation_byte(char c) { return (static_cast<uint8_t>(c) & 0xC0) == 0x80; }

std::string not_shown(size_t bytes) { return fmt::format("[... {} bytes not shown ...]", bytes); }

}  // namespace

std::string shown_line(std::string_view text, const RE2* pattern, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  // Room for the text itself once the markers are paid for (each at most ~40 bytes).
  constexpr size_t kMarkerRoom = 80;
  size_t room = limit > kMarkerRoom ? limit - kMarkerRoom : 1;
  size_t begin = 0;
  re2::StringPiece found;
  // Match (not PartialMatch, which fills capture groups and fails on a pattern without one).
  if (pattern != nullptr &&
      pattern->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED,
                     &found, 1) &&
      found.data() != nullptr) {
    size_t match_begin = static_cast<size_t>(found.data() - text.data());
    size_t match_size = static_cast<size_t>(found.size());
    // The match in the middle of what is shown, with as much on either side as fits.
    size_t before = match_size < room ? (room - match_size) / 2 : 0;
    begin = match_begin > before ? match_begin - before : 0;
    begin = std::min(begin, text.size() - room);
  }
  size_t end = std::min(text.size(), begin + room);
  while (begin > 0 && begin < end && continuation_byte(text[begin])) ++begin;
  end -= base::incomplete_utf8_tail(text.substr(begin, end - begin));
  if (end <= begin) {  // A limit smaller than one character: show that one character.
    end = begin + 1;
    while (end < text.size() && continuation_byte(text[end])) ++end;
  }
  std::string out;
  if (begin > 0) out += not_shown(begin);
  out.append(text.substr(begin, end - begin));
  if (end < text.size()) out += not_shown(text.size() - end);
  return out;
}

LinePattern::LinePattern(const RE2& line) : line_(line) {
  const std::string& source = line.pattern();
  bool changes_meaning = source.find("\\A") != std::string::npos ||
                         source.find("\\z") != std::string::npos ||
                         source.find("(?-") != std::string::npos;
  if (changes_meaning || !line.ok()) return;
  // In multi-line mode ^ and $ match at each line's ends, as they do on a line alone.
  auto block = std::make_unique<RE2>("(?m)(?:" + source + ")", line.options());
  if (block->ok()) block_ = std::move(block);
}

namespace {

// The kept bytes of `filter` in [from, to) as one text, and where each piece of it came from.
// The dropped middle becomes a '\n' the job never printed: it ends a line, as collect_lines does.
struct JoinedOutput {
  struct Part {
    size_t position;  // In `text`.
    uint64_t offset;  // In the job's output.
  };
  std::string text;
  std::vector<Part> parts;

  JoinedOutput(const jobs::OutputLog& log, uint64_t from, uint64_t to, jobs::StreamFilter filter) {
    uint64_t expected = from;
    for (const auto& piece : log.pieces(from, to, filter)) {
      if (!text.empty() && piece.offset != expected && piece.offset >= log.tail_start() &&
          expected <= log.head_size()) {
        parts.push_back({text.size(), expected});
        text.push_back('\n');
      }
      parts.push_back({text.size(), piece.offset});
      text.append(piece.bytes);
      expected = piece.offset + piece.bytes.size();
    }
    end_ = expected;
  }
  // The output offset of text[position]; the end of the stretch for text.size().
  uint64_t offset_of(size_t position) const {
    if (position >= text.size()) return end_;
    auto part = std::upper_bound(parts.begin(), parts.end(), position,
                                 [](size_t value, const Part& p) { return value < p.position; });
    --part;
    return part->offset + (position - part->position);
  }
  // Where the line containing `position` ends in the output: after its '\n', or the stretch's end.
  uint64_t line_end_offset(size_t line_end) const {
    return line_end < text.size() ? offset_of(line_end) + 1 : end_;
  }

 private:
  uint64_t end_ = 0;
};

}  // namespace

void LinePattern::find(const jobs::OutputLog& log, uint64_t from, uint64_t to,
                       jobs::StreamFilter filter,
                       const std::function<bool(Line&, uint64_t, uint64_t)>& found) const {
  JoinedOutput joined(log, from, to, filter);
  const std::string& text = joined.text;
  size_t position = 0;
  while (position < text.size()) {
    size_t candidate = position;
    if (block_) {
      re2::StringPiece hit;
      if (!block_->Match(text, position, text.size(), RE2::UNANCHORED, &hit, 1)) return;
      candidate = static_cast<size_t>(hit.data() - text.data());
    }
    size_t begin = candidate == 0 ? 0 : text.rfind('\n', candidate - 1);
    begin = (begin == std::string::npos || candidate == 0) ? 0 : begin + 1;
    if (begin < position) begin = position;  // a match begun on the lines already passed
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    // The line before: it ends with the '\n' at begin - 1.
    size_t before = begin >= 2 ? text.rfind('\n', begin - 2) : std::string::npos;
    size_t previous_begin = begin == 0 ? 0 : (before == std::string::npos ? 0 : before + 1);
    std::string_view line(text.data() + begin, end - begin);
    if (RE2::PartialMatch(line, line_)) {
      size_t next_end = end < text.size() ? text.find('\n', end + 1) : end;
      if (next_end == std::string::npos) next_end = text.size();
      auto lines = collect_lines(log, joined.offset_of(begin), joined.line_end_offset(end), filter);
      if (!lines.empty()) {
        Line& whole = lines.front();
        if (!found(whole, joined.offset_of(previous_begin), joined.line_end_offset(next_end)))
          return;
      }
    }
    position = end + 1;
  }
}

std::optional<Line> LineMatcher::match(const jobs::OutputLog& log, uint64_t from, uint64_t to) {
  std::optional<Line> matched;
  lines_.find(log, from, to, filter_, [&](Line& line, uint64_t, uint64_t) {
    if (redactor_ != nullptr) {
      // What the client would see must match too: a pattern cannot probe a secret.
      std::vector<Line> shown{line};
      redact_lines(redactor_, log, filter_, shown);
      if (!RE2::PartialMatch(shown.front().text, pattern_)) return true;
      line = std::move(shown.front());
    }
    matched = std::move(line);
    return false;
  });
  return matched;
}

std::optional<Line> LineMatcher::scan(const jobs::OutputLog& log) {
  const uint64_t total = log.total_bytes();
  // What fell into the dropped middle can no longer be scanned: go on where the kept tail begins.
  if (scanned_ >= log.head_size() && scanned_ < log.tail_start()) scanned_ = log.tail_start();
  searched_to_ = std::max(searched_to_, scanned_);
  if (searched_to_ >= log.head_size() && searched_to_ < log.tail_start()) {
    searched_to_ = log.tail_start();
  }

  // The end of the last complete line: only bytes not searched before are looked at.
  uint64_t complete_end = scanned_;
  auto fresh = log.pieces(searched_to_, total, filter_);
  for (auto piece = fresh.rbegin(); piece != fresh.rend(); ++piece) {
    size_t newline = piece->bytes.rfind('\n');
    if (newline != std::string_view::npos) {
      complete_end = piece->offset + newline + 1;
      break;
    }
  }
  // The head ends for good once bytes were dropped after it: a line it cuts is complete too.
  if (log.dropped_bytes() > 0 && scanned_ < log.head_size()) {
    complete_end = std::max<uint64_t>(complete_end, log.head_size());
  }
  if (complete_end > scanned_) {
    auto found = match(log, scanned_, complete_end);
    scanned_ = complete_end;
    if (found) return found;
  }
  searched_to_ = total;

  // A last line still being written (a prompt waiting for input) is matched while it is short;
  // it is looked at again when it grows, and whole once it is complete.
  if (total > scanned_ && total - scanned_ <= kLongestPartialLine) {
    return match(log, scanned_, total);
  }
  return std::nullopt;
}

namespace {

uint64_t end_of(const Line& line) { return line.offset + line.raw_size + (line.complete ? 1 : 0); }

// Lines as grep shows them: each cut by shown_line to `limit` (kShownLineBytes, at most
// max_bytes), the cut made once per line and only for the lines that are shown.
class ShownLines {
 public:
  ShownLines(const std::vector<Line>& lines, const RE2& pattern, uint64_t max_bytes)
      : lines_(lines),
        pattern_(pattern),
        limit_(static_cast<size_t>(std::min<uint64_t>(kShownLineBytes, max_bytes))) {}

  size_t size() const { return lines_.size(); }
  const std::string& text(size_t i) {
    const std::string& whole = lines_[i].text;
    if (whole.size() <= limit_) return whole;
    auto [it, inserted] = cut_.try_emplace(i);
    if (inserted) it->second = shown_line(whole, &pattern_, limit_);
    return it->second;
  }
  Line line(size_t i) {
    Line shown = lines_[i];
    shown.text = text(i);
    return shown;
  }

 private:
  const std::vector<Line>& lines_;
  const RE2& pattern_;
  size_t limit_;
  std::map<size_t, std::string> cut_;
};

// Appends lines[first..last] to `result.text`, with "--" (when context was asked for, as grep
// does) if it does not continue the lines already there. Returns false, adding nothing, if that
// would exceed max_bytes.
bool append_group(ShownLines& lines, size_t first, size_t last, size_t context,
                  std::optional<size_t>& last_emitted, uint64_t max_bytes, GrepResult& result) {
  if (last_emitted && first <= *last_emitted) first = *last_emitted + 1;
  if (first > last) return true;
  std::string group;
  if (context > 0 && last_emitted && first > *last_emitted + 1) group += "--\n";
  for (size_t i = first; i <= last; ++i) group += lines.text(i) + "\n";
  if (result.text.size() + group.size() > max_bytes) return false;
  result.text += group;
  last_emitted = last;
  return true;
}

// When not even one group fits in max_bytes: the matching line alone, cut to fit, so that a
// match is never hidden by its size and paging from next_offset moves on.
void append_alone(const Line& line, const RE2& pattern, uint64_t max_bytes, GrepResult& result) {
  size_t room = max_bytes > 1 ? static_cast<size_t>(max_bytes - 1) : 1;
  Line shown = line;
  shown.text = shown_line(line.text, &pattern, room);
  result.text += shown.text + "\n";
  result.matches.push_back(std::move(shown));
}

}  // namespace

GrepResult grep_forward(const std::vector<Line>& lines, const RE2& pattern, size_t context,
                        uint64_t max_bytes) {
  GrepResult result;
  result.scanned_to = lines.empty() ? 0 : end_of(lines.back());
  ShownLines shown(lines, pattern, max_bytes);
  std::optional<size_t> last_emitted;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!RE2::PartialMatch(lines[i].text, pattern)) continue;
    size_t first = i >= context ? i - context : 0;
    size_t last = std::min(lines.size() - 1, i + context);
    if (append_group(shown, first, last, context, last_emitted, max_bytes, result)) {
      result.matches.push_back(shown.line(i));
      continue;
    }
    result.truncated = true;
    if (result.matches.empty()) {
      append_alone(lines[i], pattern, max_bytes, result);
      result.scanned_to = end_of(lines[i]);
      result.truncated = i + 1 < lines.size();
    } else {
      result.scanned_to = lines[first].offset;  // the next read starts with this group
    }
    break;
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
  if (hits.empty()) return result;
  ShownLines shown(lines, pattern, max_bytes);
  size_t skip = hits.size() > count ? hits.size() - count : 0;
  result.truncated = skip > 0;
  // Keep the most recent groups that fit, then emit them oldest first.
  std::vector<size_t> kept;
  uint64_t budget = 0;
  for (size_t k = hits.size(); k-- > skip;) {
    size_t i = hits[k];
    uint64_t size = 0;
    for (size_t j = i >= context ? i - context : 0; j <= std::min(lines.size() - 1, i + context);
         ++j) {
      size += shown.text(j).size() + 1;
    }
    if (budget + size > max_bytes) {
      result.truncated = true;
      break;
    }
    budget += size;
    kept.insert(kept.begin(), i);
  }
  if (kept.empty()) {
    append_alone(lines[hits.back()], pattern, max_bytes, result);
    return result;
  }
  std::optional<size_t> last_emitted;
  for (size_t i : kept) {
    size_t first = i >= context ? i - context : 0;
    size_t last = std::min(lines.size() - 1, i + context);
    append_group(shown, first, last, context, last_emitted, ~0ull, result);
    result.matches.push_back(shown.line(i));
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

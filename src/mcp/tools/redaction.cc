#include "mcp/tools/redaction.h"

#include <algorithm>

#include "base/utf8.h"

namespace mcp::tools {
namespace {

struct Extent {
  uint64_t from;
  uint64_t to;
};

// [from, to) widened by kRedactionContext on each side, within the part of the kept output it
// lies in (the head, or the tail after the dropped middle): bytes on either side of the gap
// were never next to each other.
Extent with_context(const jobs::OutputLog& log, uint64_t from, uint64_t to) {
  bool gap = log.dropped_bytes() > 0;
  uint64_t floor = gap && from >= log.tail_start() ? log.tail_start() : 0;
  uint64_t ceiling = gap && to <= log.head_size() ? log.head_size() : log.total_bytes();
  uint64_t lo = from > floor + kRedactionContext ? from - kRedactionContext : std::min(floor, from);
  uint64_t hi = std::max(to, std::min(ceiling, to + kRedactionContext));
  return {lo, hi};
}

}  // namespace

void append_shown_output(std::string& out, const policy::Redactor* redactor,
                         const jobs::OutputLog& log, jobs::StreamFilter filter, uint64_t from,
                         uint64_t to) {
  if (from >= to) return;
  if (redactor == nullptr) {
    // Encoded from the log's memory, piece by piece (a character split between two pieces
    // comes out whole).
    std::vector<std::string_view> parts;
    for (const auto& piece : log.pieces(from, to, filter)) parts.push_back(piece.bytes);
    base::append_sanitized_utf8(out, parts);
    return;
  }
  auto extent = with_context(log, from, to);
  auto pieces = log.pieces(extent.from, extent.to, filter);
  // The secrets are looked for in one text: the log's own memory when the extent lies in one
  // piece of it, else the pieces joined.
  std::string joined;
  size_t size = 0;
  size_t begin = std::string::npos;
  size_t end = 0;
  for (const auto& piece : pieces) {
    uint64_t piece_end = piece.offset + piece.bytes.size();
    uint64_t a = std::clamp(from, piece.offset, piece_end);
    uint64_t b = std::clamp(to, piece.offset, piece_end);
    if (a < b) {
      if (begin == std::string::npos) begin = size + (a - piece.offset);
      end = size + (b - piece.offset);
    }
    if (pieces.size() > 1) joined.append(piece.bytes);
    size += piece.bytes.size();
  }
  if (begin == std::string::npos) return;
  std::string_view text = pieces.size() == 1 ? pieces.front().bytes : std::string_view(joined);
  base::append_sanitized_utf8(out,
                              policy::Redactor::apply(text, begin, end, redactor->find(text, end)));
}

std::string shown_output(const policy::Redactor* redactor, const jobs::OutputLog& log,
                         jobs::StreamFilter filter, uint64_t from, uint64_t to) {
  std::string out;
  append_shown_output(out, redactor, log, filter, from, to);
  return out;
}

std::string shown_output(const policy::Redactor* redactor, const jobs::OutputLog& log,
                         jobs::StreamFilter filter, const jobs::OutputLog::Window& window) {
  return shown_output(redactor, log, filter, window.from, window.to);
}

void redact_lines(const policy::Redactor* redactor, const jobs::OutputLog& log,
                  jobs::StreamFilter filter, std::vector<Line>& lines) {
  if (redactor == nullptr || lines.empty()) return;
  const Line& last = lines.back();
  uint64_t from = lines.front().offset;
  uint64_t to = last.offset + last.raw_size + (last.complete ? 1 : 0);
  auto extent = with_context(log, from, to);
  std::string text;
  for (const auto& piece : log.pieces(extent.from, from, filter)) text.append(piece.bytes);
  std::vector<size_t> starts;
  starts.reserve(lines.size());
  for (const auto& line : lines) {
    starts.push_back(text.size());
    text += line.text;
    if (line.complete) text.push_back('\n');
  }
  size_t limit = text.size();
  for (const auto& piece : log.pieces(to, extent.to, filter)) text.append(piece.bytes);
  auto secrets = redactor->find(text, limit);
  if (secrets.empty()) return;
  for (size_t i = 0; i < lines.size(); ++i) {
    size_t size = lines[i].text.size();
    lines[i].text = policy::Redactor::apply(text, starts[i], starts[i] + size, secrets);
  }
}

std::string shown_command(const policy::Redactor* redactor, std::string_view command) {
  return redactor == nullptr ? std::string(command) : redactor->redact(command);
}

}  // namespace mcp::tools

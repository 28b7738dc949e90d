#include "mcp/tools/lines.h"

#include <fmt/format.h>

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
        lines.push_back(std::move(current));
        current = Line{piece.offset, "", false};
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
      lines.push_back(std::move(current));
      open = false;
      bytes.remove_prefix(newline + 1);
      position += newline + 1;
    }
    expected = piece.offset + piece.bytes.size();
  }
  if (open) lines.push_back(std::move(current));
  return lines;
}

std::optional<Line> LineMatcher::scan(const jobs::OutputLog& log) {
  uint64_t start = scanned_;
  if (start >= log.head_size() && start < log.tail_start()) start = log.tail_start();  // dropped
  for (auto& line : collect_lines(log, start, log.total_bytes(), filter_)) {
    if (RE2::PartialMatch(line.text, pattern_)) return std::move(line);
    // A complete line never needs scanning again; an incomplete one is rescanned when it grows.
    if (line.complete) scanned_ = line.offset + line.text.size() + 1;
  }
  return std::nullopt;
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

#include "jobs/output_log.h"

#include <algorithm>

#include "base/utf8.h"

namespace jobs {
namespace {

bool passes(Stream stream, StreamFilter filter) {
  return filter == StreamFilter::kBoth ||
         (filter == StreamFilter::kStdout && stream == Stream::kStdout) ||
         (filter == StreamFilter::kStderr && stream == Stream::kStderr);
}

// Cuts one span of contiguous bytes at run boundaries and keeps the pieces that pass the filter.
template <class Runs>
void split_by_runs(const Runs& runs, uint64_t offset, std::string_view bytes, StreamFilter filter,
                   std::vector<OutputLog::Piece>& out) {
  if (filter == StreamFilter::kBoth) {
    out.push_back({offset, bytes});
    return;
  }
  // The run containing `offset` is the last one starting at or before it.
  auto it = std::upper_bound(runs.begin(), runs.end(), offset,
                             [](uint64_t value, const auto& run) { return value < run.start; });
  if (it != runs.begin()) --it;
  uint64_t end = offset + bytes.size();
  uint64_t position = offset;
  while (position < end && it != runs.end()) {
    auto next = std::next(it);
    uint64_t run_end = next == runs.end() ? end : std::min(end, next->start);
    if (run_end > position && passes(it->stream, filter)) {
      out.push_back({position, bytes.substr(position - offset, run_end - position)});
    }
    position = std::max(position, run_end);
    it = next;
  }
}

}  // namespace

OutputLog::OutputLog(uint64_t max_bytes)
    : head_capacity_(max_bytes / 4),
      tail_capacity_(max_bytes - max_bytes / 4),
      block_size_(std::clamp<uint64_t>(tail_capacity_ / 8, 4096, uint64_t{64} * 1024)) {}

OutputLog OutputLog::restored(std::string_view head, uint64_t tail_offset, std::string_view tail) {
  OutputLog log(0);
  log.head_capacity_ = head.size();
  log.tail_capacity_ = tail.size();
  log.block_size_ = std::clamp<uint64_t>(tail.size() / 8, 4096, uint64_t{64} * 1024);
  if (!head.empty()) log.append_to_head(Stream::kStdout, head);
  log.total_ = std::max<uint64_t>(tail_offset, head.size());
  log.tail_start_ = log.total_;
  if (!tail.empty()) log.append_to_tail(Stream::kStdout, tail);
  return log;
}

void OutputLog::append(Stream stream, std::string_view bytes) {
  if (head_.size() < head_capacity_) {
    size_t n = std::min<uint64_t>(head_capacity_ - head_.size(), bytes.size());
    append_to_head(stream, bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  if (!bytes.empty()) append_to_tail(stream, bytes);
}

void OutputLog::skip_to(uint64_t offset) {
  if (offset <= total_) return;
  head_capacity_ = head_.size();
  // What the tail holds is older than the skipped bytes: it goes, as it would have in the
  // original log.
  drop_tail_front(tail_size_);
  total_ = offset;
  tail_start_ = offset;
  tail_runs_.clear();
}

void OutputLog::append_to_head(Stream stream, std::string_view bytes) {
  if (head_runs_.empty() || head_runs_.back().stream != stream)
    head_runs_.push_back({total_, stream});
  head_.append(bytes);
  total_ += bytes.size();
  tail_start_ = total_;  // The tail is empty until the head is full.
}

void OutputLog::append_to_tail(Stream stream, std::string_view bytes) {
  if (tail_runs_.empty() || tail_runs_.back().stream != stream)
    tail_runs_.push_back({total_, stream});
  total_ += bytes.size();
  tail_size_ += bytes.size();
  while (!bytes.empty()) {
    if (tail_blocks_.empty() || tail_blocks_.back().size() == block_size_)
      tail_blocks_.emplace_back();
    std::string& block = tail_blocks_.back();
    size_t n = std::min<uint64_t>(block_size_ - block.size(), bytes.size());
    block.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  if (tail_size_ > tail_capacity_) drop_tail_front(tail_size_ - tail_capacity_);
}

void OutputLog::drop_tail_front(uint64_t count) {
  tail_start_ += count;
  tail_size_ -= count;
  tail_front_skip_ += count;
  while (!tail_blocks_.empty() && tail_front_skip_ >= tail_blocks_.front().size()) {
    tail_front_skip_ -= tail_blocks_.front().size();
    tail_blocks_.pop_front();
  }
  while (tail_runs_.size() >= 2 && tail_runs_[1].start <= tail_start_) tail_runs_.pop_front();
  if (!tail_runs_.empty())
    tail_runs_.front().start = std::max(tail_runs_.front().start, tail_start_);
}

void OutputLog::for_each_span(uint64_t from, uint64_t to,
                              const std::function<void(uint64_t, std::string_view)>& fn) const {
  to = std::min(to, total_);
  if (from >= to) return;
  if (from < head_.size()) {
    uint64_t end = std::min<uint64_t>(to, head_.size());
    fn(from, std::string_view(head_).substr(from, end - from));
  }
  uint64_t position = tail_start_;
  bool first = true;
  for (const std::string& block : tail_blocks_) {
    std::string_view data(block);
    if (first) data.remove_prefix(tail_front_skip_);
    first = false;
    uint64_t begin = position, end = position + data.size();
    position = end;
    if (end <= from) continue;
    if (begin >= to) break;
    uint64_t a = std::max(begin, from), b = std::min(end, to);
    fn(a, data.substr(a - begin, b - a));
  }
}

std::vector<OutputLog::Piece> OutputLog::pieces(uint64_t from, uint64_t to,
                                                StreamFilter filter) const {
  std::vector<Piece> out;
  for_each_span(from, to, [&](uint64_t offset, std::string_view bytes) {
    if (offset < head_.size()) {
      split_by_runs(head_runs_, offset, bytes, filter, out);
    } else {
      split_by_runs(tail_runs_, offset, bytes, filter, out);
    }
  });
  return out;
}

OutputLog::Window OutputLog::read_window(uint64_t offset, uint64_t max_bytes,
                                         StreamFilter filter) const {
  Window window;
  uint64_t start = std::min(offset, total_);
  bool gap = dropped_bytes() > 0;
  if (gap && start >= head_.size() && start < tail_start_) start = tail_start_;
  uint64_t region_end = (gap && start < head_.size()) ? head_.size() : total_;
  window.from = start;
  window.to = region_end;

  // Only the count and the last few bytes taken matter for where the window ends: a character
  // split by the cut shows in its last 3 bytes.
  uint64_t taken = 0;
  std::string last;  // The last (up to 3) bytes taken.
  auto keep_last = [&last](std::string_view bytes) {
    if (bytes.size() >= 3) {
      last.assign(bytes.substr(bytes.size() - 3));
    } else {
      last.append(bytes);
      if (last.size() > 3) last.erase(0, last.size() - 3);
    }
  };
  uint64_t last_piece_offset = start;
  bool cut = false;
  for (const Piece& piece : pieces(start, region_end, filter)) {
    uint64_t room = max_bytes - taken;
    if (room == 0) {
      window.to = piece.offset;
      cut = true;
      break;
    }
    last_piece_offset = piece.offset;
    if (piece.bytes.size() > room) {
      keep_last(piece.bytes.substr(0, room));
      taken += room;
      window.to = piece.offset + room;
      cut = true;
      break;
    }
    keep_last(piece.bytes);
    taken += piece.bytes.size();
    window.to = piece.offset + piece.bytes.size();
  }
  if (!cut) window.to = region_end;
  if (cut) {
    // Leave a character split by the cut for the next read, when it lies within the last piece.
    size_t partial = base::incomplete_utf8_tail(last);
    if (partial > 0 && partial < taken && window.to - partial >= last_piece_offset) {
      window.to -= partial;
    } else if (partial > 0 && partial == taken) {
      // max_bytes smaller than the one character there is: return that character whole (a few
      // bytes over), never a part of it, and never nothing, which would never move on.
      for (const Piece& piece : pieces(window.to, window.to + 3, filter)) {
        if (piece.offset != window.to) break;
        for (char c : piece.bytes) {
          if ((static_cast<uint8_t>(c) & 0xC0) != 0x80 || base::incomplete_utf8_tail(last) == 0) {
            break;
          }
          last.push_back(c);
          ++window.to;
        }
        if (base::incomplete_utf8_tail(last) == 0) break;
      }
    }
  }
  window.truncated = !pieces(window.to, total_, filter).empty();
  return window;
}

OutputLog::Window OutputLog::tail_window(uint64_t lines, uint64_t max_bytes,
                                         StreamFilter filter) const {
  Window window;
  uint64_t region_start = dropped_bytes() > 0 ? tail_start_ : 0;
  auto found = pieces(region_start, total_, filter);
  uint64_t start = found.empty() ? total_ : found.front().offset;
  bool complete = false;  // Found the start of the oldest wanted line (or all the output).
  bool last_byte = true;
  uint64_t newlines = 0, examined = 0;
  for (auto piece = found.rbegin(); piece != found.rend() && !complete; ++piece) {
    for (size_t i = piece->bytes.size(); i-- > 0;) {
      uint64_t position = piece->offset + i;
      if (examined == max_bytes) {  // The byte after this one is the oldest that fits.
        start = position + 1;
        window.truncated = true;
        complete = true;
        break;
      }
      ++examined;
      bool newline = piece->bytes[i] == '\n';
      // The final '\n' ends the last line rather than separating two lines.
      if (newline && !last_byte && ++newlines == lines) {
        start = position + 1;
        complete = true;
        break;
      }
      last_byte = false;
    }
  }
  // Ran out of kept bytes before finding enough lines: older lines were dropped, if any were.
  if (!complete && dropped_bytes() > 0) window.truncated = true;
  // A cut by max_bytes can land inside a character: start at the next whole one.
  window.from = window.truncated ? character_start(start, filter) : start;
  window.to = total_;

  char last = '\n';
  for (const Piece& piece : pieces(window.from, total_, filter)) {
    window.lines += static_cast<uint64_t>(std::count(piece.bytes.begin(), piece.bytes.end(), '\n'));
    if (!piece.bytes.empty()) last = piece.bytes.back();
  }
  if (last != '\n') ++window.lines;
  return window;
}

uint64_t OutputLog::character_start(uint64_t position, StreamFilter filter) const {
  // Offsets in the dropped middle (the end of the head included) stand for tail_start().
  auto kept = [this](uint64_t offset) {
    return dropped_bytes() > 0 && offset >= head_.size() && offset < tail_start_ ? tail_start_
                                                                                 : offset;
  };
  position = kept(position);
  // Past at most 3 continuation bytes of the filter: the rest of a character begun before.
  uint64_t start = position;
  int skipped = 0;
  for (const Piece& piece : pieces(position, total_, filter)) {
    for (size_t i = 0; i < piece.bytes.size(); ++i) {
      if (skipped == 3 || (static_cast<uint8_t>(piece.bytes[i]) & 0xC0) != 0x80) return start;
      ++skipped;
      start = kept(piece.offset + i + 1);
    }
  }
  return start;
}

std::string OutputLog::bytes(uint64_t from, uint64_t to, StreamFilter filter) const {
  std::string out;
  for (const Piece& piece : pieces(from, to, filter)) out.append(piece.bytes);
  return out;
}

OutputLog::Slice OutputLog::read(uint64_t offset, uint64_t max_bytes, StreamFilter filter) const {
  Window window = read_window(offset, max_bytes, filter);
  return Slice{bytes(window.from, window.to, filter), window.from, window.to, window.truncated, 0};
}

OutputLog::Slice OutputLog::tail(uint64_t lines, uint64_t max_bytes, StreamFilter filter) const {
  Window window = tail_window(lines, max_bytes, filter);
  return Slice{bytes(window.from, window.to, filter), window.from, window.to, window.truncated,
               window.lines};
}

}  // namespace jobs

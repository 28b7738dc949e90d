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

void OutputLog::append_to_head(Stream stream, std::string_view bytes) {
  if (head_runs_.empty() || head_runs_.back().stream != stream) head_runs_.push_back({total_, stream});
  head_.append(bytes);
  total_ += bytes.size();
  tail_start_ = total_;  // The tail is empty until the head is full.
}

void OutputLog::append_to_tail(Stream stream, std::string_view bytes) {
  if (tail_runs_.empty() || tail_runs_.back().stream != stream) tail_runs_.push_back({total_, stream});
  total_ += bytes.size();
  tail_size_ += bytes.size();
  while (!bytes.empty()) {
    if (tail_blocks_.empty() || tail_blocks_.back().size() == block_size_) tail_blocks_.emplace_back();
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
  if (!tail_runs_.empty()) tail_runs_.front().start = std::max(tail_runs_.front().start, tail_start_);
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

OutputLog::Slice OutputLog::read(uint64_t offset, uint64_t max_bytes, StreamFilter filter) const {
  Slice slice;
  uint64_t start = std::min(offset, total_);
  bool gap = dropped_bytes() > 0;
  if (gap && start >= head_.size() && start < tail_start_) start = tail_start_;
  uint64_t region_end = (gap && start < head_.size()) ? head_.size() : total_;
  slice.offset = start;
  slice.next_offset = region_end;

  auto found = pieces(start, region_end, filter);
  uint64_t last_piece_offset = start;
  bool cut = false;
  for (const Piece& piece : found) {
    uint64_t room = max_bytes - slice.bytes.size();
    if (room == 0) {
      slice.next_offset = piece.offset;
      cut = true;
      break;
    }
    last_piece_offset = piece.offset;
    if (piece.bytes.size() > room) {
      slice.bytes.append(piece.bytes.substr(0, room));
      slice.next_offset = piece.offset + room;
      cut = true;
      break;
    }
    slice.bytes.append(piece.bytes);
    slice.next_offset = piece.offset + piece.bytes.size();
  }
  if (!cut) slice.next_offset = region_end;
  if (cut) {
    // Leave a character split by the cut for the next read, when it lies within the last piece.
    size_t partial = base::incomplete_utf8_tail(slice.bytes);
    if (partial > 0 && partial < slice.bytes.size() &&
        slice.next_offset - partial >= last_piece_offset) {
      slice.bytes.resize(slice.bytes.size() - partial);
      slice.next_offset -= partial;
    } else if (partial > 0 && partial == slice.bytes.size()) {
      // max_bytes smaller than the one character there is: return that character whole (a few
      // bytes over), never a part of it, and never nothing, which would never move on.
      for (const Piece& piece : pieces(slice.next_offset, slice.next_offset + 3, filter)) {
        if (piece.offset != slice.next_offset) break;
        for (char c : piece.bytes) {
          if ((static_cast<uint8_t>(c) & 0xC0) != 0x80 ||
              base::incomplete_utf8_tail(slice.bytes) == 0) {
            break;
          }
          slice.bytes.push_back(c);
          ++slice.next_offset;
        }
        if (base::incomplete_utf8_tail(slice.bytes) == 0) break;
      }
    }
  }
  slice.truncated = !pieces(slice.next_offset, total_, filter).empty();
  return slice;
}

OutputLog::Slice OutputLog::tail(uint64_t lines, uint64_t max_bytes, StreamFilter filter) const {
  Slice slice;
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
        slice.truncated = true;
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
  if (!complete && dropped_bytes() > 0) slice.truncated = true;

  for (const Piece& piece : found) {
    uint64_t end = piece.offset + piece.bytes.size();
    if (end <= start) continue;
    uint64_t skip = start > piece.offset ? start - piece.offset : 0;
    slice.bytes.append(piece.bytes.substr(skip));
  }
  slice.offset = start;
  if (slice.truncated) {
    // A cut by max_bytes can land inside a character: start at the next whole one.
    size_t lead = 0;
    while (lead < 3 && lead < slice.bytes.size() &&
           (static_cast<uint8_t>(slice.bytes[lead]) & 0xC0) == 0x80) {
      ++lead;
    }
    slice.bytes.erase(0, lead);
    slice.offset += lead;
  }
  slice.next_offset = total_;
  slice.lines = static_cast<uint64_t>(std::count(slice.bytes.begin(), slice.bytes.end(), '\n'));
  if (!slice.bytes.empty() && slice.bytes.back() != '\n') ++slice.lines;
  return slice;
}

}  // namespace jobs

#pragma once
/// One job's output: stdout and stderr merged in arrival order, like a terminal, with each byte's
/// stream remembered. Bounded: the first quarter of `max_bytes` (the head) is kept for good, the
/// rest holds the most recent bytes (the tail), and whatever falls between is dropped and counted.
/// Offsets are absolute: byte N is the N-th byte the job ever printed, whether or not it is kept.
/// Memory grows with what the job prints, never beyond max_bytes plus one block.
/// Owned by a Job; read by the tools through const methods.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace jobs {

enum class Stream : uint8_t { kStdout, kStderr };
enum class StreamFilter : uint8_t { kBoth, kStdout, kStderr };

class OutputLog {
 public:
  explicit OutputLog(uint64_t max_bytes);
  /// A log rebuilt from what the history kept of a finished job: `head` from offset 0 and
  /// `tail` from `tail_offset` (at least head.size()), as stdout; what lay between was dropped.
  static OutputLog restored(std::string_view head, uint64_t tail_offset, std::string_view tail);

  void append(Stream stream, std::string_view bytes);
  /// Counts everything up to `offset` as dropped (no-op unless it lies ahead): a copy of another
  /// log (a persisted job's, sent by its keeper) skips the middle that log dropped. The head
  /// takes nothing more once anything was skipped.
  void skip_to(uint64_t offset);

  uint64_t total_bytes() const { return total_; }
  /// The bound it was made with (head and tail capacity).
  uint64_t max_bytes() const { return head_capacity_ + tail_capacity_; }
  uint64_t kept_bytes() const { return head_.size() + tail_size_; }
  uint64_t dropped_bytes() const { return tail_start_ - head_.size(); }
  /// Where the kept tail begins; equal to the head's size while nothing has been dropped.
  uint64_t tail_start() const { return tail_start_; }
  uint64_t head_size() const { return head_.size(); }

  /// A contiguous run of kept bytes of one stream, at absolute `offset`.
  struct Piece {
    uint64_t offset;
    std::string_view bytes;
  };
  /// The kept bytes in [from, to) that pass `filter`, in order, as pieces of contiguous memory.
  std::vector<Piece> pieces(uint64_t from, uint64_t to, StreamFilter filter) const;

  /// A window on the kept output of one filter: where a read begins and ends, cut at character
  /// boundaries, with nothing copied. Every reader takes one and renders [from, to) once (see
  /// mcp/tools/redaction.h); `bytes()` copies it raw, for tests.
  struct Window {
    uint64_t from = 0;       // Where it begins (later than asked if that part was dropped).
    uint64_t to = 0;         // Where it ends: where to continue reading.
    bool truncated = false;  // read: more kept bytes (of the filter) remain after `to`;
                             // tail: fewer lines than asked, or cut by max_bytes.
    uint64_t lines = 0;      // For tail: how many lines the window holds.
  };

  /// Up to `max_bytes` bytes passing `filter`, starting at `offset`. A read never spans the
  /// dropped middle: it stops at the end of the head, and the next read resumes at tail_start().
  /// A character split by the max_bytes cut is left for the next read; a max_bytes smaller than
  /// the first character returns that character whole.
  Window read_window(uint64_t offset, uint64_t max_bytes, StreamFilter filter) const;

  /// The last `lines` lines passing `filter` (a final line without '\n' counts), at most
  /// `max_bytes` of them (the most recent bytes win), beginning at a whole character.
  Window tail_window(uint64_t lines, uint64_t max_bytes, StreamFilter filter) const;

  /// The first position at or after `position` that does not continue a character begun before
  /// it (at most 3 bytes on), within the kept output of `filter`; a position in the dropped
  /// middle counts from tail_start().
  uint64_t character_start(uint64_t position, StreamFilter filter) const;

  /// The kept bytes of `filter` in [from, to), raw (they may be invalid UTF-8).
  std::string bytes(uint64_t from, uint64_t to, StreamFilter filter) const;

  /// A window with its bytes copied: read_window and tail_window for a caller that wants the raw
  /// bytes in hand (tests, mostly). Tools render the window instead.
  struct Slice {
    std::string bytes;         // Raw bytes (may be invalid UTF-8; the caller sanitises).
    uint64_t offset = 0;       // Window::from.
    uint64_t next_offset = 0;  // Window::to.
    bool truncated = false;
    uint64_t lines = 0;
  };
  Slice read(uint64_t offset, uint64_t max_bytes, StreamFilter filter) const;
  Slice tail(uint64_t lines, uint64_t max_bytes, StreamFilter filter) const;

 private:
  struct Run {  // Bytes from `start` up to the next run's start came from `stream`.
    uint64_t start;
    Stream stream;
  };

  void append_to_head(Stream stream, std::string_view bytes);
  void append_to_tail(Stream stream, std::string_view bytes);
  void drop_tail_front(uint64_t count);
  // Calls `fn` for each contiguous memory span of kept bytes in [from, to), in order.
  void for_each_span(uint64_t from, uint64_t to,
                     const std::function<void(uint64_t, std::string_view)>& fn) const;

  uint64_t head_capacity_;
  uint64_t tail_capacity_;
  uint64_t block_size_;
  uint64_t total_ = 0;

  std::string head_;
  std::deque<Run> head_runs_;

  std::deque<std::string> tail_blocks_;  // Each holds at most block_size_ bytes.
  uint64_t tail_front_skip_ = 0;         // Bytes of tail_blocks_.front() already dropped.
  uint64_t tail_start_ = 0;              // Absolute offset of the first kept tail byte.
  uint64_t tail_size_ = 0;
  std::deque<Run> tail_runs_;
};

}  // namespace jobs

#pragma once
/// A persisted job's output on disk, under the same rule and with the same offsets as the
/// in-memory OutputLog: the first quarter of `max_bytes` (the head) is kept for good, the most
/// recent three quarters (the tail) in a ring, and what falls between is dropped and counted. Byte
/// N of the file's log is the N-th byte the job ever printed.
///
/// One process writes (the job's keeper); any number read, in other processes, while it writes.
/// The layout is a header page (mapped shared: the byte count is published with release/acquire
/// atomics), then the head, then the ring. The writer stores the data before the count; a reader
/// loads the count, reads, and loads it again: whatever the ring may have overwritten meanwhile
/// is not returned. Nothing is fsynced: the page cache outlives the keeper, not the machine.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"

namespace store {

class OutputFile {
 public:
  enum class Access { kWrite, kRead };

  /// Creates a new log (0600; fails if the file exists) with room for `max_bytes`.
  static base::Result<OutputFile> create(const std::filesystem::path& file, uint64_t max_bytes);
  /// Opens an existing log, for reading (any process) or for writing on (its keeper, after a
  /// restart of nothing: a log has one writer for its whole life).
  static base::Result<OutputFile> open(const std::filesystem::path& file, Access access);

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&& other) noexcept;
  ~OutputFile();

  /// Writer only. Adds `bytes` at the end; fails (saying why: the disk is full) without
  /// publishing them.
  base::Result<void> append(std::string_view bytes);
  /// Writer only: no more bytes will come (the job's output reached EOF).
  void mark_closed();

  uint64_t max_bytes() const;
  uint64_t head_capacity() const;
  /// Bytes ever appended (published ones).
  uint64_t total_bytes() const;
  bool closed() const;
  /// Where the kept tail begins now: total minus the ring's size, but never inside the head.
  uint64_t tail_start() const;

  struct Read {
    std::string bytes;
    uint64_t offset = 0;  // Where `bytes` begins: later than asked if that part was dropped.
  };
  /// Up to `max` kept bytes from `from`, never spanning the dropped middle (a read that starts
  /// in the head stops at its end). Empty at the end of what is published.
  base::Result<Read> read(uint64_t from, uint64_t max) const;

 private:
  struct Header;
  OutputFile(base::UniqueFd fd, Header* header);
  base::Result<void> write_at(uint64_t position, std::string_view bytes);

  base::UniqueFd fd_;
  Header* header_ = nullptr;  // The mapped first page.
};

}  // namespace store

#pragma once
/// What a server and a keeper say to each other on the keeper's unix socket: frames, each a
/// one-line JSON header, then `n` raw bytes (job output and input are bytes, not text). Small
/// and private to this binary: both ends are always the same build's (a keeper and a server of
/// another version refuse each other in the hello).

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace keeper {

using Json = nlohmann::json;

/// Bumped on any change of the frames below: the hello carries it.
inline constexpr int kProtocolVersion = 1;

// Bounds: a header is a few hundred bytes; a payload at most one read of job output or one
// interact's input.
inline constexpr size_t kMaxHeaderBytes = 64 * 1024;
inline constexpr uint64_t kMaxPayloadBytes = uint64_t{16} << 20;

struct Frame {
  Json header;
  std::string payload;
};

std::string encode_frame(const Json& header, std::string_view payload = {});

/// Cuts frames out of a byte stream, fed as it arrives.
class FrameReader {
 public:
  void feed(std::string_view bytes);
  /// The next whole frame, nothing if more bytes are needed, or an error for a stream that is
  /// not frames (the connection is then dropped).
  base::Result<std::optional<Frame>> next();

 private:
  std::string buffer_;
  size_t position_ = 0;  // Where the next frame begins: consumed bytes go in one erase per feed.
};

/// Appends one frame to `out` (the way to queue many without a copy each).
void append_frame(std::string& out, const Json& header, std::string_view payload = {});

/// Blocking, for the short handshakes (a keeper answering its start, a hello): writes all of
/// `bytes`, or reads until `reader` has a frame, waiting on `fd` (non-blocking or not) no later
/// than `deadline`.
base::Result<void> write_all(int fd, std::string_view bytes,
                             std::chrono::steady_clock::time_point deadline);
base::Result<Frame> read_frame(int fd, FrameReader& reader,
                               std::chrono::steady_clock::time_point deadline);

}  // namespace keeper

#include "keeper/frames.h"

#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace keeper {
namespace {

int millis_until(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Waits until `fd` is ready for `events`; false at the deadline.
base::Result<bool> wait_ready(int fd, short events,
                              std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    pollfd p{.fd = fd, .events = events, .revents = 0};
    int n = ::poll(&p, 1, millis_until(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return base::fail_errno("poll");
  }
}

}  // namespace

void append_frame(std::string& out, const Json& header, std::string_view payload) {
  Json with_size = header;
  with_size["n"] = payload.size();
  out += with_size.dump();
  out.push_back('\n');
  out.append(payload);
}

std::string encode_frame(const Json& header, std::string_view payload) {
  std::string out;
  append_frame(out, header, payload);
  return out;
}

void FrameReader::feed(std::string_view bytes) {
  buffer_.erase(0, position_);
  position_ = 0;
  buffer_.append(bytes);
}

base::Result<std::optional<Frame>> FrameReader::next() {
  std::string_view rest = std::string_view(buffer_).substr(position_);
  size_t newline = rest.find('\n');
  if (newline == std::string::npos) {
    if (rest.size() > kMaxHeaderBytes) return base::fail("a keeper frame header is too long");
    return std::nullopt;
  }
  Json header = Json::parse(rest.substr(0, newline), nullptr, false);
  if (!header.is_object() || !header.contains("n") || !header["n"].is_number_unsigned()) {
    return base::fail("a keeper frame header is not what this build writes");
  }
  uint64_t size = header["n"].get<uint64_t>();
  if (size > kMaxPayloadBytes) return base::fail("a keeper frame is too large");
  if (rest.size() - newline - 1 < size) return std::nullopt;
  Frame frame{std::move(header), std::string(rest.substr(newline + 1, size))};
  position_ += newline + 1 + size;
  return frame;
}

base::Result<void> write_all(int fd, std::string_view bytes,
                             std::chrono::steady_clock::time_point deadline) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto ready = wait_ready(fd, POLLOUT, deadline);
      if (!ready) return tl::unexpected(ready.error());
      if (!*ready) return base::fail("the keeper did not take what was sent in time");
      continue;
    }
    return base::fail_errno("write to the keeper");
  }
  return {};
}

base::Result<Frame> read_frame(int fd, FrameReader& reader,
                               std::chrono::steady_clock::time_point deadline) {
  std::array<char, 256 * 1024> buffer;
  for (;;) {
    auto frame = reader.next();
    if (!frame) return tl::unexpected(frame.error());
    if (*frame) return std::move(**frame);
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      reader.feed(std::string_view(buffer.data(), static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) return base::fail("the keeper closed the connection");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return base::fail_errno("read from the keeper");
    auto ready = wait_ready(fd, POLLIN, deadline);
    if (!ready) return tl::unexpected(ready.error());
    if (!*ready) return base::fail("the keeper did not answer in time");
  }
}

}  // namespace keeper

#include "fds.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace bench {

base::Result<Pipe> make_pipe() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return base::fail_errno("pipe2");
  return Pipe{base::UniqueFd(ends[0]), base::UniqueFd(ends[1])};
}

base::Result<base::UniqueFd> create_file(const std::filesystem::path& path) {
  base::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return base::fail_errno(fmt::format("open {}", path.string()));
  return fd;
}

base::Result<void> set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return base::fail_errno("fcntl F_GETFL");
  if (::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return base::fail_errno("fcntl F_SETFL");
  return {};
}

base::Result<void> write_all(int fd, std::string_view bytes, Clock::time_point deadline) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n >= 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return base::fail_errno("write");
    auto ready = wait_writable(fd, deadline);
    if (!ready) return tl::unexpected(ready.error());
    if (*ready == Readiness::kTimedOut) {
      return base::fail(
          fmt::format("write: the reader left the pipe full until the deadline, with "
                      "{} bytes still to write",
                      bytes.size()));
    }
  }
  return {};
}

base::Result<size_t> read_some(int fd, std::span<char> buffer) {
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return base::fail_errno("read");
  }
}

namespace {

base::Result<Readiness> wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) return Readiness::kTimedOut;
    pollfd entry{.fd = fd, .events = events, .revents = 0};
    int ready = ::poll(&entry, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return base::fail_errno("poll");
    if (ready > 0) return Readiness::kReady;
    if (Clock::now() >= deadline) return Readiness::kTimedOut;
  }
}

}  // namespace

base::Result<Readiness> wait_readable(int fd, Clock::time_point deadline) {
  return wait_for(fd, POLLIN, deadline);
}

base::Result<Readiness> wait_writable(int fd, Clock::time_point deadline) {
  return wait_for(fd, POLLOUT, deadline);
}

}  // namespace bench

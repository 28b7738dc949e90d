#include "sys/small_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/unique_fd.h"

namespace sys {

std::string read_small_file(const std::filesystem::path& path) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  std::string content;
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n == 0 ? content : std::string();
    content.append(chunk, static_cast<size_t>(n));
  }
}

base::Result<std::string> read_to_end(int fd, std::string_view what, size_t limit) {
  std::string text;
  char buffer[16384];
  while (text.size() < limit) {
    const size_t want = std::min(sizeof buffer, limit - text.size());
    const ssize_t n = ::read(fd, buffer, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::fail_errno(fmt::format("cannot read {}", what));
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace sys

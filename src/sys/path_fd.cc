#include "sys/path_fd.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <string>

namespace sys {
namespace {

std::string proc_fd_path(int fd) { return fmt::format("/proc/self/fd/{}", fd); }

}  // namespace

base::Result<base::UniqueFd> open_directory(const std::filesystem::path& path) {
  base::UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return base::fail_errno(fmt::format("open {}", path.string()));
  return fd;
}

base::Result<base::UniqueFd> open_file(const std::filesystem::path& path) {
  base::UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) return base::fail_errno(fmt::format("open {}", path.string()));
  return fd;
}

base::Result<std::filesystem::path> real_path_of(int fd) {
  std::array<char, 4096> buffer{};
  ssize_t n = ::readlink(proc_fd_path(fd).c_str(), buffer.data(), buffer.size());
  if (n < 0) return base::fail_errno("readlink " + proc_fd_path(fd));
  if (static_cast<size_t>(n) == buffer.size()) {
    return base::fail("the path is longer than PATH_MAX", ENAMETOOLONG);
  }
  return std::filesystem::path(std::string(buffer.data(), static_cast<size_t>(n)));
}

bool is_regular_file(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

bool is_elf_executable(int fd) {
  // An O_PATH descriptor cannot be read; the same file, opened again through it, can (and only
  // that file: /proc/self/fd/N is no name another process can change).
  base::UniqueFd readable(::open(proc_fd_path(fd).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!readable) return false;
  std::array<char, 4> magic{};
  return ::pread(readable.get(), magic.data(), magic.size(), 0) ==
             static_cast<ssize_t>(magic.size()) &&
         magic == std::array<char, 4>{'\x7f', 'E', 'L', 'F'};
}

}  // namespace sys

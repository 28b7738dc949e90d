#pragma once
/// Whether a process (not necessarily our child) is gone: absent from /proc, or a zombie
/// waiting for a parent that is not us.

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace test {

/// A /proc file's content, or "" if the process is gone (even mid-read: libstdc++ streams would
/// throw there).
inline std::string read_proc_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string content;
  char chunk[4096];
  ssize_t n;
  while ((n = ::read(fd, chunk, sizeof chunk)) > 0) content.append(chunk, static_cast<size_t>(n));
  ::close(fd);
  return n < 0 ? std::string() : content;
}

/// The pid a test child wrote to `path` (test_child grandchild PIDFILE), or 0 while there is none.
inline pid_t pid_in_file(const std::string& path) {
  std::string text = read_proc_file(path);  // any small file: never throws
  return text.empty() ? 0 : static_cast<pid_t>(std::atoi(text.c_str()));
}

inline bool process_gone(pid_t pid) {
  std::string content = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
  if (content.empty()) return true;
  auto close = content.rfind(')');
  return close == std::string::npos || content.size() < close + 3 || content[close + 2] == 'Z';
}

}  // namespace test

#pragma once
/// Whether a process (not necessarily our child) is gone: absent from /proc, or a zombie
/// waiting for a parent that is not us.

#include <sys/types.h>

#include <fstream>
#include <string>

namespace test {

inline bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = content.rfind(')');
  return close == std::string::npos || content.size() < close + 3 || content[close + 2] == 'Z';
}

}  // namespace test

#pragma once
/// Counts this process's open file descriptors (from /proc/self/fd), so process tests can assert
/// that everything they opened was closed again.

#include <cstddef>

namespace test {

size_t open_fd_count();

}  // namespace test

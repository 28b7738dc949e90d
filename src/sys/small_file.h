#pragma once
/// Reading small files whole: the text files of /proc and of cgroups, and config's own files.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sys {

/// The whole file, by plain read(2); empty when it cannot be read. A /proc file of a process that
/// exits mid-read fails with ESRCH, where libstdc++ streams would throw from underflow: here a
/// vanished process simply reads as empty.
std::string read_small_file(const std::filesystem::path& path);

/// What is left to read on `fd` up to end of file, but at most `limit` bytes, by read(2) retried
/// on EINTR. A failed read is an error "cannot read <what>: <strerror>".
base::Result<std::string> read_to_end(int fd, std::string_view what, size_t limit = SIZE_MAX);

}  // namespace sys

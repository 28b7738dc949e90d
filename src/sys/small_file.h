#pragma once
/// Reading the small text files of /proc and of cgroups.

#include <filesystem>
#include <string>

namespace sys {

/// The whole file, by plain read(2); empty when it cannot be read. A /proc file of a process that
/// exits mid-read fails with ESRCH, where libstdc++ streams would throw from underflow: here a
/// vanished process simply reads as empty.
std::string read_small_file(const std::filesystem::path& path);

}  // namespace sys

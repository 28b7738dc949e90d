#pragma once
/// Descriptors of paths the policy checks: open a directory or a file once, learn from the
/// descriptor (never from the name again) what it is and where it is, and hand the same
/// descriptor to the child, which changes into it (fchdir) or executes it (execveat). Whatever
/// happens to the names afterwards (a directory swapped for a symlink, a file renamed over)
/// cannot change what the check saw. Used by policy::CommandPolicy.

#include <filesystem>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sys {

/// An O_PATH descriptor of the directory `path` names, every symlink followed (close-on-exec).
/// Fails with the errno of open(2): ENOENT, ENOTDIR (not a directory), EACCES, ELOOP...
base::Result<base::UniqueFd> open_directory(const std::filesystem::path& path);

/// An O_PATH descriptor of the file `path` names, every symlink followed (close-on-exec). Nothing
/// is opened for reading, so a FIFO or a device does not block or wake.
base::Result<base::UniqueFd> open_file(const std::filesystem::path& path);

/// The absolute path, with no symlink in it, under which the kernel knows what `fd` refers to now
/// (readlink of /proc/self/fd/N). A deleted file or directory reads "... (deleted)".
base::Result<std::filesystem::path> real_path_of(int fd);

/// Whether `fd` refers to a regular file.
bool is_regular_file(int fd);

/// Whether the regular file `fd` refers to starts with the ELF magic: such a program can be
/// executed from its descriptor. A script (#!) cannot be, since its interpreter opens it again by
/// name (and would find the descriptor closed). A file that cannot be read reads as not ELF.
bool is_elf_executable(int fd);

}  // namespace sys

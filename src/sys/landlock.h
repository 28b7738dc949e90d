#pragma once
/// Landlock, the Linux security module an unprivileged process uses to restrict itself: which ABI
/// the running kernel offers, and building the ruleset a confined job is put under. The ruleset
/// is built in the server; the job's child process applies it to itself right before exec (see
/// SpawnConfinement in sys/spawn.h). Used by jobs::Confinement.
///
/// What a ruleset built here does: every write-like filesystem access the kernel's ABI knows
/// (create, remove, rename, link, write, truncate, device ioctl) is allowed only beneath the given
/// roots and on a short list of harmless devices, except that device nodes may be created
/// nowhere; reads and exec are not restricted. Landlock has no right for metadata (chmod, chown,
/// utimensat, extended attributes): see sys/metadata_filter.h for the part that is filtered.
/// Optionally, TCP bind and connect are denied altogether (ABI 4 and later). Files opened before
/// the ruleset applies (the job's stdin, stdout, stderr, its terminal) are not affected.

#include <filesystem>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sys {

/// The highest Landlock ABI version the running kernel supports; 0 when it has none (not built
/// in, or not enabled at boot), with the reason in `why` if given.
int landlock_abi_version(std::string* why = nullptr);

struct LandlockPolicy {
  // Directories (or files) beneath which writes are allowed. Each must exist.
  std::vector<std::filesystem::path> writable;
  // Handle the filesystem rights at all; false with `network` false gives a network-only ruleset.
  bool restrict_writes = true;
  // False: TCP bind and connect are denied to the job (needs ABI 4).
  bool network = true;
};

/// The devices a confined job may still write to (and use ioctls on): the null-like ones, the
/// random ones, terminals. Not the rest of /dev: as root, writing /dev/sda would be writing the
/// disk. /dev/shm, a tmpfs as shared as /tmp, is writable as a directory.
const std::vector<std::filesystem::path>& landlock_writable_devices();

/// Builds a ruleset (a close-on-exec fd) for `policy`. Fails with a message that says what to do
/// when the kernel lacks Landlock, when `network` is false and the ABI is below 4, or when a
/// path cannot be opened.
base::Result<base::UniqueFd> build_landlock_ruleset(const LandlockPolicy& policy);

/// In a child between fork and exec: applies the ruleset to the calling process. One raw system
/// call, so it is async-signal-safe. The caller sets no_new_privs first (the kernel requires it
/// of a process without CAP_SYS_ADMIN, and it keeps set-uid programs from escaping). Returns 0 or
/// the errno.
int landlock_restrict_self_raw(int ruleset_fd);

}  // namespace sys

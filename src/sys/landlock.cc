#include "sys/landlock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/landlock.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

// Debian 12's <linux/landlock.h> stops at ABI 2 or 3; the kernel this runs on may be far newer.
// The numbers below are the kernel's UAPI and never change once released. The system calls
// have the same numbers on every architecture.
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)  // ABI 2
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)  // ABI 3
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)  // ABI 5
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)  // ABI 4
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)  // ABI 4
#endif

namespace sys {
namespace {

// struct landlock_ruleset_attr as of ABI 4 (the header's may lack handled_access_net). The kernel
// takes the size we pass and requires any bytes it does not know to be zero, so the short form is
// passed when the network is not handled.
struct RulesetAttr {
  uint64_t handled_access_fs = 0;
  uint64_t handled_access_net = 0;
};

struct PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

constexpr int kRulePathBeneath = 1;  // LANDLOCK_RULE_PATH_BENEATH

// Rights that only make sense on a file; the kernel refuses directory rights on a file rule.
constexpr uint64_t kFileWriteRights =
    LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV;

// Every write-like right, and the ABI that introduced it. Reads and exec are never handled, so
// they stay allowed everywhere.
uint64_t write_rights_for(int abi) {
  uint64_t rights = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                    LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
  if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5) rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  return rights;
}

// Allows `rights` beneath `path` (narrowed to file rights when it is not a directory).
base::Result<void> add_path_rule(int ruleset, const std::filesystem::path& path, uint64_t rights) {
  base::UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) {
    return base::fail(fmt::format("cannot open '{}' for the Landlock ruleset: {}", path.string(),
                                  std::strerror(errno)),
                      errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return base::fail_errno("fstat " + path.string());
  if (!S_ISDIR(st.st_mode)) rights &= kFileWriteRights;
  PathBeneathAttr rule{rights, fd.get()};
  if (::syscall(__NR_landlock_add_rule, ruleset, kRulePathBeneath, &rule, 0) != 0) {
    return base::fail_errno("landlock_add_rule " + path.string());
  }
  return {};
}

}  // namespace

int landlock_abi_version(std::string* why) {
  long abi = ::syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi > 0) return static_cast<int>(abi);
  if (why != nullptr) {
    *why = errno == EOPNOTSUPP
               ? "Landlock is built into this kernel but not enabled (add landlock to the lsm= "
                 "boot parameter)"
               : fmt::format(
                     "this kernel has no Landlock (landlock_create_ruleset: {}); Linux "
                     "5.13 or later with CONFIG_SECURITY_LANDLOCK is needed",
                     std::strerror(errno));
  }
  return 0;
}

const std::vector<std::filesystem::path>& landlock_writable_devices() {
  static const std::vector<std::filesystem::path> devices{
      "/dev/null",    "/dev/zero", "/dev/full", "/dev/random",
      "/dev/urandom", "/dev/tty",  "/dev/ptmx", "/dev/pts"};
  return devices;
}

base::Result<base::UniqueFd> build_landlock_ruleset(const LandlockPolicy& policy) {
  std::string why;
  int abi = landlock_abi_version(&why);
  if (abi == 0) return base::fail(why, ENOSYS);
  if (!policy.network && abi < 4) {
    return base::fail(fmt::format("network = false needs Landlock ABI 4 (Linux 6.7) to deny TCP "
                                  "bind and connect; this kernel has ABI {}",
                                  abi),
                      EOPNOTSUPP);
  }
  RulesetAttr attr;
  uint64_t write_rights = write_rights_for(abi);
  if (policy.restrict_writes) attr.handled_access_fs = write_rights;
  if (!policy.network) {
    attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
  }
  size_t size = policy.network ? sizeof(uint64_t) : sizeof(RulesetAttr);
  int fd = static_cast<int>(::syscall(__NR_landlock_create_ruleset, &attr, size, 0));
  if (fd < 0) return base::fail_errno("landlock_create_ruleset");
  base::UniqueFd ruleset(fd);  // The kernel makes it close-on-exec.
  if (!policy.restrict_writes) return ruleset;

  // Handled, and granted nowhere: creating device nodes. As root, a node made inside a root for
  // a disk (mknod d b 8 0) would be a way to write the disk; no build or test makes one.
  uint64_t granted = write_rights & ~(LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK);
  for (const auto& root : policy.writable) {
    if (auto added = add_path_rule(ruleset.get(), root, granted); !added) {
      return tl::unexpected(added.error());
    }
  }
  // POSIX shared memory and semaphores (Python's multiprocessing) live in this tmpfs, which
  // is as shared as /tmp.
  if (::access("/dev/shm", F_OK) == 0) {
    if (auto added = add_path_rule(ruleset.get(), "/dev/shm", granted); !added) {
      return tl::unexpected(added.error());
    }
  }
  // Only writing and ioctls on these: no creating or removing entries in /dev.
  for (const auto& device : landlock_writable_devices()) {
    if (::access(device.c_str(), F_OK) != 0) continue;  // a minimal /dev may lack some
    if (auto added = add_path_rule(ruleset.get(), device, write_rights & kFileWriteRights);
        !added) {
      return tl::unexpected(added.error());
    }
  }
  return ruleset;
}

int landlock_restrict_self_raw(int ruleset_fd) {
  return ::syscall(__NR_landlock_restrict_self, ruleset_fd, 0) == 0 ? 0 : errno;
}

}  // namespace sys

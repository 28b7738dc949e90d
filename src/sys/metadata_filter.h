#pragma once
/// A seccomp filter for sandboxed jobs that refuses the system calls that set or remove extended
/// attributes (setxattr, lsetxattr, fsetxattr, setxattrat, removexattr, lremovexattr,
/// fremovexattr, removexattrat) with EOPNOTSUPP, the answer of a filesystem without them, which
/// tools that copy attributes (cp -a, mv, tar, rsync) treat as nothing to preserve; and io_uring
/// (io_uring_setup, io_uring_enter, io_uring_register) with ENOSYS, the answer of a kernel built
/// without it, since a ring sets attributes (IORING_OP_SETXATTR) where no filter can see.
///
/// Why: Landlock (up to ABI 7, the newest this was written against) has no access right for
/// metadata, so a sandboxed job can change the attributes of any file its user may change,
/// outside the roots too; and seccomp sees system call numbers, never paths, so the calls can
/// only be refused everywhere or nowhere. Extended attributes are refused everywhere: no
/// ordinary build, test or install sets one, and as root they grant file capabilities
/// (security.capability) and carry ACLs. chmod, chown and utimensat are NOT filtered: chmod +x,
/// tar x, cp -p, git checkout and npm install use them inside the roots every day.
///
/// The filter is built once, in the server; the job's child installs it on itself between clone
/// and exec (one system call: async-signal-safe), after no_new_privs. Used by jobs::Confinement
/// and sys/spawn.

struct sock_fprog;

namespace sys {

/// The filter program, valid for the life of the process.
const sock_fprog& metadata_filter();

/// In a child between clone and exec: installs `filter` on the calling process (no_new_privs
/// must be set already). Returns 0 or the errno.
int install_seccomp_filter_raw(const sock_fprog& filter);

}  // namespace sys

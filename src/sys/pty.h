#pragma once
/// Pseudo-terminals for jobs that run on a terminal: opening the master side, and the few terminal
/// queries the engine makes through it. The slave side is never opened here: only the job opens it
/// (see spawn_process), so it is the job's processes alone that keep the terminal alive.
/// Used by sys::spawn_process and jobs::Job.

#include <sys/types.h>

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sys {

/// A terminal's window size in character cells.
struct TerminalSize {
  int cols = 120;
  int rows = 40;
};

struct PseudoTerminal {
  base::UniqueFd master;   // Close-on-exec, not the server's controlling terminal.
  std::string slave_path;  // "/dev/pts/N", for the job to open.
};

/// posix_openpt + grantpt + unlockpt + ptsname_r, then TIOCSWINSZ with `size`. Nothing is left
/// open on failure.
base::Result<PseudoTerminal> open_pseudo_terminal(TerminalSize size);

/// A second descriptor for the same open file (fcntl F_DUPFD_CLOEXEC).
base::Result<base::UniqueFd> duplicate_fd(int fd);

/// The inode of the terminal behind `master` as its processes see it (/dev/pts/N), or 0.
ino_t terminal_slave_inode(int master);

/// The byte that ends input on the terminal behind `master` (its VEOF character, ^D unless the job
/// changed it). ^D when the terminal cannot be asked or has the character disabled.
char terminal_eof_char(int master);

/// The terminal's foreground process group (tcgetpgrp on the master), or 0 when it has none, as
/// when its session leader has exited. The kernel keeps it inside the terminal's session.
pid_t terminal_foreground_group(int master);

}  // namespace sys

#include "sys/pty.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <array>

namespace sys {

// posix_openpt rather than openpty(3): openpty also opens the slave in the server, which would
// then have to be passed to the child and closed again on every path, and while the server held
// it the terminal could never report EOF. With posix_openpt the only slave descriptors are the
// job's, and it needs no libutil.
base::Result<PseudoTerminal> open_pseudo_terminal(TerminalSize size) {
  // O_NOCTTY: the server must never acquire a job's terminal. glibc passes the flags to open(2),
  // so O_CLOEXEC holds from the start.
  base::UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return base::fail_errno("posix_openpt");
  if (::grantpt(master.get()) != 0) return base::fail_errno("grantpt");
  if (::unlockpt(master.get()) != 0) return base::fail_errno("unlockpt");
  std::array<char, 128> name{};
  if (int rc = ::ptsname_r(master.get(), name.data(), name.size()); rc != 0) {
    return base::fail_errno("ptsname_r", rc);
  }
  winsize window{};
  window.ws_col = static_cast<unsigned short>(size.cols);
  window.ws_row = static_cast<unsigned short>(size.rows);
  if (::ioctl(master.get(), TIOCSWINSZ, &window) != 0) return base::fail_errno("ioctl(TIOCSWINSZ)");
  return PseudoTerminal{std::move(master), std::string(name.data())};
}

ino_t terminal_slave_inode(int master) {
  char name[128];
  struct stat st {};
  if (::ptsname_r(master, name, sizeof name) != 0 || ::stat(name, &st) != 0) return 0;
  return st.st_ino;
}

base::Result<base::UniqueFd> duplicate_fd(int fd) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return base::fail_errno("fcntl(F_DUPFD_CLOEXEC)");
  return base::UniqueFd(copy);
}

char terminal_eof_char(int master) {
  constexpr char kControlD = 0x04;
  // On Linux, terminal attributes read through the master are the slave's: what the job set.
  termios attributes{};
  if (::tcgetattr(master, &attributes) != 0) return kControlD;
  cc_t eof = attributes.c_cc[VEOF];
  return eof == _POSIX_VDISABLE ? kControlD : static_cast<char>(eof);
}

pid_t terminal_foreground_group(int master) {
  pid_t group = ::tcgetpgrp(master);
  return group > 0 ? group : 0;
}

}  // namespace sys

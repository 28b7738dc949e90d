#include "sys/pty.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>

#include "helpers/fd_leak_check.h"

namespace sys {
namespace {

TEST(Pty, OpensAMasterThatIsCloseOnExecWithTheSizeSet) {
  size_t fds_before = test::open_fd_count();
  {
    auto terminal = open_pseudo_terminal({.cols = 87, .rows = 23});
    ASSERT_TRUE(terminal.has_value()) << terminal.error().message;
    int flags = ::fcntl(terminal->master.get(), F_GETFD);
    EXPECT_NE(flags & FD_CLOEXEC, 0) << "a job started meanwhile would inherit the master";
    // The slave exists and is unlocked, but the server holds no descriptor of it.
    EXPECT_EQ(terminal->slave_path.rfind("/dev/pts/", 0), 0u) << terminal->slave_path;
    struct stat st {};
    ASSERT_EQ(::stat(terminal->slave_path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    winsize window{};
    ASSERT_EQ(::ioctl(terminal->master.get(), TIOCGWINSZ, &window), 0);
    EXPECT_EQ(window.ws_col, 87);
    EXPECT_EQ(window.ws_row, 23);
    // A new terminal's EOF character is ^D, and no process group is in its foreground yet.
    EXPECT_EQ(terminal_eof_char(terminal->master.get()), '\x04');
    EXPECT_EQ(terminal_foreground_group(terminal->master.get()), 0);
    EXPECT_EQ(test::open_fd_count(), fds_before + 1);
  }
  EXPECT_EQ(test::open_fd_count(), fds_before);
}

TEST(Pty, EofCharacterFollowsTheTerminalsSetting) {
  auto terminal = open_pseudo_terminal({});
  ASSERT_TRUE(terminal.has_value());
  termios attributes{};
  ASSERT_EQ(::tcgetattr(terminal->master.get(), &attributes), 0);
  attributes.c_cc[VEOF] = 0x1a;  // ^Z, as `stty eof ^Z` in the job would set it
  ASSERT_EQ(::tcsetattr(terminal->master.get(), TCSANOW, &attributes), 0);
  EXPECT_EQ(terminal_eof_char(terminal->master.get()), '\x1a');
  attributes.c_cc[VEOF] = _POSIX_VDISABLE;
  ASSERT_EQ(::tcsetattr(terminal->master.get(), TCSANOW, &attributes), 0);
  EXPECT_EQ(terminal_eof_char(terminal->master.get()), '\x04');
}

TEST(Pty, DuplicateIsCloseOnExecAndIndependent) {
  size_t fds_before = test::open_fd_count();
  auto terminal = open_pseudo_terminal({});
  ASSERT_TRUE(terminal.has_value());
  auto copy = duplicate_fd(terminal->master.get());
  ASSERT_TRUE(copy.has_value()) << copy.error().message;
  EXPECT_NE(copy->get(), terminal->master.get());
  EXPECT_NE(::fcntl(copy->get(), F_GETFD) & FD_CLOEXEC, 0);
  terminal->master.reset();
  winsize window{};
  EXPECT_EQ(::ioctl(copy->get(), TIOCGWINSZ, &window), 0) << "the copy outlives the original";
  copy->reset();
  EXPECT_EQ(test::open_fd_count(), fds_before);
  EXPECT_FALSE(duplicate_fd(-1).has_value());
}

}  // namespace
}  // namespace sys

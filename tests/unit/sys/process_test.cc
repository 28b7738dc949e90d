#include "sys/process.h"

#include <gtest/gtest.h>

#include <csignal>

namespace sys {
namespace {

TEST(Signals, ParsesTheSendableNamesInAnyForm) {
  EXPECT_EQ(parse_signal_name("TERM"), SIGTERM);
  EXPECT_EQ(parse_signal_name("sigint"), SIGINT);
  EXPECT_EQ(parse_signal_name("SIGKILL"), SIGKILL);
  EXPECT_EQ(parse_signal_name("usr2"), SIGUSR2);
  EXPECT_FALSE(parse_signal_name("SEGV").has_value());  // not one a caller may send
  EXPECT_FALSE(parse_signal_name("").has_value());
}

TEST(Signals, NamesSignals) {
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
}

TEST(Signals, RefusesToSignalInitOrEveryone) {
  EXPECT_FALSE(signal_group(1, 0).has_value());
  EXPECT_FALSE(signal_group(0, 0).has_value());
}

}  // namespace
}  // namespace sys

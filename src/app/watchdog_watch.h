#pragma once
/// Should the watchdog process die (it never exits while the server lives), the server reaps it
/// and says so: jobs would no longer be stopped if the server were killed.

#include <sys/types.h>

#include <boost/asio/posix/stream_descriptor.hpp>

namespace app {

/// Watches the watchdog `pid` through a pidfd held by `watchdog_exit` (cancel it to stop).
void watch_watchdog(boost::asio::posix::stream_descriptor& watchdog_exit, pid_t pid);

}  // namespace app

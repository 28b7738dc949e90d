#include "app/watchdog_watch.h"

#include <spdlog/spdlog.h>

#include "sys/process.h"
#include "sys/subreaper.h"

namespace app {

void watch_watchdog(boost::asio::posix::stream_descriptor& watchdog_exit, pid_t pid) {
  auto pidfd = sys::open_pidfd(pid);
  if (!pidfd) {
    spdlog::error("cannot watch the watchdog process ({})", pidfd.error().message);
    return;
  }
  watchdog_exit.assign(pidfd->release());
  watchdog_exit.async_wait(boost::asio::posix::descriptor_base::wait_read,
                           [pid](boost::system::error_code ec) {
                             if (ec) return;
                             sys::reap_child_if_exited(pid);
                             spdlog::error(
                                 "the watchdog process exited; jobs will not be "
                                 "stopped if this server is killed");
                           });
}

}  // namespace app

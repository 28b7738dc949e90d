#include "steps.h"

#include <thread>

#include "failure.h"
#include "proc_stats.h"
#include "process.h"

namespace bench {
namespace {

constexpr auto kSettleTimeout = std::chrono::seconds(60);
// Pause between sweeps of /proc while waiting for shells to start their sleep.
constexpr auto kSweepPause = std::chrono::milliseconds(1);

}  // namespace

Clock::duration spawn_and_reap_true(const std::vector<std::string>& env) {
  const auto started = Clock::now();
  Child child =
      unwrap(spawn(SpawnRequest{
                 .argv = {"/bin/sh", "-c", "true"}, .env = env, .group = ProcessGroup::kOwn}),
             "spawning /bin/sh -c true");
  sys::ExitInfo status = unwrap(child.wait(), "waiting for /bin/sh -c true");
  const auto ended = Clock::now();
  check(status.exit_code == 0, "/bin/sh -c true ended with {}", describe_exit(status));
  return ended - started;
}

void wait_until_sleeping(const std::vector<pid_t>& shells) {
  const auto deadline = Clock::now() + kSettleTimeout;
  std::vector<pid_t> waiting = shells;
  while (!waiting.empty()) {
    std::erase_if(waiting, [](pid_t shell) {
      return !unwrap(read_children(shell), fmt::format("reading the children of shell {}", shell))
                  .empty();
    });
    if (waiting.empty()) break;
    check(Clock::now() < deadline, "{} of {} shells had not started sleep after {} s",
          waiting.size(), shells.size(), kSettleTimeout.count());
    std::this_thread::sleep_for(kSweepPause);
  }
}

}  // namespace bench

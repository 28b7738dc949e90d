#pragma once
/// Steps that more than one scenario takes: the driver's own reference for starting a job, and
/// waiting until sleep jobs have settled. Anything unexpected is a Failure. Single-threaded.

#include <sys/types.h>

#include <string>
#include <vector>

#include "stats.h"

namespace bench {

/// The reference for starting a job: the driver starts /bin/sh -c true with posix_spawn in its
/// own process group (as the server starts every job) and reaps it with waitpid. Returns the
/// time from just before the spawn to just after the reap.
Clock::duration spawn_and_reap_true(const std::vector<std::string>& env);

/// Waits until each of `shells` (sh -c 'sleep ...') has forked its sleep: dash does not exec the
/// last command, and from then on nothing about the job changes until it is signalled. Polls
/// /proc, with a deadline.
void wait_until_sleeping(const std::vector<pid_t>& shells);

}  // namespace bench

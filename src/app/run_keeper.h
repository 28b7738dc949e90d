#pragma once
/// The keeper of one persisted job: this binary, started by a server with the server's own
/// arguments and keeper::kKeeperFdVariable set (see keeper/keepers.h), in a session of its own.

namespace app {

/// Reads the same settings as the server that started it, reads the execute request from the
/// descriptor named by kKeeperFdVariable, checks and runs it as a server would (policy,
/// confinement, a watchdog, the history), answers on its socket until the job is over, records
/// the end, and returns. The exit status says whether it could start the job.
int run_keeper(int argc, char** argv);

}  // namespace app

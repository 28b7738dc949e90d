#pragma once
/// The history of jobs in the server: opened from the settings after the engine exists (its
/// writer is a thread of its own, started after the watchdog's fork), so that list, status,
/// output and tail outlive this server.

#include <memory>

#include "base/result.h"
#include "config/config.h"
#include "history/job_history.h"
#include "jobs/job_manager.h"
#include "policy/redactor.h"

namespace app {

/// The history the settings ask for, or null when they keep none (state_dir none, or no default
/// place because neither XDG_STATE_HOME nor HOME is set). An error only for a state_dir the
/// operator named: the server then does not start. A default one that fails costs a warning.
base::Result<std::unique_ptr<history::JobHistory>> open_job_history(
    const config::Config& config, jobs::JobManager& jobs, const policy::Redactor* redactor);

}  // namespace app

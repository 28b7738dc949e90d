#pragma once
/// What the engine's modules take from the settings: the command policy, the environment rules
/// and the confinement of every job, each built once from the Config at start-up.

#include <memory>

#include "base/result.h"
#include "config/config.h"
#include "jobs/confinement.h"
#include "jobs/job_manager.h"
#include "policy/command_policy.h"
#include "policy/environment.h"

namespace app {

// What may run. The patterns compile and the programs resolve here (on the server's own PATH),
// so a mistake in them stops start-up rather than the first job.
base::Result<std::shared_ptr<const policy::CommandPolicy>> build_command_policy(
    const config::Config& config);

policy::EnvironmentRules environment_rules(const config::Config& config);

// The server's confinement of every job. CPU time is whole seconds to the kernel: a part of a
// second counts as one.
jobs::ConfinementSettings confinement_settings(const config::Config& config);

// Everything the engine takes from the settings (a server's, or a keeper's: the same).
jobs::EngineSettings engine_settings(const config::Config& config,
                                     std::shared_ptr<const policy::CommandPolicy> policy,
                                     const policy::Redactor* redactor);

}  // namespace app

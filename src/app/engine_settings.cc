#include "app/engine_settings.h"

#include <cstdlib>

namespace app {

base::Result<std::shared_ptr<const policy::CommandPolicy>> build_command_policy(
    const config::Config& config) {
  const char* own_path = std::getenv("PATH");
  auto built = policy::CommandPolicy::create(
      {.allowed_commands = config.allowed_commands,
       .denied_commands = config.denied_commands,
       .allowed_programs = config.allowed_programs,
       .shell = config.shell,
       .allowed_roots = config.allowed_roots,
       .allowed_loader_env = config.allowed_loader_env},
      config.working_dir, own_path != nullptr ? own_path : "/usr/local/bin:/usr/bin:/bin");
  if (!built) return tl::unexpected(built.error());
  return std::make_shared<const policy::CommandPolicy>(std::move(*built));
}

policy::EnvironmentRules environment_rules(const config::Config& config) {
  return {.inheritance = config.env_policy == config::EnvPolicy::kMinimal
                             ? policy::EnvInheritance::kMinimal
                             : policy::EnvInheritance::kInherit,
          .exclude = config.env_exclude,
          .non_interactive = config.non_interactive_env};
}

jobs::ConfinementSettings confinement_settings(const config::Config& config) {
  auto cpu_seconds = static_cast<uint64_t>((config.max_cpu_time.count() + 999) / 1000);
  return {.defaults = {.limits = {.cpu_seconds = cpu_seconds,
                                  .memory_bytes = config.max_memory,
                                  .address_space_bytes = config.max_address_space,
                                  .processes = config.max_processes,
                                  .open_files = config.max_open_files,
                                  .file_size_bytes = config.max_file_size},
                       .sandbox = config.sandbox == config::Sandbox::kLandlock,
                       .network = config.network},
          .allowed_roots = config.allowed_roots};
}

jobs::EngineSettings engine_settings(const config::Config& config,
                                     std::shared_ptr<const policy::CommandPolicy> policy,
                                     const policy::Redactor* redactor) {
  return jobs::EngineSettings{.working_dir = config.working_dir,
                              .max_jobs = config.max_jobs,
                              .max_finished = config.max_finished,
                              .retention = config.retention,
                              .cleanup_interval = config.cleanup_interval,
                              .job_timeout = config.job_timeout,
                              .limits = {.max_output_size = config.max_output_size,
                                         .stdin_buffer_size = config.stdin_buffer_size},
                              .policy = std::move(policy),
                              .environment = environment_rules(config),
                              .queue = config.queue,
                              .max_queued = config.max_queued,
                              .max_starts_per_minute = config.max_starts_per_minute,
                              .confinement = confinement_settings(config),
                              .redactor = redactor};
}

}  // namespace app

// policy: what the operator allows, read-only, so that an agent plans within it instead of
// guessing and collecting refusals. No tool changes any of it.
#include <cmath>

#include "mcp/tools/common.h"

namespace mcp::tools {
namespace {

std::vector<std::string> path_strings(const std::vector<std::filesystem::path>& paths) {
  std::vector<std::string> out;
  for (const auto& path : paths) out.push_back(path.string());
  return out;
}

// Zero means "no limit" in the settings; the agent reads null.
Json limit_or_null(uint64_t value) { return value == 0 ? Json(nullptr) : Json(value); }
Json seconds_or_null(std::chrono::milliseconds value) {
  if (value.count() == 0) return nullptr;
  return std::chrono::duration<double>(value).count();
}

}  // namespace

Json describe_policy(const config::Config& config) {
  return Json{
      {"working_dir", config.working_dir.string()},
      {"commands",
       {{"shell", config.shell},
        {"allowed_commands", config.allowed_commands},
        {"denied_commands", config.denied_commands},
        {"allowed_programs", config.allowed_programs},
        {"allowed_roots", path_strings(config.allowed_roots)}}},
      {"confinement",
       {{"sandbox", config.sandbox == config::Sandbox::kLandlock ? "landlock" : "none"},
        {"network", config.network}}},
      {"limits",
       {{"cpu_seconds", seconds_or_null(config.max_cpu_time)},
        {"memory_bytes", limit_or_null(config.max_memory)},
        {"address_space_bytes", limit_or_null(config.max_address_space)},
        {"processes", limit_or_null(static_cast<uint64_t>(config.max_processes))},
        {"open_files", limit_or_null(static_cast<uint64_t>(config.max_open_files))},
        {"file_size_bytes", limit_or_null(config.max_file_size)},
        {"timeout_seconds", seconds_or_null(config.job_timeout)},
        {"output_bytes_kept", config.max_output_size}}},
      {"environment",
       {{"env_policy", config.env_policy == config::EnvPolicy::kMinimal ? "minimal" : "inherit"},
        {"env_exclude", config.env_exclude},
        {"allowed_loader_env", config.allowed_loader_env},
        {"non_interactive_env", config.non_interactive_env}}},
      {"scheduling",
       {{"max_jobs", config.max_jobs},
        {"queue", config.queue},
        {"max_queued", config.max_queued},
        {"max_starts_per_minute",
         limit_or_null(static_cast<uint64_t>(config.max_starts_per_minute))}}},
      {"output",
       {{"redact", config.redact},
        // How many, not which: an operator may list a literal secret as a pattern, and showing
        // it here would hand the agent what redaction hides.
        {"redact_patterns", config.redact_patterns.size()},
        {"audit_log", !config.audit_log.empty()}}}};
}

Tool make_policy_tool(const ToolLimits& limits) {
  Tool tool;
  tool.name = "policy";
  tool.title = "What this server allows";
  tool.description =
      "Show the operator's policy for jobs, read-only (no tool can change it): commands.shell "
      "(false: only argv jobs), allowed_commands (RE2, a whole command line must match one; "
      "empty: any), denied_commands (RE2, a match anywhere refuses), allowed_programs (argv[0] "
      "must resolve to one; empty: any; shell jobs need sh), allowed_roots (a job's cwd must lie "
      "inside one); confinement.sandbox (landlock: jobs write only inside allowed_roots, the temp "
      "directory, /dev/shm, /dev/null-like and terminal devices) and network (false: no TCP "
      "bind/connect); limits per job (null: none; "
      "execute's `limits` may only lower them); environment (what jobs inherit; with "
      "allowed_programs set, env may carry loader variables such as LD_PRELOAD only if listed "
      "in allowed_loader_env); scheduling "
      "(beyond max_jobs jobs queue, up to max_queued; max_starts_per_minute); output (redact: "
      "secrets in returned output are replaced by [REDACTED], redact_patterns counts the "
      "operator's own patterns; audit_log: calls are recorded). "
      "Call it before planning commands on an unfamiliar server, or after a refusal.";
  tool.input_schema =
      Json{{"type", "object"}, {"properties", Json::object()}, {"additionalProperties", false}};
  tool.output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "working_dir": {"type": "string"},
      "commands": {"type": "object"},
      "confinement": {"type": "object"},
      "limits": {"type": "object"},
      "environment": {"type": "object"},
      "scheduling": {"type": "object"},
      "output": {"type": "object"}
    },
    "required": ["working_dir", "commands", "confinement", "limits", "environment",
                 "scheduling", "output"]
  })json");
  tool.annotations = read_only_annotations(tool.title);
  tool.handler = [policy = limits.policy](Json,
                                          ToolContext&) -> boost::asio::awaitable<ToolOutcome> {
    co_return ToolOutcome::ok(policy);
  };
  return tool;
}

}  // namespace mcp::tools

#pragma once
/// Jobs as MCP resources: `job://{job_id}` (the `status` tool's JSON) and `job://{job_id}/output`
/// (the job's kept output as text). Pure functions over the JobManager: what resources/list,
/// resources/templates/list and resources/read return. McpServer calls them; subscriptions and
/// notifications live in mcp/notifier.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "jobs/job_manager.h"
#include "jobs/output_log.h"
#include "mcp/json_rpc.h"
#include "policy/redactor.h"

namespace mcp::resources {

enum class Kind { kStatus, kOutput };

struct JobUri {
  std::string job_id;
  Kind kind;
};

/// "job://<uuid>" or "job://<uuid>/output"; anything else is nullopt.
std::optional<JobUri> parse_job_uri(std::string_view uri);
std::string job_uri(std::string_view job_id, Kind kind);

/// The job and which of its resources `uri` names, or why it names none ("Resource not found:
/// ...", written for the client).
struct Target {
  std::shared_ptr<jobs::Job> job;
  Kind kind;
};
base::Result<Target> resolve(const jobs::JobManager& manager, std::string_view uri);

/// {resources: [...]}: both URIs of every job the manager remembers, newest job first. Names
/// show the job's label or command, redacted when `redactor` is set.
Json list(const jobs::JobManager& manager, const policy::Redactor* redactor = nullptr);

/// {resourceTemplates: [...]}: the two URI templates.
Json templates();

/// {contents: [{uri, mimeType, text}]}, or an error message when the URI names no job resource.
/// Output and command lines are redacted when `redactor` is set.
base::Result<Json> read(const jobs::JobManager& manager, std::string_view uri,
                        uint64_t max_read_bytes, const policy::Redactor* redactor = nullptr);

/// `text` on one line (control characters as spaces), cut to at most `max_bytes` with "..." and
/// never inside a character.
std::string one_line(std::string_view text, size_t max_bytes);

/// How a finished job ended: "completed with exit 0", "failed with signal SIGSEGV", ...
std::string end_phrase(const jobs::Job& job);

/// The output resource's text: the head, a "[... N bytes dropped ...]" line if the middle was
/// dropped, then the tail; at most the last `max_bytes` kept bytes (a first line says what was
/// left out); invalid UTF-8 replaced by U+FFFD; secrets replaced when `redactor` is set.
std::string output_text(const jobs::OutputLog& log, uint64_t max_bytes,
                        const policy::Redactor* redactor = nullptr);

}  // namespace mcp::resources

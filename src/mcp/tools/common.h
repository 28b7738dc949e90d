#pragma once
/// Pieces every job tool shares: finding the job an argument names, and rendering a job's fields
/// and output the same way in every result.

#include <memory>
#include <string>

#include "base/result.h"
#include "config/config.h"
#include "jobs/job.h"
#include "jobs/job_manager.h"
#include "mcp/json_rpc.h"
#include "mcp/tool.h"
#include "mcp/tools/lines.h"
#include "policy/redactor.h"
#include "sys/listening_ports.h"

namespace mcp::tools {

/// The job named by `arguments.job_id`, or an error that tells a malformed id ("not a job id")
/// from an unknown one ("no such job"). A job this server does not hold is looked for in the
/// history (a finished job of an earlier server, or one this server forgot): it comes back as
/// a finished job without processes (Job::from_history).
base::Result<std::shared_ptr<jobs::Job>> find_job(const ToolContext& context,
                                                  const Json& arguments);

/// Why `id` (a well-formed job id) names no job: forgotten, or never one of this server's (it may
/// be a job of an earlier server, which ended with it).
std::string unknown_job(const jobs::JobManager& manager, std::string_view id);

/// "stdout" / "stderr" / absent -> the filter. A job whose stdout and stderr shared one pipe
/// (the default) or a terminal cannot tell them apart: asking for one is an error saying so.
base::Result<jobs::StreamFilter> stream_filter(const Json& arguments, const jobs::Job& job);

/// Job output bytes as JSON text: invalid UTF-8 replaced by U+FFFD.
std::string output_text(std::string_view bytes);

Json timestamp_or_null(const std::optional<base::WallClock::time_point>& when);
Json exit_code_or_null(const jobs::Job& job);

/// "memory_limit" when the server ended the job for its memory limit; null otherwise.
Json end_reason_or_null(const jobs::Job& job);
/// The schema of that field.
Json end_reason_schema();

/// How a session is shown to clients: its first 8 characters ("stdio" whole), null for none.
/// Never the whole id: every client sees every job's session, and an HTTP session id is what
/// lets a request act in that session.
Json shown_session(const std::string& session);

/// Whether the job `owner` describes was started by `caller`: in the same session, or, for a
/// caller without one (a stateless request), without a session by a client of the same name.
/// A caller with neither owns nothing.
bool started_by(const jobs::JobOwner& owner, const jobs::JobOwner& caller);

/// {job_id, label, command, status, exit_code, reason, started, ended, client, session, ...}:
/// one row of `list`.
/// The command and label are redacted when `redactor` is set.
/// A command or label longer than `command_limit` bytes is cut (see cut_text).
/// `ports` (mcp/tools/ports) is read through `sockets` when given (one per page of list), else
/// through tables of its own.
Json job_summary(const jobs::Job& job, const policy::Redactor* redactor, size_t command_limit,
                 sys::ListeningSockets* sockets = nullptr);

/// `text` if it is at most `limit` bytes, else its first bytes up to a character boundary and a
/// marker "[... N more bytes]". For strings that are not output (commands, labels, errors).
std::string cut_text(std::string text, size_t limit);

/// A queued job's queue_position and queued_at, and a job's start_error if it could not start.
void add_queue_state(Json& result, const jobs::Job& job, const jobs::JobManager& manager,
                     const policy::Redactor* redactor);

/// The full `status` result. Its strings are at most `max_bytes` (max_read_bytes) each.
Json job_status(const jobs::Job& job, const jobs::JobManager& manager,
                const policy::Redactor* redactor, uint64_t max_bytes);

/// The schema of a job id argument, shared by every tool that takes one.
Json job_id_schema();
/// The schema of the optional `stream` argument.
Json stream_schema();
/// Adds what every read of a job's output reports beside the bytes: total_bytes, dropped_bytes,
/// status, exit_code.
void add_output_state(Json& result, const jobs::Job& job);

/// The schema of `processes_left` (status and list).
Json processes_left_schema();

/// grep matches as [{offset, line}], lines made valid UTF-8.
Json matches_json(const std::vector<Line>& matches);

/// The `max_bytes` argument: 1 up to the server's read ceiling.
Json max_bytes_schema(const ToolLimits& limits, uint64_t default_max);

/// An error naming argument 'offset' if it lies past the end of the job's output.
std::optional<std::string> check_offset(uint64_t offset, const jobs::OutputLog& log);

/// The `grep` and `context` argument schemas, and the `matches` result schema.
Json grep_schema();
Json context_schema();
Json matches_schema();

/// The schema of a job's status.
Json status_schema();
/// The schemas of a job's `client` and `session` fields.
Json client_schema();
Json session_schema();

/// What a tool's annotations hint to the client about its effects (MCP ToolAnnotations).
struct ToolEffects {
  bool read_only = false;
  bool destructive = false;
  bool idempotent = false;
  bool open_world = false;
};
/// A tool's annotations: its title and the hints of `effects`.
Json tool_annotations(const std::string& title, const ToolEffects& effects);
/// The annotations of a tool that only reads: not destructive, idempotent, closed world.
Json read_only_annotations(const std::string& title);

/// Tool factories, one per file.

Tool make_execute_tool(const ToolLimits& limits);
Tool make_list_tool(const ToolLimits& limits);
Tool make_status_tool(const ToolLimits& limits);
Tool make_output_tool(const ToolLimits& limits);
Tool make_tail_tool(const ToolLimits& limits);
Tool make_interact_tool(const ToolLimits& limits);
Tool make_kill_tool(const ToolLimits& limits);
Tool make_wait_tool(const ToolLimits& limits);
Tool make_policy_tool(const ToolLimits& limits);

/// The operator's policy as the policy tool shows it (limits of zero read null: none).
Json describe_policy(const config::Config& config);

}  // namespace mcp::tools

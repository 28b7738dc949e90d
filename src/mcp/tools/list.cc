// list: every job the server remembers, newest first.
#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "base/uuid.h"
#include "mcp/protocol.h"
#include "mcp/tools/common.h"

namespace mcp::tools {
namespace {

// A page holds at most this many jobs, and stops before this many bytes of JSON (or
// max_read_bytes, if less): 30 jobs with 120 KiB commands made a 7.4 MB answer.
constexpr size_t kPageJobs = 50;
constexpr uint64_t kPageBytes = uint64_t{64} * 1024;
// A command (or label) longer than this is cut in a list row; status shows more of it.
constexpr size_t kListedCommandBytes = 200;

// A cursor names the last job of a page and when it was created, so that the next page starts
// after it even if that job was forgotten meanwhile: "<creation ns since the epoch>:<job id>".
std::string cursor_after(const jobs::Job& job) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(job.queued_at().time_since_epoch())
                .count();
  return fmt::format("{}:{}", ns, job.id());
}

struct Cursor {
  int64_t created_ns;
  std::string job_id;
};

std::optional<Cursor> parse_cursor(const std::string& text) {
  size_t colon = text.find(':');
  if (colon == std::string::npos || !base::looks_like_uuid(text.substr(colon + 1))) {
    return std::nullopt;
  }
  Cursor cursor{0, text.substr(colon + 1)};
  auto [end, error] = std::from_chars(text.data(), text.data() + colon, cursor.created_ns);
  if (error != std::errc() || end != text.data() + colon) return std::nullopt;
  return cursor;
}

boost::asio::awaitable<ToolOutcome> list(Json arguments, ToolContext& context) {
  std::string wanted = arguments.value("status", "");
  bool mine = arguments.value("mine", false);
  if (mine && context.caller.session.empty() && context.caller.client.empty()) {
    co_return ToolOutcome::fail(fmt::format(
        "'mine' needs to know who you are, and this request has no session and names no client: "
        "send your name in _meta[\"{}\"], or leave 'mine' out and tell your jobs apart by their "
        "client and session fields",
        meta_key::kClientInfo));
  }
  auto jobs = context.jobs.jobs_newest_first();
  auto first = jobs.begin();
  if (arguments.contains("cursor")) {
    auto cursor = parse_cursor(arguments["cursor"].get<std::string>());
    if (!cursor) {
      co_return ToolOutcome::fail(
          "argument 'cursor' is not a cursor from list: pass the next_cursor of a previous list "
          "result as it was, or leave 'cursor' out for the first page");
    }
    auto named = std::find_if(jobs.begin(), jobs.end(),
                              [&](const auto& job) { return job->id() == cursor->job_id; });
    if (named != jobs.end()) {
      first = std::next(named);
    } else {
      // That job was forgotten meanwhile: go on with the jobs created before it.
      first = std::find_if(jobs.begin(), jobs.end(), [&](const auto& job) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   job->queued_at().time_since_epoch())
                   .count() < cursor->created_ns;
      });
    }
  }
  const uint64_t page_bytes = std::min(kPageBytes, context.limits.max_read_bytes);
  Json rows = Json::array();
  uint64_t bytes = 0;
  const jobs::Job* last_listed = nullptr;
  for (auto it = first; it != jobs.end(); ++it) {
    const auto& job = *it;
    if (!wanted.empty() && jobs::to_string(job->status()) != wanted) continue;
    if (mine && !started_by(job->spec().owner, context.caller)) continue;
    Json row = job_summary(*job, context.redactor, kListedCommandBytes);
    add_queue_state(row, *job, context.jobs, context.redactor);
    if (row.contains("start_error")) {
      row["start_error"] = cut_text(row["start_error"].get<std::string>(), kListedCommandBytes);
    }
    uint64_t size = row.dump().size();
    if (rows.size() == kPageJobs || (!rows.empty() && bytes + size > page_bytes)) {
      co_return ToolOutcome::ok(
          Json{{"jobs", std::move(rows)}, {"next_cursor", cursor_after(*last_listed)}});
    }
    bytes += size;
    rows.push_back(std::move(row));
    last_listed = job.get();
  }
  co_return ToolOutcome::ok(Json{{"jobs", std::move(rows)}});
}

}  // namespace

Tool make_list_tool(const ToolLimits&) {
  Tool tool;
  tool.name = "list";
  tool.title = "List jobs";
  tool.description =
      "List the background jobs this server knows, newest first: running ones and finished ones "
      "still retained, whoever started them (jobs belong to the server, not to a client). Each "
      "row: {job_id, label, command, status, exit_code, reason, started, ended, client, "
      "session, waiting_for_input, rss_bytes, cpu_seconds, processes_left}; a command longer "
      "than 200 bytes is cut (status shows more); client and session say who started the job; "
      "waiting_for_input, rss_bytes and cpu_seconds describe the job's processes while any run "
      "(waiting_for_input: blocked reading its stdin, so answer it with interact). A finished "
      "status is the main process's: processes_left above 0 means processes it started still "
      "run (kill ends them). Queued jobs (waiting for a free slot) have queue_position (1 "
      "starts next) and started null. A page holds at most 50 jobs and 64 KiB; when more "
      "remain, the result has next_cursor: pass it as `cursor` for the next page. Filter with "
      "`status`, and with `mine: true` for only the jobs you started. Use it to recover a lost "
      "job_id or see what is still running.";
  tool.input_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "status": {"description": "Only jobs with this status."},
      "mine": {"type": "boolean",
               "description": "true: only the jobs you started: those of your session (without a session: those started without one by a client of your name). Default false: every job, whoever started it."},
      "cursor": {"type": "string",
                 "description": "The next_cursor of a previous list result: the page after it. Leave it out for the first page."}
    },
    "additionalProperties": false
  })json");
  Json output_schema = Json::parse(R"json({
    "type": "object",
    "properties": {
      "jobs": {"type": "array", "items": {
        "type": "object",
        "properties": {
          "job_id": {"type": "string"},
          "label": {"type": "string"},
          "command": {"type": "string"},
          "exit_code": {"type": ["integer", "null"]},
          "started": {"type": ["string", "null"]},
          "queue_position": {"type": "integer"},
          "queued_at": {"type": "string"},
          "start_error": {"type": "string"},
          "ended": {"type": ["string", "null"]},
          "waiting_for_input": {"type": "boolean"},
          "rss_bytes": {"type": ["integer", "null"]},
          "cpu_seconds": {"type": ["number", "null"]}
        },
        "required": ["job_id", "label", "command", "status", "exit_code", "started", "ended",
                     "waiting_for_input", "rss_bytes", "cpu_seconds", "reason", "client",
                     "session", "processes_left"]
      }},
      "next_cursor": {"type": "string",
                      "description": "Present when more jobs remain: pass it as cursor for the next page."}
    },
    "required": ["jobs"]
  })json");
  output_schema["properties"]["jobs"]["items"]["properties"]["reason"] = end_reason_schema();
  output_schema["properties"]["jobs"]["items"]["properties"]["client"] = client_schema();
  output_schema["properties"]["jobs"]["items"]["properties"]["session"] = session_schema();
  output_schema["properties"]["jobs"]["items"]["properties"]["processes_left"] =
      processes_left_schema();
  tool.output_schema = std::move(output_schema);
  tool.input_schema["properties"]["status"].update(status_schema());
  tool.output_schema["properties"]["jobs"]["items"]["properties"]["status"] = status_schema();
  tool.annotations = read_only_annotations(tool.title);
  tool.handler = list;
  return tool;
}

}  // namespace mcp::tools

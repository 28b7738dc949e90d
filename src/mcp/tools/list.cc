// list: every job the server remembers, newest first.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "base/uuid.h"
#include "mcp/protocol.h"
#include "mcp/tools/common.h"
#include "mcp/tools/ports.h"

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

// The cursor of a page that ended in the history: the place of its last job there.
constexpr std::string_view kHistoryCursor = "history:";

std::optional<int64_t> parse_history_cursor(const std::string& text) {
  if (!text.starts_with(kHistoryCursor)) return std::nullopt;
  int64_t seq = 0;
  const char* begin = text.data() + kHistoryCursor.size();
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(begin, end, seq);
  if (error != std::errc() || stop != end || begin == end) return std::nullopt;
  return seq;
}

// Adds rows to a page until it is full; then `next_cursor` says where the next page starts.
class PageBuilder {
 public:
  PageBuilder(const Json& arguments, const ToolContext& context)
      : wanted_(arguments.value("status", "")),
        mine_(arguments.value("mine", false)),
        context_(context),
        page_bytes_(std::min(kPageBytes, context.limits.max_read_bytes)) {}

  // False once the page is full (`job` was not added; `cursor` is where the next page starts).
  bool add(const jobs::Job& job, const std::function<std::string()>& cursor_before_job) {
    if (!wanted_.empty() && jobs::to_string(job.status()) != wanted_) return true;
    if (mine_ && !started_by(job.spec().owner, context_.caller)) return true;
    Json row = job_summary(job, context_.redactor, kListedCommandBytes, &sockets_);
    add_queue_state(row, job, context_.jobs, context_.redactor);
    if (row.contains("start_error")) {
      row["start_error"] = cut_text(row["start_error"].get<std::string>(), kListedCommandBytes);
    }
    if (job.from_history()) row["from_history"] = true;
    uint64_t size = row.dump().size();
    if (rows_.size() == kPageJobs || (!rows_.empty() && bytes_ + size > page_bytes_)) {
      next_cursor_ = cursor_before_job();
      return false;
    }
    bytes_ += size;
    rows_.push_back(std::move(row));
    return true;
  }
  bool full() const { return !next_cursor_.empty(); }
  size_t room() const { return kPageJobs - rows_.size(); }
  void end_at(std::string cursor) { next_cursor_ = std::move(cursor); }

  Json result() && {
    Json result{{"jobs", std::move(rows_)}};
    if (!next_cursor_.empty()) result["next_cursor"] = next_cursor_;
    return result;
  }

 private:
  std::string wanted_;
  bool mine_;
  const ToolContext& context_;
  uint64_t page_bytes_;
  Json rows_ = Json::array();
  uint64_t bytes_ = 0;
  // The /proc/net tables of the page's jobs, read once for all of them.
  sys::ListeningSockets sockets_;
  std::string next_cursor_;
};

boost::asio::awaitable<ToolOutcome> list(Json arguments, ToolContext& context) {
  bool mine = arguments.value("mine", false);
  if (mine && context.caller.session.empty() && context.caller.client.empty()) {
    co_return ToolOutcome::fail(fmt::format(
        "'mine' needs to know who you are, and this request has no session and names no client: "
        "send your name in _meta[\"{}\"], or leave 'mine' out and tell your jobs apart by their "
        "client and session fields",
        meta_key::kClientInfo));
  }
  // This server's jobs come first, newest first; then the history's (earlier servers', other
  // servers', and this one's forgotten jobs), newest first.
  auto jobs = context.jobs.jobs_newest_first();
  auto first = jobs.begin();
  std::optional<int64_t> history_before;
  bool in_history = false;
  if (arguments.contains("cursor")) {
    const auto& text = arguments["cursor"].get_ref<const std::string&>();
    if (auto seq = parse_history_cursor(text)) {
      in_history = true;
      history_before = *seq;
    } else if (auto cursor = parse_cursor(text)) {
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
    } else {
      co_return ToolOutcome::fail(
          "argument 'cursor' is not a cursor from list: pass the next_cursor of a previous list "
          "result as it was, or leave 'cursor' out for the first page");
    }
  }
  PageBuilder page(arguments, context);
  if (!in_history) {
    const jobs::Job* last_listed = nullptr;
    for (auto it = first; it != jobs.end(); ++it) {
      if (!page.add(**it, [&] { return cursor_after(*last_listed); })) {
        co_return ToolOutcome::ok(std::move(page).result());
      }
      last_listed = it->get();
    }
  }
  if (context.history) {
    // Past jobs are filtered after they are read, so a page of them may come back short.
    auto past = context.history->list(history_before, page.room() + 1);
    if (!past) co_return ToolOutcome::fail(past.error().message);
    std::optional<int64_t> last_seq = history_before;
    for (size_t i = 0; i < past->jobs.size(); ++i) {
      auto before = [&] {
        return fmt::format("{}{}", kHistoryCursor, last_seq.value_or(INT64_MAX));
      };
      if (!page.add(*past->jobs[i], before)) co_return ToolOutcome::ok(std::move(page).result());
      last_seq = past->seqs[i];
    }
    if (past->more) page.end_at(fmt::format("{}{}", kHistoryCursor, *last_seq));
  }
  co_return ToolOutcome::ok(std::move(page).result());
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
      "session, waiting_for_input, rss_bytes, cpu_seconds, processes_left, ports}; a command "
      "longer than 200 bytes is cut (status shows more); client and session say who started the "
      "job; "
      "waiting_for_input, rss_bytes and cpu_seconds describe the job's processes while any run "
      "(waiting_for_input: blocked reading its stdin, so answer it with interact; ports: the TCP "
      "ports they listen on, [{port, address}], absent when none). A finished "
      "status is the main process's: processes_left above 0 means processes it started still "
      "run (kill ends them). Queued jobs (waiting for a free slot) have queue_position (1 "
      "starts next) and started null. A page holds at most 50 jobs and 64 KiB; when more "
      "remain, the result has next_cursor: pass it as `cursor` for the next page. Filter with "
      "`status`, and with `mine: true` for only the jobs you started. Use it to recover a lost "
      "job_id or see what is still running. After this server's jobs come those of the "
      "history (from_history: true): jobs of earlier and other servers and jobs this server "
      "forgot, newest first, kept for the retention time and max_finished; status, output and "
      "tail answer for them.";
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
          "cpu_seconds": {"type": ["number", "null"]},
          "from_history": {"type": "boolean",
                           "description": "true for a job this server does not hold, read from the history: an earlier or another server's, or one this server forgot."},
          "persisted": {"type": "boolean",
                        "description": "true for a job started with persist: it outlives its server, and any server takes it back."}
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
  output_schema["properties"]["jobs"]["items"]["properties"]["ports"] = ports_schema();
  tool.output_schema = std::move(output_schema);
  tool.input_schema["properties"]["status"].update(status_schema());
  tool.output_schema["properties"]["jobs"]["items"]["properties"]["status"] = status_schema();
  tool.annotations = read_only_annotations(tool.title);
  tool.handler = list;
  return tool;
}

}  // namespace mcp::tools

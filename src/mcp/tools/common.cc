#include "mcp/tools/common.h"

#include <fmt/format.h>

#include <cmath>

#include "base/utf8.h"
#include "base/uuid.h"
#include "mcp/tools/ports.h"
#include "mcp/tools/redaction.h"

namespace mcp::tools {

base::Result<std::shared_ptr<jobs::Job>> find_job(const ToolContext& context,
                                                  const Json& arguments) {
  const jobs::JobManager& manager = context.jobs;
  const std::string& id = arguments.at("job_id").get_ref<const std::string&>();
  if (!base::looks_like_uuid(id)) {
    return base::fail(fmt::format(
        "'{}' is not a job id: job ids are UUIDs like 3f0c9a52-6a1e-4b9e-9d55-2f1d8f3c7e10, as "
        "returned by execute; call list to see the jobs",
        id.size() > 80 ? id.substr(0, 77) + "..." : id));
  }
  if (auto job = manager.find(id)) return job;
  if (context.history) {
    auto past = context.history->find(id);
    if (!past) return tl::unexpected(past.error());
    if (*past) return *past;
  }
  return base::fail(unknown_job(manager, id));
}

std::string unknown_job(const jobs::JobManager& manager, std::string_view id) {
  if (manager.forgot(id)) {
    return fmt::format(
        "no such job: {} finished and was forgotten (finished jobs are kept for the retention "
        "time and while no more than max_finished have ended); call list to see the jobs",
        id);
  }
  return fmt::format(
      "no such job: {} was never a job of this server, which started at {}: if it was started "
      "by an earlier server, that job ended when its server stopped (jobs do not outlive their "
      "server); call list to see the jobs",
      id, base::iso8601_utc(manager.started_at()));
}

base::Result<jobs::StreamFilter> stream_filter(const Json& arguments, const jobs::Job& job) {
  auto stream = arguments.find("stream");
  if (stream == arguments.end()) return jobs::StreamFilter::kBoth;
  if (!job.separate_streams()) {
    return base::fail(fmt::format(
        "argument 'stream': job {} wrote stdout and stderr to {} (so their order is the true "
        "one), and they cannot be told apart; leave 'stream' out to read both, or start the job "
        "with execute {{separate_streams: true}} to keep them apart",
        job.id(), job.has_terminal() ? "its terminal" : "one pipe"));
  }
  return stream->get<std::string>() == "stderr" ? jobs::StreamFilter::kStderr
                                                : jobs::StreamFilter::kStdout;
}

std::string output_text(std::string_view bytes) { return base::sanitize_utf8(bytes); }

Json timestamp_or_null(const std::optional<base::WallClock::time_point>& when) {
  return when ? Json(base::iso8601_utc(*when)) : Json(nullptr);
}

Json exit_code_or_null(const jobs::Job& job) {
  return job.exit_code() ? Json(*job.exit_code()) : Json(nullptr);
}

Json end_reason_or_null(const jobs::Job& job) {
  return job.end_reason() == jobs::EndReason::kNone ? Json(nullptr)
                                                    : Json(jobs::to_string(job.end_reason()));
}

Json end_reason_schema() {
  return Json{{"type", {"string", "null"}},
              {"enum", {"memory_limit", "server_gone", "keeper_gone", nullptr}},
              {"description",
               "Why the server ended the job, beyond its status: memory_limit (it used more "
               "resident memory than its limit, and was killed; status failed); server_gone "
               "(status lost: the server running it stopped without recording its end, e.g. "
               "killed with SIGKILL; its watchdog ended the job's processes); keeper_gone "
               "(status lost: the keeper of a persisted job vanished, e.g. killed with SIGKILL "
               "or a reboot; what was left of the job was ended). null otherwise."}};
}

Json shown_session(const std::string& session) {
  constexpr size_t kShown = 8;  // 32 of an HTTP session id's 128 bits; the rest stay secret
  if (session.empty()) return nullptr;
  return session.substr(0, kShown);
}

bool started_by(const jobs::JobOwner& owner, const jobs::JobOwner& caller) {
  if (!caller.session.empty()) return owner.session == caller.session;
  return !caller.client.empty() && owner.session.empty() && owner.client == caller.client;
}

std::string cut_text(std::string text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t keep = limit;
  keep -= base::incomplete_utf8_tail(std::string_view(text).substr(0, keep));
  size_t more = text.size() - keep;
  text.resize(keep);
  return text + fmt::format("[... {} more bytes]", more);
}

Json job_summary(const jobs::Job& job, const policy::Redactor* redactor, size_t command_limit,
                 sys::ListeningSockets* sockets) {
  auto stats = job.tree_stats();
  const jobs::JobOwner& owner = job.spec().owner;
  Json summary{
      {"job_id", job.id()},
      {"client", owner.client.empty() ? Json(nullptr) : Json(owner.client)},
      {"session", shown_session(owner.session)},
      {"label", cut_text(shown_command(redactor, job.spec().label), command_limit)},
      {"command", cut_text(shown_command(redactor, job.spec().command), command_limit)},
      {"status", jobs::to_string(job.status())},
      {"exit_code", exit_code_or_null(job)},
      {"reason", end_reason_or_null(job)},
      {"started", job.has_started() ? Json(base::iso8601_utc(job.started())) : Json(nullptr)},
      {"ended", timestamp_or_null(job.ended())},
      {"waiting_for_input", stats && stats->waiting_for_input},
      {"rss_bytes", stats ? Json(stats->rss_bytes) : Json(nullptr)},
      {"cpu_seconds", stats ? Json(std::round(stats->cpu_seconds * 100.0) / 100.0) : Json(nullptr)},
      // After tree_stats: it is the walk that finds them.
      {"processes_left", job.processes_left()}};
  if (stats) {
    sys::ListeningSockets own;
    auto ports = job_ports(job, sockets != nullptr ? *sockets : own);
    if (!ports.empty()) summary["ports"] = ports_json(ports);
  }
  if (job.persisted()) summary["persisted"] = true;  // Only then: list rows stay small.
  return summary;
}

void add_queue_state(Json& result, const jobs::Job& job, const jobs::JobManager& manager,
                     const policy::Redactor* redactor) {
  if (auto position = manager.queue_position(job.id())) {
    result["queue_position"] = *position;
    result["queued_at"] = base::iso8601_utc(job.queued_at());
  }
  // The error may quote the command.
  if (!job.start_error().empty())
    result["start_error"] = shown_command(redactor, job.start_error());
}

Json job_status(const jobs::Job& job, const jobs::JobManager& manager,
                const policy::Redactor* redactor, uint64_t max_bytes) {
  double duration = 0;
  if (job.has_started()) {
    auto end = job.ended().value_or(base::WallClock::now());
    duration = std::chrono::duration<double>(end - job.started()).count();
  }
  const auto limit = static_cast<size_t>(max_bytes);
  Json status = job_summary(job, redactor, limit);
  add_queue_state(status, job, manager, redactor);
  if (status.contains("start_error")) {
    status["start_error"] = cut_text(status["start_error"].get<std::string>(), limit);
  }
  status["cwd"] = job.spec().cwd.string();
  status["pid"] = job.has_started() ? Json(job.pid()) : Json(nullptr);
  status["signal"] = job.term_signal() ? Json(sys::signal_name(*job.term_signal())) : Json(nullptr);
  status["duration_seconds"] = std::round(duration * 1000.0) / 1000.0;
  status["output_bytes"] = job.output().total_bytes();
  status["dropped_bytes"] = job.output().dropped_bytes();
  status["pty"] = job.has_terminal();
  if (job.processes_left() > 0) {
    // Which ones, so an agent can look at them; bounded, as a runaway job may have thousands.
    constexpr size_t kShownPids = 20;
    Json pids = Json::array();
    for (const auto& member : job.processes().members()) {
      if (pids.size() == kShownPids) break;
      pids.push_back(member.id.pid);
    }
    status["left_pids"] = std::move(pids);
  }
  status["separate_streams"] = job.separate_streams();
  if (job.from_history()) status["from_history"] = true;
  return status;
}

Json tool_annotations(const std::string& title, const ToolEffects& effects) {
  return Json{{"title", title},
              {"readOnlyHint", effects.read_only},
              {"destructiveHint", effects.destructive},
              {"idempotentHint", effects.idempotent},
              {"openWorldHint", effects.open_world}};
}

Json read_only_annotations(const std::string& title) {
  return tool_annotations(title, {.read_only = true, .idempotent = true});
}

Json job_id_schema() {
  return Json{{"type", "string"},
              {"description", "The job's id (a UUID), as returned by execute or list."}};
}

void add_output_state(Json& result, const jobs::Job& job) {
  result["total_bytes"] = job.output().total_bytes();
  result["dropped_bytes"] = job.output().dropped_bytes();
  result["status"] = jobs::to_string(job.status());
  result["exit_code"] = exit_code_or_null(job);
}

Json matches_json(const std::vector<Line>& matches) {
  Json out = Json::array();
  for (const auto& line : matches) {
    out.push_back({{"offset", line.offset}, {"line", output_text(line.text)}});
  }
  return out;
}

Json max_bytes_schema(const ToolLimits& limits, uint64_t default_max) {
  return Json{{"type", "integer"},
              {"minimum", 1},
              {"maximum", limits.max_read_bytes},
              {"description", fmt::format("Most bytes to return, 1 to {} (default {}).",
                                          limits.max_read_bytes, default_max)}};
}

std::optional<std::string> check_offset(uint64_t offset, const jobs::OutputLog& log) {
  if (offset <= log.total_bytes()) return std::nullopt;
  return fmt::format(
      "argument 'offset' is past the end of the output: {} > total_bytes {}; use an offset from "
      "0 to {} (a previous next_offset)",
      offset, log.total_bytes(), log.total_bytes());
}

Json grep_schema() {
  return Json{{"type", "string"},
              {"minLength", 1},
              {"description",
               "RE2 regular expression (non-empty): return only the lines that match it (with "
               "their byte offsets in `matches`; a line longer than 4096 bytes is shown around "
               "its match). Nothing is discarded from the job's output."}};
}

Json context_schema() {
  return Json{{"type", "integer"},
              {"minimum", 0},
              {"maximum", 20},
              {"description",
               "With grep: lines of context before and after each match, 0 to 20 (default 0)."}};
}

Json matches_schema() {
  return Json{{"type", "array"},
              {"items",
               {{"type", "object"},
                {"properties", {{"offset", {{"type", "integer"}}}, {"line", {{"type", "string"}}}}},
                {"required", {"offset", "line"}}}}};
}

Json status_schema() {
  return Json{
      {"type", "string"},
      {"enum",
       {"queued", "running", "completed", "failed", "killed", "timed_out", "cancelled", "lost"}}};
}

Json processes_left_schema() {
  return Json{{"type", "integer"},
              {"minimum", 0},
              {"description",
               "Processes of the job still running after its main process exited (started in "
               "the background, in a new session, or as daemons): the status is the main "
               "process's, but these still run and hold memory, ports and files until they end "
               "or kill ends them. 0 while the main process runs and once nothing is left."}};
}

Json client_schema() {
  return Json{{"type", {"string", "null"}},
              {"description",
               "The name of the client that started the job (its clientInfo.name); null if it "
               "gave none."}};
}

Json session_schema() {
  return Json{{"type", {"string", "null"}},
              {"description",
               "The session the job was started in: stdio, or the first 8 characters of an HTTP "
               "Mcp-Session-Id; null for a request without a session."}};
}

Json stream_schema() {
  return Json{{"type", "string"},
              {"enum", {"stdout", "stderr"}},
              {"description",
               "Only this stream, for a job started with separate_streams: true. Omit for both."}};
}

}  // namespace mcp::tools

#include "mcp/resources.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/utf8.h"
#include "base/uuid.h"
#include "mcp/tools/common.h"
#include "mcp/tools/redaction.h"

namespace mcp::resources {
namespace {

constexpr std::string_view kScheme = "job://";
constexpr std::string_view kOutputSuffix = "/output";
// Resource names are for display in a picker: long shell lines are cut.
constexpr size_t kMaxNameBytes = 80;

std::string display_name(const jobs::Job& job, const policy::Redactor* redactor) {
  return one_line(tools::shown_command(
                      redactor, job.spec().label.empty() ? job.spec().command : job.spec().label),
                  kMaxNameBytes);
}

std::string state_phrase(const jobs::Job& job) {
  if (job.queued()) return fmt::format("queued since {}", base::iso8601_utc(job.queued_at()));
  if (job.running()) {
    return fmt::format("running since {} (pid {})", base::iso8601_utc(job.started()), job.pid());
  }
  return fmt::format("{} at {}", end_phrase(job), base::iso8601_utc(*job.ended()));
}

// The kept bytes in [from, to), joined, as shown.
std::string kept_text(const jobs::OutputLog& log, uint64_t from, uint64_t to,
                      const policy::Redactor* redactor) {
  return tools::shown_output(redactor, log, jobs::StreamFilter::kBoth, from, to);
}

}  // namespace

std::string one_line(std::string_view text, size_t max_bytes) {
  std::string line;
  for (char c : text) line.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  if (line.size() > max_bytes) {
    line.resize(max_bytes > 3 ? max_bytes - 3 : 0);
    line.resize(line.size() - base::incomplete_utf8_tail(line));
    line += "...";
  }
  return line;
}

std::string end_phrase(const jobs::Job& job) {
  if (job.status() == jobs::JobStatus::kCancelled) return "cancelled before it started";
  if (!job.start_error().empty()) {
    return "failed to start (" + tools::cut_text(job.start_error(), kMaxNameBytes * 4) + ")";
  }
  std::string how = "with an unknown exit status";
  if (job.term_signal()) {
    how = fmt::format("with signal {}", sys::signal_name(*job.term_signal()));
  } else if (job.exit_code()) {
    how = fmt::format("with exit {}", *job.exit_code());
  }
  return fmt::format("{} {}", jobs::to_string(job.status()), how);
}

std::optional<JobUri> parse_job_uri(std::string_view uri) {
  if (!uri.starts_with(kScheme)) return std::nullopt;
  uri.remove_prefix(kScheme.size());
  Kind kind = Kind::kStatus;
  if (uri.ends_with(kOutputSuffix)) {
    uri.remove_suffix(kOutputSuffix.size());
    kind = Kind::kOutput;
  }
  if (!base::looks_like_uuid(uri)) return std::nullopt;
  return JobUri{std::string(uri), kind};
}

std::string job_uri(std::string_view job_id, Kind kind) {
  return fmt::format("{}{}{}", kScheme, job_id, kind == Kind::kOutput ? kOutputSuffix : "");
}

Json list(const jobs::JobManager& manager, const policy::Redactor* redactor) {
  Json resources = Json::array();
  for (const auto& job : manager.jobs_newest_first()) {
    std::string name = display_name(*job, redactor);
    resources.push_back(
        Json{{"uri", job_uri(job->id(), Kind::kStatus)},
             {"name", name},
             {"title", fmt::format("Job {}", name)},
             {"description", fmt::format("Job {}, {}: its status, exit code, duration and output "
                                         "size as JSON (the same as the status tool)",
                                         job->id(), state_phrase(*job))},
             {"mimeType", "application/json"}});
    resources.push_back(
        Json{{"uri", job_uri(job->id(), Kind::kOutput)},
             {"name", name + " (output)"},
             {"title", fmt::format("Output of {}", name)},
             {"description",
              fmt::format("Output of job {}, {}: stdout and stderr merged, {} bytes printed, {} "
                          "dropped from the middle; at most the last max_read_bytes are returned",
                          job->id(), state_phrase(*job), job->output().total_bytes(),
                          job->output().dropped_bytes())},
             {"mimeType", "text/plain"}});
  }
  return Json{{"resources", std::move(resources)}};
}

Json templates() {
  Json status{{"uriTemplate", "job://{job_id}"},
              {"name", "job"},
              {"title", "Background job status"},
              {"description",
               "A job's status as JSON, the same as the status tool returns: command, cwd, "
               "status, pid, exit_code, signal, started, ended, duration_seconds, output_bytes, "
               "dropped_bytes. job_id is a UUID from the execute or list tool."},
              {"mimeType", "application/json"}};
  Json output{{"uriTemplate", "job://{job_id}/output"},
              {"name", "job-output"},
              {"title", "Background job output"},
              {"description",
               "A job's kept output as text, stdout and stderr merged in arrival order: the first "
               "part, a line saying how many bytes were dropped (if any), then the most recent "
               "part; at most the last max_read_bytes bytes. Use the output tool to page through "
               "it by offset."},
              {"mimeType", "text/plain"}};
  return Json{{"resourceTemplates", Json::array({status, output})}};
}

base::Result<Target> resolve(const jobs::JobManager& manager, std::string_view uri) {
  auto parsed = parse_job_uri(uri);
  if (!parsed) {
    return base::fail(
        "Resource not found: this server's resources are job://{job_id} and "
        "job://{job_id}/output, where job_id is a UUID from the execute or list tool");
  }
  auto job = manager.find(parsed->job_id);
  if (!job) return base::fail("Resource not found: " + tools::unknown_job(manager, parsed->job_id));
  return Target{std::move(job), parsed->kind};
}

base::Result<Json> read(const jobs::JobManager& manager, std::string_view uri,
                        uint64_t max_read_bytes, const policy::Redactor* redactor) {
  auto target = resolve(manager, uri);
  if (!target) return tl::unexpected(target.error());
  Json content{{"uri", std::string(uri)}};
  if (target->kind == Kind::kStatus) {
    content["mimeType"] = "application/json";
    content["text"] = serialize(tools::job_status(*target->job, manager, redactor, max_read_bytes));
  } else {
    content["mimeType"] = "text/plain";
    content["text"] = output_text(target->job->output(), max_read_bytes, redactor);
  }
  return Json{{"contents", Json::array({std::move(content)})}};
}

std::string output_text(const jobs::OutputLog& log, uint64_t max_bytes,
                        const policy::Redactor* redactor) {
  // What is kept is [0, head_end) and [tail_start, total); the two touch when nothing was dropped.
  const uint64_t head_end = log.head_size();
  const uint64_t tail_start = log.tail_start();
  const uint64_t total = log.total_bytes();
  const uint64_t not_shown = log.kept_bytes() > max_bytes ? log.kept_bytes() - max_bytes : 0;
  uint64_t start = not_shown < head_end ? not_shown : tail_start + (not_shown - head_end);
  // The cut may land inside a character: begin at the next whole one.
  if (not_shown > 0) start = log.character_start(start, jobs::StreamFilter::kBoth);

  std::string text;
  if (start > 0) {
    text += fmt::format(
        "[... {} earlier bytes not shown: this resource returns at most the last {} bytes "
        "(max_read_bytes); read the rest with the output tool from offset 0 ...]\n",
        start, max_bytes);
  }
  if (start < head_end) {
    text += kept_text(log, start, head_end, redactor);
    if (log.dropped_bytes() > 0) {
      if (!text.empty() && text.back() != '\n') text.push_back('\n');
      text += fmt::format("[... {} bytes dropped ...]\n", log.dropped_bytes());
    }
  }
  text += kept_text(log, std::max(start, tail_start), total, redactor);
  return text;
}

}  // namespace mcp::resources

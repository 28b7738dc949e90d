// wait: block (within a bound) until a job exits or prints a line matching a pattern.
#include <fmt/format.h>

#include "mcp/tools/common.h"
#include "mcp/tools/waiting.h"

namespace mcp::tools {
namespace {

constexpr double kDefaultTimeoutSeconds = 30;
constexpr uint64_t kDefaultMaxBytes = uint64_t{64} * 1024;

}  // namespace

Tool make_wait_tool(const ToolLimits& limits) {
  double ceiling = std::chrono::duration<double>(limits.max_wait).count();
  uint64_t default_max = std::min(kDefaultMaxBytes, limits.max_read_bytes);
  Tool tool;
  tool.name = "wait";
  tool.title = "Wait for a job";
  tool.description = fmt::format(
      "Wait until a job exits, or, with `until` (an RE2 regular expression), until a line of its "
      "new output matches (for example \"Listening on|error\" for a dev server, \"passed|failed\" "
      "for tests), or until timeout_seconds (default {}, at most {:g}: longer requests are "
      "clamped, and the result says the timeout used). Use it instead of polling status: one "
      "call, no tokens spent while the job runs. Only output that arrives after the call begins "
      "is matched, unless `offset` says where to start (0: all output). Returns {{job_id, reason: "
      "exited|matched|timeout, status, exit_code, end_reason (memory_limit when the server killed "
      "the job for its memory limit, else null), match: {{line, offset}} (when matched), output "
      "(the most recent new output, at most max_bytes), offset, next_offset, truncated, "
      "timeout_seconds, elapsed_seconds}}. On timeout, call wait again with offset=next_offset to "
      "continue without missing a line. Sends progress notifications while waiting when the "
      "request has a progressToken.",
      kDefaultTimeoutSeconds, ceiling);
  tool.input_schema = Json{
      {"type", "object"},
      {"properties",
       {{"job_id", job_id_schema()},
        {"until",
         {{"type", "string"},
          {"minLength", 1},
          {"description", "RE2 pattern; return as soon as a line of new output matches it."}}},
        {"timeout_seconds",
         {{"type", "number"},
          {"minimum", 0},
          {"description", fmt::format("Longest wait (default {}, clamped to {:g}).",
                                      kDefaultTimeoutSeconds, ceiling)}}},
        {"stream", stream_schema()},
        {"offset",
         {{"type", "integer"},
          {"minimum", 0},
          {"description", "Match output from this byte offset on (default: where it ends now)."}}},
        {"max_bytes", max_bytes_schema(limits, default_max)}}},
      {"required", {"job_id"}},
      {"additionalProperties", false}};
  tool.output_schema = Json{
      {"type", "object"},
      {"properties",
       {{"job_id", {{"type", "string"}}},
        {"reason", {{"type", "string"}, {"enum", {"exited", "matched", "timeout"}}}},
        {"status", status_schema()},
        {"exit_code", {{"type", {"integer", "null"}}}},
        {"end_reason", end_reason_schema()},
        {"match",
         {{"type", "object"},
          {"properties", {{"line", {{"type", "string"}}}, {"offset", {{"type", "integer"}}}}},
          {"required", {"line", "offset"}}}},
        {"output", {{"type", "string"}}},
        {"offset", {{"type", "integer"}}},
        {"next_offset", {{"type", "integer"}}},
        {"truncated", {{"type", "boolean"}}},
        {"timeout_seconds", {{"type", "number"}}},
        {"elapsed_seconds", {{"type", "number"}}}}},
      {"required",
       {"job_id", "reason", "status", "exit_code", "end_reason", "output", "offset", "next_offset",
        "truncated", "timeout_seconds", "elapsed_seconds"}}};
  tool.annotations = read_only_annotations(tool.title);
  tool.handler = [default_max](Json arguments,
                               ToolContext& context) -> boost::asio::awaitable<ToolOutcome> {
    auto found = find_job(context.jobs, arguments);
    if (!found) co_return ToolOutcome::fail(found.error().message);
    std::shared_ptr<jobs::Job> job = *found;
    const auto& log = job->output();

    std::unique_ptr<RE2> pattern;
    if (arguments.contains("until")) {
      if (auto problem = compile_pattern("until", arguments["until"].get<std::string>(), pattern)) {
        co_return ToolOutcome::fail(*problem);
      }
    }
    uint64_t from = log.total_bytes();
    if (arguments.contains("offset")) {
      from = arguments["offset"].get<uint64_t>();
      if (auto problem = check_offset(from, log)) co_return ToolOutcome::fail(*problem);
    }
    auto timeout = clamp_wait(arguments.value("timeout_seconds", kDefaultTimeoutSeconds),
                              context.limits);
    std::optional<LineMatcher> matcher;
    // The pattern sees what the client would: matching redacted text, it cannot probe a secret.
    if (pattern) matcher.emplace(*pattern, from, stream_filter(arguments), context.redactor);

    auto outcome = co_await wait_for_job(job, context, matcher ? &*matcher : nullptr, from, timeout);

    Json result = recent_output(context.redactor, log, from, arguments.value<uint64_t>("max_bytes", default_max));
    result["job_id"] = job->id();
    result["reason"] = to_string(outcome.reason);
    result["status"] = jobs::to_string(job->status());
    result["exit_code"] = exit_code_or_null(*job);
    // Named apart from `reason` (why the wait returned): why the server ended the job, if it did.
    result["end_reason"] = end_reason_or_null(*job);
    if (outcome.match) {
      result["match"] = Json{{"line", output_text(outcome.match->text)},
                             {"offset", outcome.match->offset}};
    }
    result["timeout_seconds"] = std::chrono::duration<double>(timeout).count();
    result["elapsed_seconds"] = std::round(outcome.elapsed.count() * 1000.0) / 1000.0;
    co_return ToolOutcome::ok(std::move(result));
  };
  return tool;
}

}  // namespace mcp::tools
